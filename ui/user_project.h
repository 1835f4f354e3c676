#pragma once
// The bundled default project belongs to the user: on first start it is copied (its project file
// and data; never runs or caches) to the user's workbench folder and opened there, so its runs go
// to the user's folder, not into a source checkout or a read-only installation.
#include <QString>

namespace hy3::ui {

// $HY3_WORKBENCH_HOME, else ~/hy3-workbench.
QString workbenchHome();

struct UserProject {
    QString file;         // the user's default.hy3proj; empty when it could not be made
    bool copied = false;  // made now (the first start), not found
    QString error;        // why it could not be made
};

// The user's copy of the default project, made on the first call: copied into a temporary folder
// beside it and renamed into place, so a copy cut short is never taken for the project. Later
// calls open the copy as the user left it.
UserProject userDefaultProject();

}  // namespace hy3::ui

#pragma once
// The project's dataset list with its buttons: add files, add a folder, remove the selected rows;
// format (detected, or an override) and split are edited in the table. The Project and Data pages
// both show it.
#include <QWidget>

class QTableView;
class QPushButton;

namespace hy3::ui {

class DatasetTableModel;
class ProjectSession;

class DatasetEditor : public QWidget {
    Q_OBJECT
public:
    explicit DatasetEditor(ProjectSession* session, QWidget* parent = nullptr);

    // What the Add buttons do after their file dialogs; public so tests can drive them.
    void addPaths(const QStringList& paths);
    QTableView* table() const { return table_; }

private slots:
    void onAddFilesClicked();
    void onAddFolderClicked();
    void onRemoveClicked();

private:
    ProjectSession* session_;
    DatasetTableModel* model_;
    QTableView* table_;
};

}  // namespace hy3::ui

#pragma once
// The most recently opened project files, kept in QSettings, newest first.
#include <QStringList>

namespace hy3::ui {

class RecentFiles {
public:
    static constexpr int kMaxEntries = 8;
    static QStringList list();   // existing files only
    static void add(const QString& path);
    static void clear();
};

}  // namespace hy3::ui

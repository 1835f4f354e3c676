#include "recent_files.h"

#include <QFileInfo>
#include <QSettings>

namespace hy3::ui {
namespace {
const char* const kKey = "recentProjects";
}

QStringList RecentFiles::list() {
    QStringList out;
    for (const QString& path : QSettings().value(kKey).toStringList())
        if (QFileInfo::exists(path)) out << path;
    return out;
}

void RecentFiles::add(const QString& path) {
    const QString absolute = QFileInfo(path).absoluteFilePath();
    QStringList entries = QSettings().value(kKey).toStringList();
    entries.removeAll(absolute);
    entries.prepend(absolute);
    while (entries.size() > kMaxEntries) entries.removeLast();
    QSettings().setValue(kKey, entries);
}

void RecentFiles::clear() { QSettings().remove(kKey); }

}  // namespace hy3::ui

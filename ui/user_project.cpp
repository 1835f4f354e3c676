#include "user_project.h"

#include "api/project_api.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>
#include <QTemporaryDir>

namespace hy3::ui {
namespace {

constexpr const char* kFolder = "default";

// Copies one file in pieces; QSaveFile writes a temporary name and syncs it before the rename.
bool copyFile(const QString& from, const QString& to, QString* error) {
    QFile in(from);
    QSaveFile out(to);
    if (!in.open(QIODevice::ReadOnly)) return *error = QObject::tr("%1: %2").arg(from, in.errorString()), false;
    if (!out.open(QIODevice::WriteOnly)) return *error = QObject::tr("%1: %2").arg(to, out.errorString()), false;
    QByteArray chunk;
    while (!(chunk = in.read(1 << 20)).isEmpty())
        if (out.write(chunk) != chunk.size()) return *error = QObject::tr("%1: %2").arg(to, out.errorString()), false;
    if (in.error() != QFile::NoError) return *error = QObject::tr("%1: %2").arg(from, in.errorString()), false;
    if (!out.commit()) return *error = QObject::tr("%1: %2").arg(to, out.errorString()), false;
    return true;
}

// The project file and everything beside it except what runs write (runs/, .cache/).
bool copyProject(const QString& source, const QString& target, QString* error) {
    const QDir from(source);
    QDirIterator it(source, QDir::Files | QDir::Dirs | QDir::NoDotAndDotDot | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        const QString relative = from.relativeFilePath(path);
        const QString top = relative.section('/', 0, 0);
        if (top == "runs" || top == ".cache") continue;
        const QString destination = QDir(target).filePath(relative);
        if (it.fileInfo().isDir()) {
            if (!QDir().mkpath(destination)) return *error = QObject::tr("cannot create %1").arg(destination), false;
        } else if (!copyFile(path, destination, error)) {
            return false;
        }
    }
    return true;
}

}  // namespace

QString workbenchHome() {
    const QString fromEnv = qEnvironmentVariable("HY3_WORKBENCH_HOME");
    return fromEnv.isEmpty() ? QDir::home().filePath("hy3-workbench") : fromEnv;
}

UserProject userDefaultProject() {
    const QFileInfo bundled(QString::fromStdString(defaultProjectPath().string()));
    const QString folder = QDir(workbenchHome()).filePath(kFolder);
    const QString file = QDir(folder).filePath(bundled.fileName());
    UserProject out;
    if (QFileInfo(file).isFile()) return out.file = file, out;
    if (QFileInfo::exists(folder)) return out.error = QObject::tr("%1 exists but holds no %2").arg(folder, bundled.fileName()), out;
    if (!QDir().mkpath(workbenchHome())) return out.error = QObject::tr("cannot create %1").arg(workbenchHome()), out;
    QTemporaryDir partial(QDir(workbenchHome()).filePath(".default-XXXXXX"));
    if (!partial.isValid()) return out.error = QObject::tr("cannot create a folder in %1: %2").arg(workbenchHome(), partial.errorString()), out;
    if (!copyProject(bundled.absolutePath(), partial.path(), &out.error)) return out;
    if (!QDir().rename(partial.path(), folder)) {
        // Another workbench started at the same moment may have put its copy there first.
        if (QFileInfo(file).isFile()) return out.file = file, out;
        return out.error = QObject::tr("cannot move the copy into %1").arg(folder), out;
    }
    partial.setAutoRemove(false);  // renamed: nothing is left at its old name
    out.file = file;
    out.copied = true;
    return out;
}

}  // namespace hy3::ui

#pragma once
// Helpers for the offscreen GUI tests: a scratch copy of a project, and answering modal prompts.
#include "api/project_api.h"

#include <QApplication>
#include <QFileInfo>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QScrollArea>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

namespace hy3::test {

// The child widget named `name`; a missing widget ends the test run with its name.
template <typename T>
T* child(QObject* parent, const QString& name) {
    T* w = parent->findChild<T*>(name);
    if (!w) qFatal("widget %s not found", qPrintable(name));
    return w;
}

// Waits for `signal` unless `busy` says the work is already done.
template <typename Object, typename Signal>
bool waitUnlessDone(Object* object, Signal signal, bool busy, int timeoutMs = 60000) {
    QSignalSpy spy(object, signal);
    return busy ? spy.wait(timeoutMs) : true;
}

// Every GUI test keeps its settings (recent files) away from the user's, and away from the other
// suites': CTest runs them in parallel, and a shared settings file let one suite's recent files
// appear in another's (tst_project_page failed that way when tst_train_page ran beside it).
inline void isolateSettings() {
    QStandardPaths::setTestModeEnabled(true);
    QApplication::setOrganizationName("hy3-tests");
    QApplication::setApplicationName("hy3-" + QFileInfo(QCoreApplication::applicationFilePath()).fileName());
}

// The scroll area the main window shows `page` in.
inline QScrollArea* scrollAreaOf(QWidget* page) {
    for (QWidget* w = page; w; w = w->parentWidget())
        if (auto* area = qobject_cast<QScrollArea*>(w)) return area;
    return nullptr;
}

// Whether `widget` lies wholly inside what its page's scroll area shows, without scrolling.
inline bool visibleWithoutScrolling(QWidget* widget, QWidget* page) {
    QScrollArea* area = scrollAreaOf(page);
    const QRect inViewport(widget->mapTo(area->viewport(), QPoint(0, 0)), widget->size());
    return area->viewport()->rect().contains(inViewport);
}

// Writes a valid project into `dir` (tiny preset, no datasets) and returns its path.
inline QString scratchProject(const QTemporaryDir& dir, const QString& name = "p.hy3proj") {
    const QString path = dir.path() + "/" + name;
    ProjectFile p = ProjectFile::createNew(path.toStdString(), "scratch");
    p.save();
    return path;
}

// Clicks `button` on the next modal message box that opens; records its text in `seen`.
inline void answerNextMessageBox(QMessageBox::StandardButton button, QString* seen = nullptr) {
    QTimer::singleShot(0, [button, seen] {
        auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
        if (!box) {
            answerNextMessageBox(button, seen);  // not open yet: try again on the next turn
            return;
        }
        if (seen) *seen = box->text();
        box->button(button)->click();
    });
}

}  // namespace hy3::test

#include "main_window.h"

#include "pages/checkpoints_page.h"
#include "pages/data_page.h"
#include "pages/layout_page.h"
#include "pages/model_page.h"
#include "pages/settings_page.h"
#include "pages/train_page.h"
#include "pages/project_page.h"
#include "project_session.h"
#include "recent_files.h"
#include "run_monitor.h"
#include "api/system_report.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QKeySequence>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QStackedWidget>
#include <QStatusBar>

namespace hy3::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent), session_(new ProjectSession(this)) {
    pageList_ = new QListWidget;
    pageList_->setObjectName("pageList");
    pageList_->setFixedWidth(150);
    pages_ = new QStackedWidget;
    projectPage_ = new ProjectPage(session_);
    modelPage_ = new ModelPage(session_);
    addPage(tr("Project"), projectPage_);
    dataPage_ = new DataPage(session_);
    layoutPage_ = new LayoutPage(session_);
    settingsPage_ = new SettingsPage(session_);
    trainPage_ = new TrainPage(session_);
    checkpointsPage_ = new CheckpointsPage(session_, trainPage_);
    addPage(tr("Model"), modelPage_);
    addPage(tr("Data"), dataPage_);
    addPage(tr("Layout"), layoutPage_);
    addPage(tr("Training"), settingsPage_);
    addPage(tr("Train"), trainPage_);
    addPage(tr("Checkpoints"), checkpointsPage_);
    connect(pageList_, &QListWidget::currentRowChanged, pages_, &QStackedWidget::setCurrentIndex);
    connect(projectPage_, &ProjectPage::showModelPageRequested, this, [this] { showPage(tr("Model")); });
    pageList_->setCurrentRow(0);

    auto* central = new QWidget;
    auto* layout = new QHBoxLayout(central);
    layout->addWidget(pageList_);
    layout->addWidget(pages_, 1);
    setCentralWidget(central);
    createMenus();

    connect(session_, &ProjectSession::dirtyChanged, this, &MainWindow::refreshTitle);
    connect(session_, &ProjectSession::fileChanged, this, &MainWindow::refreshTitle);
    connect(session_, &ProjectSession::changed, this, &MainWindow::refreshTitle);
    connect(session_, &ProjectSession::projectReplaced, this, &MainWindow::refreshTitle);
    connect(session_, &ProjectSession::problemsChanged, this, &MainWindow::refreshTitle);
    resize(1200, 800);
    refreshTitle();
}

void MainWindow::addPage(const QString& name, QWidget* page) {
    auto* scroll = new QScrollArea;
    scroll->setWidget(page);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    pages_->addWidget(scroll);
    pageList_->addItem(name);
}

QStringList MainWindow::pageNames() const {
    QStringList names;
    for (int i = 0; i < pageList_->count(); ++i) names << pageList_->item(i)->text();
    return names;
}

void MainWindow::showPage(const QString& name) {
    const int row = static_cast<int>(pageNames().indexOf(name));
    if (row >= 0) pageList_->setCurrentRow(row);
}

void MainWindow::createMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&New project"), QKeySequence::New, this, &MainWindow::onNewTriggered);
    file->addAction(tr("&Open…"), QKeySequence::Open, this, &MainWindow::onOpenTriggered);
    recentMenu_ = file->addMenu(tr("Open &recent"));
    connect(recentMenu_, &QMenu::aboutToShow, this, &MainWindow::rebuildRecentMenu);
    rebuildRecentMenu();
    file->addSeparator();
    file->addAction(tr("&Save"), QKeySequence::Save, this, &MainWindow::onSaveTriggered);
    file->addAction(tr("Save &as…"), QKeySequence::SaveAs, this, &MainWindow::onSaveAsTriggered);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    // Ctrl+1 ... Ctrl+7 show the pages in the list's order.
    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (int i = 0; i < pageList_->count(); ++i) {
        const QString name = pageList_->item(i)->text();
        view->addAction(name, QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + i)), this, [this, name] { showPage(name); });
    }
    QMenu* run = menuBar()->addMenu(tr("&Run"));
    // The Train page's own actions: enabled exactly when its Start and Stop buttons are.
    run->addAction(trainPage_->startAction());
    run->addAction(trainPage_->stopAction());
    connect(trainPage_->startAction(), &QAction::triggered, this, [this] { showPage(tr("Train")); });
    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Keyboard shortcuts"), QKeySequence::HelpContents, this,
                    [this] { QMessageBox::information(this, tr("Keyboard shortcuts"), shortcutsText()); });
    help->addAction(tr("&About Hy3 Workbench"), this, [this] { QMessageBox::about(this, tr("About Hy3 Workbench"), aboutText()); });
}

QString MainWindow::shortcutsText() const {
    QStringList lines;
    for (QAction* menu : menuBar()->actions())
        for (QAction* action : menu->menu()->actions())
            if (!action->shortcut().isEmpty())
                lines << action->shortcut().toString(QKeySequence::NativeText) + "\t" + action->text().remove('&');
    return lines.join("\n");
}

QString MainWindow::aboutText() const {
    const SystemInfo info = api::systemInfo(false);  // versions and devices only, no timing
    QString devices = info.cuda_built ? tr("CUDA build, %n GPU(s) found", nullptr, static_cast<int>(info.gpus.size())) : tr("CPU build (no CUDA)");
    return tr("<h3>Hy3 Workbench %1</h3><p>Supervised fine-tuning of Hy3 mixture-of-experts models.</p>"
              "<table><tr><td>engine</td><td>%2</td></tr><tr><td>LibTorch</td><td>%3, %4</td></tr>"
              "<tr><td>Qt</td><td>%5 (built with %6)</td></tr></table>")
        .arg(QCoreApplication::applicationVersion().isEmpty() ? QString::fromStdString(info.engine_version) : QCoreApplication::applicationVersion(),
             QString::fromStdString(info.engine_version), QString::fromStdString(info.torch_version), devices, QString(qVersion()),
             QString(QT_VERSION_STR));
}

void MainWindow::rebuildRecentMenu() {
    recentMenu_->clear();
    const QStringList recent = RecentFiles::list();
    for (const QString& path : recent) {
        recentMenu_->addAction(QFileInfo(path).fileName() + "  —  " + QFileInfo(path).absolutePath(), this,
                               [this, path] {
                                   if (maybeSave()) openProject(path);
                               });
    }
    if (recent.isEmpty()) recentMenu_->addAction(tr("(none)"))->setEnabled(false);
    else {
        recentMenu_->addSeparator();
        recentMenu_->addAction(tr("Clear list"), this, [] { RecentFiles::clear(); });
    }
}

void MainWindow::refreshTitle() {
    QString title = tr("Hy3 Workbench");
    if (session_->hasProject())
        title = session_->displayName() + " — " + QFileInfo(session_->filePath()).fileName() + "[*] — " + title;
    setWindowTitle(title);
    setWindowModified(session_->isDirty());
    // One list with the pages and Start: the fields' problems and the model's.
    const QStringList problems = session_->allProblems();
    statusBar()->showMessage(problems.isEmpty() ? tr("Project is valid")
                                                : tr("%n problem(s) in the project", nullptr, static_cast<int>(problems.size())));
    statusBar()->setToolTip(problems.join("\n"));
}

bool MainWindow::runStartedHereGoesOn() {
    if (!trainPage_->monitor()->ownsProcess()) return false;
    showError(tr("A run is going"), tr("The run started here (%1) is still going, and another project would leave it without "
                                       "its own. Stop it on the Train page first.")
                                        .arg(trainPage_->monitor()->runDir()));
    return true;
}

bool MainWindow::openProject(const QString& path) {
    if (runStartedHereGoesOn()) return false;
    QString error;
    if (!session_->open(path, &error)) {
        showError(tr("Cannot open project"), error);
        return false;
    }
    RecentFiles::add(path);
    return true;
}

bool MainWindow::saveProject() {
    if (session_->isUntitled()) {
        const QString path = QFileDialog::getSaveFileName(this, tr("Save project"), session_->filePath(),
                                                          tr("Hy3 projects (*.hy3proj)"));
        return !path.isEmpty() && saveProjectAs(path);
    }
    QString error;
    if (!session_->save(&error)) {
        showError(tr("Cannot save project"), error);
        return false;
    }
    return true;
}

bool MainWindow::saveProjectAs(const QString& path) {
    QString target = path;
    if (!target.endsWith(".hy3proj")) target += ".hy3proj";
    QString error;
    if (!session_->saveAs(target, &error)) {
        showError(tr("Cannot save project"), error);
        return false;
    }
    RecentFiles::add(target);
    return true;
}

void MainWindow::newProject() {
    if (!runStartedHereGoesOn()) session_->newProject(QDir::homePath());
}

bool MainWindow::maybeSave() {
    if (!session_->isDirty()) return true;
    QMessageBox box(QMessageBox::Warning, tr("Unsaved changes"),
                    tr("The project \"%1\" has unsaved changes.").arg(session_->displayName()),
                    QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, this);
    box.setObjectName("unsavedChangesPrompt");
    box.setInformativeText(tr("Save them before continuing?"));
    box.setDefaultButton(QMessageBox::Save);
    switch (box.exec()) {
    case QMessageBox::Save: return saveProject();
    case QMessageBox::Discard: return true;
    default: return false;
    }
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (maybeSave()) event->accept();
    else event->ignore();
}

void MainWindow::onNewTriggered() {
    if (!runStartedHereGoesOn() && maybeSave()) newProject();
}

void MainWindow::onOpenTriggered() {
    if (runStartedHereGoesOn() || !maybeSave()) return;  // refused before the dialog, not after it
    const QString path = QFileDialog::getOpenFileName(this, tr("Open project"), QFileInfo(session_->filePath()).absolutePath(),
                                                      tr("Hy3 projects (*.hy3proj);;All files (*)"));
    if (!path.isEmpty()) openProject(path);
}

void MainWindow::onSaveTriggered() { saveProject(); }

void MainWindow::onSaveAsTriggered() {
    const QString path = QFileDialog::getSaveFileName(this, tr("Save project as"), session_->filePath(),
                                                      tr("Hy3 projects (*.hy3proj)"));
    if (!path.isEmpty()) saveProjectAs(path);
}

void MainWindow::showError(const QString& title, const QString& message) {
    QMessageBox box(QMessageBox::Critical, title, message, QMessageBox::Ok, this);
    box.setObjectName("errorBox");
    box.exec();
}

}  // namespace hy3::ui

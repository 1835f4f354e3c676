#pragma once
// The workbench window: a list of pages on the left, the current page on the right, and the File
// menu (new, open, recent, save, save as) with a prompt before unsaved changes are lost.
#include <QMainWindow>

class QListWidget;
class QMenu;
class QStackedWidget;

namespace hy3::ui {

class CheckpointsPage;
class DataPage;
class LayoutPage;
class ModelPage;
class ProjectPage;
class SettingsPage;
class TrainPage;
class ProjectSession;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);

    ProjectSession* session() const { return session_; }
    ProjectPage* projectPage() const { return projectPage_; }
    ModelPage* modelPage() const { return modelPage_; }
    DataPage* dataPage() const { return dataPage_; }
    LayoutPage* layoutPage() const { return layoutPage_; }
    SettingsPage* settingsPage() const { return settingsPage_; }
    TrainPage* trainPage() const { return trainPage_; }
    CheckpointsPage* checkpointsPage() const { return checkpointsPage_; }
    QStringList pageNames() const;
    void showPage(const QString& name);

    // The File menu's actions after their dialogs; each returns false when nothing happened.
    bool openProject(const QString& path);
    bool saveProject();
    bool saveProjectAs(const QString& path);
    void newProject();
    // Asks whether to save unsaved changes. False means the user cancelled.
    bool maybeSave();
    // True (after saying why) while a run started from this window goes on: another project
    // would leave the pages showing a run that is not the open project's.
    bool runStartedHereGoesOn();
    // Help > About: the versions of the workbench, the engine, LibTorch (and CUDA) and Qt.
    QString aboutText() const;
    // Help > Keyboard shortcuts: one line per shortcut.
    QString shortcutsText() const;

protected:
    void closeEvent(QCloseEvent* event) override;

private slots:
    void onNewTriggered();
    void onOpenTriggered();
    void onSaveTriggered();
    void onSaveAsTriggered();
    void refreshTitle();
    void rebuildRecentMenu();

private:
    void addPage(const QString& name, QWidget* page);
    void createMenus();
    void showError(const QString& title, const QString& message);

    ProjectSession* session_;
    QListWidget* pageList_;
    QStackedWidget* pages_;
    ProjectPage* projectPage_;
    ModelPage* modelPage_;
    DataPage* dataPage_;
    LayoutPage* layoutPage_;
    SettingsPage* settingsPage_;
    TrainPage* trainPage_;
    CheckpointsPage* checkpointsPage_;
    QMenu* recentMenu_ = nullptr;
};

}  // namespace hy3::ui

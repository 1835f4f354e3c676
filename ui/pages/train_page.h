#pragma once
// The Train page: start the project's run (`hy3 train`, or `hy3 launch` for several ranks) as a
// child process, stop it (SIGTERM: a checkpoint is saved), and watch it: a status line, the charts
// (widgets/train_charts.h), the router load (widgets/router_view.h), the log
// (widgets/run_log_view.h) and the runs of the output folder (widgets/runs_view.h), any of which
// can be opened (followed through its run.sqlite while it grows) or compared.
#include <QWidget>

class QAction;
class QComboBox;
class QLabel;
class QPushButton;
class QTabWidget;
class QTimer;
class QCustomPlot;
class QCPColorMap;
class QTableView;

namespace hy3::api {
struct LogLine;
}

namespace hy3::ui {

class ProjectSession;
class RouterView;
class RunLogView;
class RunMonitor;
class RunsView;
class TrainCharts;

// Where the `hy3` program is: $HY3_CLI, else next to this executable, else on PATH.
QString hy3Program();

class TrainPage : public QWidget {
    Q_OBJECT
public:
    explicit TrainPage(ProjectSession* session, QWidget* parent = nullptr);
    ~TrainPage() override;

    RunMonitor* monitor() const { return monitor_; }
    // Starts the project's run; `resumeFrom` a checkpoint folder, `weightsOnly` for a new run from it.
    bool start(const QString& resumeFrom = {}, bool weightsOnly = false, QString* error = nullptr);
    void stop();
    // Start as the button does: a refusal is said in a message box.
    void onStartClicked();
    // Start and Stop as actions (the Run menu, F5 and Shift+F5), enabled as the buttons are.
    QAction* startAction() const { return startAction_; }
    QAction* stopAction() const { return stopAction_; }
    // Follows a run directory through its store, read on a worker (the monitor's storeRead() and
    // attachFailed() follow); refused while a run started here is going.
    bool openRun(const QString& runDir, QString* error = nullptr);
    // Redraws everything now (the page otherwise coalesces updates every 250 ms).
    void refreshNow();
    void refreshRuns();

    // What is on screen, for tests and benchmarks.
    int lossPoints() const;
    QCPColorMap* heatmap() const;
    double lastHeatmapMs() const;
    QString statusText() const;
    QString methodText() const;  // what Start trains: full fine-tuning, or LoRA's targets and groups
    QString deviceChoice() const;  // the device picker's training.device: auto, cpu or cuda
    QTableView* runsTable() const;
    void showExpert(int layerPosition, int expert);
    QString alertText() const;  // the router collapse banner's text, empty while hidden
    QCustomPlot* expertPlot() const;
    void compareRuns(const QStringList& runDirs);

signals:
    void runDirChanged(const QString& runDir);
    void checkpointSaved();
    void expertShown();

private slots:
    void onStateChanged(const QString& state);
    // Start, Stop and their actions from the run's real state: our process, the followed run.
    void updateControls();
    void onLogAdded(const api::LogLine& line);
    void refreshStatus();
    void showMethod();
    void onProjectReplaced();
    void onOpenRunClicked();

private:
    QComboBox* deviceChoice_ = nullptr;
    QString outputDir() const;
    void showAlerts();

    ProjectSession* session_;
    RunMonitor* monitor_;
    QPushButton* startButton_;
    QPushButton* stopButton_;
    QAction* startAction_;
    QAction* stopAction_;
    bool stopFileWritten_ = false;  // a run started elsewhere was asked to stop through its folder
    QLabel* status_;
    QLabel* method_;
    QLabel* alert_;  // the latest router collapse warning of the run shown
    QTabWidget* tabs_;
    TrainCharts* charts_;
    RouterView* router_;
    RunLogView* log_;
    RunsView* runs_;
    int runsTicks_ = 0;  // status-clock ticks, for refreshing the runs list while a run goes
    QTimer* redraw_;
    QTimer* clock_;
    QString openError_;  // why the last run folder could not be opened
    bool chartsDirty_ = false, heatmapDirty_ = false;
    bool followNewestRun_ = false;  // a project was (re)opened: show its newest run once listed
};

}  // namespace hy3::ui

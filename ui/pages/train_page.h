#pragma once
// The Train page: start the project's run (`hy3 train`, or `hy3 launch` for several ranks) as a
// child process, stop it (SIGTERM: a checkpoint is saved), and watch it: a status line, live
// charts of loss, learning rate, gradient norm, tokens/s and memory, the router load of every MoE
// layer as a layer x expert heatmap with the imbalance over time and one expert's history on click,
// and the run's log. The Runs tab lists the runs of the output folder; any run directory can be
// opened (it is followed through its run.sqlite while it grows), and runs can be compared.
#include <QFutureWatcher>
#include <QVector>
#include <QWidget>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;
class QTabWidget;
class QTableWidget;
class QTimer;
class QCustomPlot;
class QCPColorMap;
class QCPGraph;

namespace hy3::api {
struct LogLine;
}

namespace hy3::ui {

class ProjectSession;
class RunMonitor;

// One expert's load share and bias over time, read from the run store.
struct ExpertHistory {
    int layer = 0, expert = 0, experts = 0;
    QVector<double> steps, share, biasSteps, bias;
    QString error;
};

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
    bool openRun(const QString& runDir, QString* error = nullptr);
    // Redraws everything now (the page otherwise coalesces updates every 250 ms).
    void refreshNow();
    void refreshRuns();

    // What is on screen, for tests and benchmarks.
    int lossPoints() const;
    QCPColorMap* heatmap() const { return heatmap_; }
    double lastHeatmapMs() const { return lastHeatmapMs_; }
    QString statusText() const;
    QTableWidget* runsTable() const { return runsTable_; }
    void showExpert(int layerPosition, int expert);
    QCustomPlot* expertPlot() const { return expertPlot_; }
    void compareRuns(const QStringList& runDirs);

signals:
    void runDirChanged(const QString& runDir);
    void checkpointSaved();
    void expertShown();

private slots:
    void onStartClicked();
    void onStateChanged(const QString& state);
    void onLogAdded(const api::LogLine& line);
    void refreshCharts();
    void refreshHeatmap();
    void refreshStatus();
    void refreshLogList();
    void onProjectReplaced();
    void onOpenRunClicked();
    void onHeatmapClicked(QMouseEvent* event);
    void onExpertHistoryReady();

private:
    QWidget* buildCharts();
    QWidget* buildRouter();
    QWidget* buildLog();
    QWidget* buildRuns();
    QCustomPlot* makePlot(const QString& name, const QString& title, QString yLabel);
    QString outputDir() const;

    ProjectSession* session_;
    RunMonitor* monitor_;
    QPushButton* startButton_;
    QPushButton* stopButton_;
    QLabel* status_;
    QTabWidget* tabs_;
    QCheckBox* logScale_;
    QCustomPlot* lossPlot_;
    QCustomPlot* lrPlot_;
    QCustomPlot* gradPlot_;
    QCustomPlot* speedPlot_;
    QCustomPlot* memoryPlot_;
    QComboBox* routerMode_;
    QCustomPlot* heatmapPlot_;
    QCPColorMap* heatmap_;
    QComboBox* imbalanceMetric_;
    QCustomPlot* imbalancePlot_;
    QCustomPlot* expertPlot_;
    QLabel* expertLabel_;
    QLineEdit* logFilter_;
    QComboBox* logLevel_;
    QListWidget* logList_;
    QTableWidget* runsTable_;
    QTimer* redraw_;
    QTimer* clock_;
    bool chartsDirty_ = false, heatmapDirty_ = false;
    double lastHeatmapMs_ = 0;
    int imbalanceShown_ = -1;  // the metric the imbalance lines hold
    QFutureWatcher<ExpertHistory> expertWatcher_;
};

}  // namespace hy3::ui

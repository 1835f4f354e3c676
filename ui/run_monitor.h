#pragma once
// What the workbench knows about one training run while it goes: the metric series, the router
// load per MoE layer (the latest step, a moving window and the imbalance over time), the events
// and the run's state. It is fed either by the events stream of a `hy3 train --events jsonl` child
// process it started, or by polling the run's run.sqlite read-only (a run started elsewhere, or
// one still going when the project is reopened). Every value is kept; charts decimate for display.
#include <QObject>
#include <QProcess>
#include <QString>
#include <QStringList>

#include <nlohmann/json.hpp>

#include <deque>
#include <map>
#include <string>
#include <memory>
#include <optional>
#include <vector>

class QTimer;

#include "api/run_tools.h"

namespace hy3::ui {

struct Series {
    std::vector<double> steps, values;
    void add(double step, double value) { steps.push_back(step), values.push_back(value); }
    size_t size() const { return steps.size(); }
};

struct LayerLoad {
    std::vector<double> latest;                      // token-slot share per expert at the last step
    std::deque<std::vector<double>> window;          // the last kWindow steps' counts
    Series maxOverMean, cv, idleExperts;             // imbalance over time
};

struct LogLine {
    double step = 0;
    QString level;  // info, warning, error
    QString text;
};

class RunMonitor : public QObject {
    Q_OBJECT
public:
    static constexpr size_t kWindow = 20;

    explicit RunMonitor(QObject* parent = nullptr);
    ~RunMonitor() override;

    // Starts `program args` and reads its events (stdout, one JSON object per line).
    void startProcess(const QString& program, const QStringList& args, const QString& workDir);
    // Follows an existing run directory through its run store; false with `error` when unreadable.
    bool attach(const QString& runDir, QString* error);
    // SIGTERM to the child (a stop that saves a checkpoint); false when the run is not ours.
    bool stop();
    // Waits (processing nothing) up to `ms` for the child to exit after its run ended.
    void waitForExit(int ms);
    void clear();

    bool ownsProcess() const { return process_ && process_->state() != QProcess::NotRunning; }
    bool isRunning() const { return state_ == "running" || state_ == "starting"; }
    const QString& state() const { return state_; }
    const QString& runDir() const { return runDir_; }
    int64_t step() const { return step_; }
    int64_t totalSteps() const { return totalSteps_; }
    double elapsedSeconds() const;
    const std::map<QString, Series>& metrics() const { return metrics_; }
    const std::vector<LayerLoad>& layers() const { return layers_; }
    std::vector<int> layerNumbers() const { return layerNumbers_; }
    const std::vector<LogLine>& log() const { return log_; }
    QString lastError() const { return lastError_; }
    int64_t routerSteps() const { return routerSteps_; }

    // The run store's id of the run followed (0 when following a child's events: the directory's
    // newest run). With runDir(), what a worker needs to open the store on its own connection.
    int64_t storeRunId() const { return storeRun_; }

    // Feeds one event object, as `hy3 train --events jsonl` writes them (public for tests and replay).
    void handleEvent(const nlohmann::json& event);
    // Feeds one step of router load for `layer` (counts per expert).
    void addRouterLoad(int64_t step, int layer, const std::vector<double>& counts);

signals:
    void updated();          // new points arrived (coalesced by the caller's timer if needed)
    void routerUpdated();
    void stateChanged(const QString& state);
    void checkpointSaved(const QString& path);
    void logAdded(const LogLine& line);
    void runDirKnown(const QString& dir);

private slots:
    void readProcessOutput();
    void onProcessFinished(int exitCode, QProcess::ExitStatus status);
    void pollStore();

private:
    void setState(const QString& state);
    void addLog(double step, const QString& level, const QString& text);

    QProcess* process_ = nullptr;
    QByteArray pending_;       // a partial stdout line
    // Following a run through its store: the connection is this object's alone and is used only on
    // the GUI thread, by attach() and the poll timer; clear() stops the timer before closing it.
    // Work on other threads opens its own connection (api::routerHistory).
    QTimer* pollTimer_;
    std::unique_ptr<RunStore> store_;
    int64_t storeRun_ = 0, lastRouterStep_ = -1, lastEventId_ = 0;
    std::map<std::string, int64_t> lastStepOf_;  // per metric: the newest step read
    QString state_ = "idle", runDir_, lastError_;
    int64_t step_ = 0, totalSteps_ = 0, routerSteps_ = 0;
    double startedAt_ = 0, endedAt_ = 0;  // unix seconds
    std::map<QString, Series> metrics_;
    std::vector<LayerLoad> layers_;      // by position in layerNumbers_
    std::vector<int> layerNumbers_;      // the model's MoE layer indexes
    std::vector<LogLine> log_;
};

}  // namespace hy3::ui

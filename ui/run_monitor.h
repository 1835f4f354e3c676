#pragma once
// The workbench's side of following a training run: a thin Qt adapter over api::RunFollower. It
// starts a `hy3 train --events jsonl` child process and feeds its events stream to the follower,
// or it follows a run directory through its run.sqlite, read on a thread of its own every second
// while the run grows (a run started elsewhere, or one still going when the project is reopened).
// What the follower changes comes out as signals. Every value is kept; charts decimate for display.
#include "api/run_follower.h"

#include <QObject>
#include <QProcess>
#include <QString>
#include <QStringList>

#include <memory>

namespace hy3::ui {

using api::LayerLoad;
using api::LogLine;
using api::Series;

class StorePoller;

class RunMonitor : public QObject {
    Q_OBJECT
public:
    static constexpr size_t kWindow = api::RunFollower::kWindow;

    explicit RunMonitor(QObject* parent = nullptr);
    ~RunMonitor() override;

    // Starts `program args` and reads its events (stdout, one JSON object per line).
    void startProcess(const QString& program, const QStringList& args, const QString& workDir);
    // After startProcess() of a run that continues `runDir` exactly from `step`: the run's steps
    // up to there, from its store, so the charts and the log show the whole run live.
    void loadHistory(const QString& runDir, int64_t step);
    // Follows an existing run directory through its run store, read on the poller's thread:
    // storeRead() follows each read, attachFailed() an unreadable store.
    void attach(const QString& runDir);
    // Stops the run after its step with a checkpoint: SIGTERM to our child, or for a run followed
    // from its folder a stop-request file in it. False when there is no run going to stop (or,
    // with `error` set, when the file cannot be written).
    bool stop(QString* error = nullptr);
    // Through what a run opened from its folder is followed, and why (see api::chooseFollowSource);
    // known before the first read is applied (the poller chooses on its thread).
    const api::FollowSource& followSource() const { return source_; }
    // Waits (processing nothing) up to `ms` for the child to exit after its run ended.
    void waitForExit(int ms);
    void clear();

    bool ownsProcess() const { return process_ && process_->state() != QProcess::NotRunning; }
    bool isRunning() const { return follower_.isRunning(); }
    QString state() const { return QString::fromStdString(follower_.state()); }
    QString runDir() const { return QString::fromStdString(follower_.runDir()); }
    int64_t step() const { return follower_.step(); }
    int64_t totalSteps() const { return follower_.totalSteps(); }
    double elapsedSeconds() const;
    const std::map<std::string, Series>& metrics() const { return follower_.metrics(); }
    const std::vector<LayerLoad>& layers() const { return follower_.layers(); }
    std::vector<int> layerNumbers() const { return follower_.layerNumbers(); }
    const std::vector<LogLine>& log() const { return follower_.log(); }
    const std::vector<RouterAlert>& alerts() const { return follower_.alerts(); }
    QString lastError() const { return QString::fromStdString(follower_.lastError()); }
    int64_t routerSteps() const { return follower_.routerSteps(); }
    // The run store's id of the run followed (0 when following a child's events: the directory's
    // newest run). With runDir(), what a worker needs to open the store on its own connection.
    int64_t storeRunId() const { return storeRunId_; }

    // Feeds one event, as `hy3 train --events jsonl` writes them (public for tests and replay).
    void handleEvent(const RunEvent& event);
    // Feeds one step of router load for `layer` (counts per expert).
    void addRouterLoad(int64_t step, int layer, const std::vector<double>& counts);

signals:
    void updated();          // new points arrived (coalesced by the caller's timer if needed)
    void routerUpdated();
    void stateChanged(const QString& state);
    void processEnded();     // the training process started here has exited (after its last state change)
    void checkpointSaved(const QString& path);
    void logAdded(const LogLine& line);
    void alertsChanged();  // a router collapse warning arrived, or the alerts were cleared
    void runDirKnown(const QString& dir);
    void storeRead();                       // a read of the followed run's store was applied
    void attachFailed(const QString& error);  // the run store cannot be read

private slots:
    void readProcessOutput();
    void readProcessErrors();
    void onProcessFinished(int exitCode, QProcess::ExitStatus status);

private:
    void publish(const api::FollowChanges& changes);
    void addLog(const QString& level, const QString& text);
    void addErrorLine(const QByteArray& line);

    QProcess* process_ = nullptr;
    QByteArray pending_;        // a partial stdout line
    QByteArray pendingErrors_;  // a partial stderr line: a chunk may end anywhere, even inside "error:"
    QString lastErrorLine_;     // the child's last "error: ..." line, the reason when it exits early
    api::RunFollower follower_;
    // Following a run through its store: the poller owns the connection on its own thread; its
    // deltas are applied here. clear() joins the poller; `generation_` drops a delta still queued
    // from a run followed before. Work on other threads opens its own connection.
    std::unique_ptr<StorePoller> poller_;
    int generation_ = 0;
    int64_t storeRunId_ = 0;
    api::FollowSource source_;
};

}  // namespace hy3::ui

#pragma once
// Following one training run while it goes, without Qt: the metric series, the router load of
// every MoE layer (the latest step, a moving window and the imbalance over time), the log and the
// run's state. It is fed typed events (store/run_events.h), either from the events stream of a
// `hy3 train --events jsonl` process (feedLine) or from the run's run.sqlite (RunStoreReader,
// polled), so both ways of following a run show the same thing. The workbench's RunMonitor is a
// thin Qt adapter over it. No torch headers.
#include "store/router_watch.h"
#include "store/run_events.h"
#include "store/run_store.h"

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hy3::api {

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
    std::string level;  // info, warning, error
    std::string text;
};

// Each expert's share of the layer's token slots: at the latest step, or (`overWindow`) summed
// over the last kWindow steps.
std::vector<double> loadShares(const LayerLoad& layer, bool overWindow);

// A series smoothed for reading its trend: an exponential moving average, bias-corrected at the
// start as TensorBoard's is.
std::vector<double> smoothed(const std::vector<double>& values, double weight = 0.95);

// What an update changed (the adapter turns these into signals).
struct FollowChanges {
    bool metrics = false;                 // new points in a series
    bool router = false;                  // a whole step of router load arrived
    bool state = false;                   // state() changed
    bool runDir = false;                  // runDir() became known
    std::vector<LogLine> log;             // lines added
    std::vector<std::string> checkpoints; // checkpoint folders saved
    std::vector<RouterAlert> alerts;      // router collapse warnings raised
    void merge(const FollowChanges& other);
};

class RunFollower {
public:
    static constexpr size_t kWindow = 20;

    void clear();

    // One line of `hy3 train --events jsonl` output; a line that is not an event changes nothing.
    FollowChanges feedLine(std::string_view line);
    // An event of the stream.
    FollowChanges apply(const RunEvent& event);
    // An event read back from the store's events table: the same log, checkpoints and errors as
    // from the stream; metrics and router load come from their own tables instead.
    FollowChanges applyStored(const RunEvent& event);
    // One step of router load for `layer` (counts per expert).
    FollowChanges addRouterLoad(int64_t step, int layer, const std::vector<double>& counts);
    FollowChanges addMetric(const std::string& name, int64_t step, double value);
    FollowChanges addLog(double step, const std::string& level, const std::string& text);
    FollowChanges setState(const std::string& state);
    void setRunDir(const std::string& dir) { runDir_ = dir; }
    void setTotalSteps(int64_t total) { totalSteps_ = total; }
    void setTimes(double startedAt, double endedAt) { startedAt_ = startedAt, endedAt_ = endedAt; }
    void setLastError(const std::string& error) { lastError_ = error; }

    const std::string& state() const { return state_; }
    bool isRunning() const { return state_ == "running" || state_ == "starting"; }
    const std::string& runDir() const { return runDir_; }
    int64_t step() const { return step_; }
    int64_t totalSteps() const { return totalSteps_; }
    double startedAt() const { return startedAt_; }  // unix seconds, 0 before the start
    double endedAt() const { return endedAt_; }      // 0 while it goes
    const std::map<std::string, Series>& metrics() const { return metrics_; }
    const std::vector<LayerLoad>& layers() const { return layers_; }
    const std::vector<int>& layerNumbers() const { return layerNumbers_; }  // the model's MoE layer indexes, by position
    const std::vector<LogLine>& log() const { return log_; }
    // The run's router collapse warnings, in order (from the stream's or the store's warnings).
    const std::vector<RouterAlert>& alerts() const { return alerts_; }
    const std::string& lastError() const { return lastError_; }
    int64_t routerSteps() const { return routerSteps_; }

private:
    std::string state_ = "idle", runDir_, lastError_;
    int64_t step_ = 0, totalSteps_ = 0, routerSteps_ = 0, lastRouterStep_ = -1;
    double startedAt_ = 0, endedAt_ = 0;
    std::map<std::string, Series> metrics_;
    std::vector<LayerLoad> layers_;  // by position in layerNumbers_
    std::vector<int> layerNumbers_;
    std::vector<LogLine> log_;
    std::vector<RouterAlert> alerts_;
};

// What a run's store gained since the last read: plain data, so it can be read on one thread and
// applied on another.
struct StoreDelta {
    RunRecord run;                                  // the run's record now (state, totals, times)
    std::vector<std::pair<std::string, MetricPoint>> metrics;
    std::vector<RouterLoadRecord> router;           // whole steps only while the run grows
    std::vector<RunEvent> events;                   // from the events table, in order
    bool growing() const { return run.state == "running"; }
};
// Applies a delta read by a RunStoreReader.
FollowChanges applyDelta(RunFollower& follower, const StoreDelta& delta);
// A run's history up to `step` from its store, put before what a run resumed from that step
// streams: metrics, router load and events at or before `step` (later steps of the stopped run are
// written again by the resumed one). The follower's state, total and times stay. Throws
// hy3::Error naming the store.
FollowChanges applyHistory(RunFollower& follower, const std::string& runDir, int64_t step);

// How a run directory is followed: through its run.sqlite, or through its events.jsonl when the
// store cannot be shared safely: the directory is on a network filesystem (NFS, Lustre, GPFS,
// CIFS, FUSE; SQLite's WAL needs one machine's shared memory), or another machine wrote the run.
// HY3_FOLLOW=events or =store overrides the choice. A run without an events file (older builds)
// is followed through its store.
struct FollowSource {
    bool eventsFile = false;
    std::string why;  // e.g. "the run directory is on NFS", "written on host node17"
};
FollowSource chooseFollowSource(const std::string& runDir);

// Reads the events RUN/events.jsonl gained since the last read: whole lines only (a line being
// written is read once it is complete); lines that are not events are skipped.
class EventsFileReader {
public:
    // Throws hy3::Error naming the file when it cannot be opened.
    explicit EventsFileReader(const std::string& runDir);
    std::vector<RunEvent> read();
    bool ended() const { return ended_; }  // an end event was read

private:
    std::string path_;
    uint64_t offset_ = 0;
    std::string partial_;
    bool ended_ = false;
};

// Asks a run to stop after its current step with a checkpoint (as SIGTERM does), from any machine
// that sees its directory: writes RUN/stop-request. Throws hy3::Error naming the file.
void requestRunStop(const std::string& runDir);

// Reads what a run's store gained since the last read. It owns one read-only connection, which
// belongs to the thread that created the reader (RunStore is thread-confined): create it on the
// thread that reads.
class RunStoreReader {
public:
    // Opens RUN/run.sqlite and its newest run. Throws hy3::Error naming the file.
    explicit RunStoreReader(const std::string& runDir);
    int64_t runId() const { return runId_; }
    // Everything new since the last read. WAL readers never block the writer.
    StoreDelta read();
    // read() and applyDelta() in one, on one thread.
    FollowChanges poll(RunFollower& follower) { return applyDelta(follower, read()); }

private:
    RunStore store_;
    int64_t runId_ = 0;
    int64_t lastRouterStep_ = -1, lastEventId_ = 0;
    std::map<std::string, int64_t> lastStepOf_;  // per metric: the newest step read
};

}  // namespace hy3::api

#pragma once
// Where a run's progress goes: the run store (metrics, router load, events), one JSON object per
// line on stdout with --events jsonl (typed in store/run_events.h; the schema is in the README), a
// progress line with ETA on a terminal otherwise, and the rank's log file.
#include "store/router_watch.h"
#include "store/run_events.h"
#include "store/run_store.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace hy3 {

class RunReporter {
public:
    // Rank 0 is `primary`: it writes the store, the events and the progress. The other ranks
    // (store null) write only their log file, and their errors to `human`.
    RunReporter(RunStore* store, int64_t runId, bool jsonl, std::ostream& events, std::ostream& human,
                const std::filesystem::path& logFile, bool primary = true);

    void start(const StartEvent& e);
    // The step's router summary is filled in from the router() calls since the last step.
    void step(StepEvent e);
    // A layer's load; a collapse it shows (store/router_watch.h) becomes a warning event.
    void router(const RouterEvent& e);
    void eval(const EvalEvent& e);
    void checkpoint(const CheckpointEvent& e);
    void end(const EndEvent& e);
    void error(const ErrorEvent& e);
    void log(int64_t step, const std::string& line);
    // Rank 0 also appends every event (log lines too) to `file`, flushed per event, so that a
    // follower that cannot share the SQLite store (another machine, a network filesystem) reads
    // the run from it.
    void appendEventsTo(const std::filesystem::path& file);

    // Rank 0's last words when its watchdog ends the job because another rank failed: the error
    // and the end of the run, in the store (through a connection of its own: this runs on the
    // watchdog's thread) and on the events stream. Never throws.
    static void recordAbort(const std::filesystem::path& storeFile, int64_t runId, int64_t step, const std::string& message, bool jsonl,
                            std::ostream& events);

private:
    void publish(const RunEvent& event);
    void record(const RunEvent& event);
    void humanLine(const std::string& line);
    void warning(int64_t step, const std::string& text);
    void appendToEventsFile(const std::string& line);

    RunStore* store_;
    int64_t runId_;
    bool jsonl_;
    std::ostream& events_;
    std::ostream& human_;
    std::ofstream logFile_;
    std::ofstream eventsFile_;
    bool tty_;
    bool primary_;
    bool progressShown_ = false;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    int64_t firstStep_ = -1;
    std::vector<RouterSummary> pendingRouter_;
    RouterWatch routerWatch_;
};

}  // namespace hy3

#pragma once
// Where a run's progress goes: the run store (metrics, router load, events), one JSON object per
// line on stdout with --events jsonl (the schema is in the README), a progress line with ETA on a
// terminal otherwise, and the rank's log file.
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

struct StepMetrics {
    int64_t step = 0, totalSteps = 0;
    double loss = 0, lr = 0, gradNorm = 0;
    double tokensPerSecond = 0, mfu = 0, stepSeconds = 0;
    int64_t tokens = 0, labelTokens = 0;
    uint64_t rssBytes = 0, cudaAllocated = 0, cudaReserved = 0;
    bool skipped = false;
    std::string skipReason;
};

struct RouterSummary {
    double maxOverMean = 0;  // largest expert load / mean load
    double cv = 0;           // coefficient of variation of the loads
    int64_t idle = 0;        // experts that got no token
};
RouterSummary summarizeLoad(const std::vector<int64_t>& load);

class RunReporter {
public:
    // Rank 0 is `primary`: it writes the store, the events and the progress. The other ranks
    // (store null) write only their log file, and their errors to `human`.
    RunReporter(RunStore* store, int64_t runId, bool jsonl, std::ostream& events, std::ostream& human,
                const std::filesystem::path& logFile, bool primary = true);

    void start(int64_t step, const nlohmann::json& info);
    void step(const StepMetrics& m);
    void router(int64_t step, int64_t layer, const std::vector<int64_t>& load, const std::vector<float>& bias);
    void eval(int64_t step, double evalLoss, int64_t labelTokens);
    void checkpoint(int64_t step, const std::string& path, const nlohmann::json& metrics);
    void end(int64_t step, const std::string& status, const std::string& message);
    void error(int64_t step, const std::string& message);
    void log(int64_t step, const std::string& line);

    // Rank 0's last words when its watchdog ends the job because another rank failed: the error
    // and the end of the run, in the store (through a connection of its own: this runs on the
    // watchdog's thread) and on the events stream. Never throws.
    static void recordAbort(const std::filesystem::path& storeFile, int64_t runId, int64_t step, const std::string& message, bool jsonl,
                            std::ostream& events);

private:
    void publish(const nlohmann::json& event);
    void storeEvent(int64_t step, const std::string& kind, const std::string& level, const std::string& message,
                    const nlohmann::json& data);
    void humanLine(const std::string& line);

    RunStore* store_;
    int64_t runId_;
    bool jsonl_;
    std::ostream& events_;
    std::ostream& human_;
    std::ofstream logFile_;
    bool tty_;
    bool primary_;
    bool progressShown_ = false;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    int64_t firstStep_ = -1;
    std::vector<RouterSummary> pendingRouter_;
};

}  // namespace hy3

#pragma once
// The events of a run, typed, with their one encoding. The reporter writes them (a JSON object per
// line on stdout with `--events jsonl`, and rows of run.sqlite's events table); the workbench and
// the tests read them back from either. The JSON schema is in the README ("Events"). No torch, no Qt.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace hy3 {

struct EventRecord;  // a row of the events table (store/run_store.h)

struct StartEvent {
    int64_t step = 0;            // 0, or the step a resume continues from
    std::string runDir;
    int64_t totalSteps = 0;
    nlohmann::json info = nlohmann::json::object();  // parameters, FLOPs, layout, ... (every field of the event)
};

struct StepEvent {
    int64_t step = 0, totalSteps = 0;
    double loss = 0, lr = 0, gradNorm = 0;
    double tokensPerSecond = 0, mfu = 0, stepSeconds = 0;
    int64_t tokens = 0, labelTokens = 0;
    uint64_t rssBytes = 0;                                       // peak resident memory, largest over the ranks
    uint64_t cudaAllocated = 0, cudaReserved = 0, cudaPeak = 0;  // after the step / the step's peak; 0 on the CPU
    std::optional<double> routerMaxMean, routerCv;               // over the step's MoE layers
    std::optional<int64_t> routerIdle;
    bool skipped = false;        // a non-finite step that changed nothing
    std::string skipReason;
};

struct RouterEvent {
    int64_t step = 0, layer = 0;
    std::vector<int64_t> load;   // token-slots per expert
    std::vector<float> bias;     // expert bias after the step (may be empty)
};

struct EvalEvent {
    int64_t step = 0;
    double evalLoss = 0;
    int64_t labelTokens = 0;
};

struct CheckpointEvent {
    int64_t step = 0;
    std::string path;            // the checkpoint folder
    nlohmann::json metrics = nlohmann::json::object();
};

struct ErrorEvent {
    int64_t step = 0;
    std::string message;
};

struct EndEvent {
    int64_t step = 0;
    std::string status;          // finished, stopped, failed
    std::string message;
};

// A line of the human log (the run store keeps these; the stream does not carry them).
struct LogEvent {
    int64_t step = 0;
    std::string level = "info";  // info, warning, error
    std::string text;
};

// The imbalance of one layer's router load.
struct RouterSummary {
    double maxOverMean = 0;  // largest expert load / mean load
    double cv = 0;           // coefficient of variation of the loads
    int64_t idle = 0;        // experts that got no token
};
RouterSummary summarizeLoad(const std::vector<int64_t>& load);

using RunEvent = std::variant<StartEvent, StepEvent, RouterEvent, EvalEvent, CheckpointEvent, ErrorEvent, EndEvent, LogEvent>;

int64_t stepOf(const RunEvent& event);

// The stream's encoding: {"event": "step", "step": 12, ...}.
nlohmann::json eventToJson(const RunEvent& event);
// nullopt for an object that is not a run event (an unknown "event", a missing or mistyped field).
std::optional<RunEvent> eventFromJson(const nlohmann::json& object);

// The store's encoding: one events-table row (step and router events are also kept in their own
// tables, metrics and router_load; their rows here carry the same fields).
struct StoredEvent {
    int64_t step = 0;
    std::string kind, level, message;
    nlohmann::json data = nlohmann::json::object();
};
StoredEvent eventToRecord(const RunEvent& event);
std::optional<RunEvent> eventFromRecord(const EventRecord& record);

}  // namespace hy3

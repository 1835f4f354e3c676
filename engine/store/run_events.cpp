#include "store/run_events.h"

#include "store/run_store.h"
#include "util/format.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace hy3 {
using json = nlohmann::json;
namespace {

template <class... Fs>
struct Overload : Fs... {
    using Fs::operator()...;
};
template <class... Fs>
Overload(Fs...) -> Overload<Fs...>;

// A line whose fields do not have the types this build writes: not an event.
struct NotAnEvent {};

// Typed reads for decoding. nlohmann's get<int64_t>() casts whatever number it finds, and a cast
// of 1e20 to an integer (or of 1e300 to a float) is undefined behaviour: a line from a damaged or
// foreign stream must be rejected instead.
int64_t integerOf(const json& v) {
    if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX))) throw NotAnEvent{};
    return v.get<int64_t>();
}
int64_t integerField(const json& j, const char* key, int64_t fallback = 0) { return j.contains(key) ? integerOf(j[key]) : fallback; }
uint64_t countField(const json& j, const char* key) {
    const int64_t v = integerField(j, key);
    if (v < 0) throw NotAnEvent{};
    return static_cast<uint64_t>(v);
}
std::vector<int64_t> integersOf(const json& v) {
    if (!v.is_array()) throw NotAnEvent{};
    std::vector<int64_t> out;
    out.reserve(v.size());
    for (const json& e : v) out.push_back(integerOf(e));
    return out;
}
std::vector<float> floatsOf(const json& v) {
    if (!v.is_array()) throw NotAnEvent{};
    std::vector<float> out;
    out.reserve(v.size());
    for (const json& e : v) {
        if (!e.is_number() || !(std::fabs(e.get<double>()) <= 3.4e38)) throw NotAnEvent{};
        out.push_back(static_cast<float>(e.get<double>()));
    }
    return out;
}

json stepJson(const StepEvent& e) {
    json j = {{"event", "step"},
              {"step", e.step},
              {"loss", e.loss},
              {"lr", e.lr},
              {"grad_norm", e.gradNorm},
              {"tokens_per_s", e.tokensPerSecond},
              {"mfu", e.mfu},
              {"tokens", e.tokens},
              {"label_tokens", e.labelTokens},
              {"step_time_s", e.stepSeconds},
              {"rss_bytes", e.rssBytes},
              {"total_steps", e.totalSteps}};
    if (e.cudaReserved > 0)
        j["cuda_allocated_bytes"] = e.cudaAllocated, j["cuda_reserved_bytes"] = e.cudaReserved, j["cuda_peak_bytes"] = e.cudaPeak;
    if (e.routerMaxMean) j["router_max_mean"] = *e.routerMaxMean;
    if (e.routerCv) j["router_cv"] = *e.routerCv;
    if (e.routerIdle) j["router_idle_experts"] = *e.routerIdle;
    if (e.skipped) j["skipped"] = true, j["reason"] = e.skipReason;
    return j;
}

StepEvent stepFromJson(const json& j) {
    StepEvent e;
    e.step = integerField(j, "step");
    e.totalSteps = integerField(j, "total_steps");
    e.skipped = j.value("skipped", false);
    e.skipReason = j.value("reason", std::string());
    // A skipped step's loss may be NaN, which JSON writes as null.
    auto number = [&](const char* key) { return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0; };
    e.loss = number("loss");
    e.lr = number("lr");
    e.gradNorm = number("grad_norm");
    e.tokensPerSecond = number("tokens_per_s");
    e.mfu = number("mfu");
    e.stepSeconds = number("step_time_s");
    e.tokens = integerField(j, "tokens");
    e.labelTokens = integerField(j, "label_tokens");
    e.rssBytes = countField(j, "rss_bytes");
    e.cudaAllocated = countField(j, "cuda_allocated_bytes");
    e.cudaReserved = countField(j, "cuda_reserved_bytes");
    e.cudaPeak = countField(j, "cuda_peak_bytes");
    if (j.contains("router_max_mean")) e.routerMaxMean = j["router_max_mean"].get<double>();
    if (j.contains("router_cv")) e.routerCv = j["router_cv"].get<double>();
    if (j.contains("router_idle_experts")) e.routerIdle = integerField(j, "router_idle_experts");
    return e;
}

}  // namespace

RouterSummary summarizeLoad(const std::vector<int64_t>& load) {
    RouterSummary s;
    if (load.empty()) return s;
    double sum = 0, sq = 0, mx = 0;
    for (int64_t v : load) {
        sum += static_cast<double>(v);
        sq += static_cast<double>(v) * static_cast<double>(v);
        mx = std::max(mx, static_cast<double>(v));
        s.idle += v == 0;
    }
    const double n = static_cast<double>(load.size()), mean = sum / n;
    if (mean > 0) {
        s.maxOverMean = mx / mean;
        s.cv = std::sqrt(std::max(0.0, sq / n - mean * mean)) / mean;
    }
    return s;
}

int64_t stepOf(const RunEvent& event) {
    return std::visit([](const auto& e) { return e.step; }, event);
}

json eventToJson(const RunEvent& event) {
    return std::visit(Overload{
                          [](const StartEvent& e) {
                              json j = e.info;
                              j["run_dir"] = e.runDir;
                              j["total_steps"] = e.totalSteps;
                              j["event"] = "start";
                              j["step"] = e.step;
                              return j;
                          },
                          [](const StepEvent& e) { return stepJson(e); },
                          [](const RouterEvent& e) {
                              const RouterSummary s = summarizeLoad(e.load);
                              return json{{"event", "router"}, {"step", e.step},      {"layer", e.layer},         {"load", e.load},
                                          {"bias", e.bias},    {"max_mean", s.maxOverMean}, {"cv", s.cv}, {"idle_experts", s.idle}};
                          },
                          [](const EvalEvent& e) {
                              return json{{"event", "eval"}, {"step", e.step}, {"eval_loss", e.evalLoss}, {"label_tokens", e.labelTokens}};
                          },
                          [](const CheckpointEvent& e) {
                              return json{{"event", "checkpoint"}, {"step", e.step}, {"path", e.path}, {"metrics", e.metrics}};
                          },
                          [](const ErrorEvent& e) { return json{{"event", "error"}, {"step", e.step}, {"message", e.message}}; },
                          [](const EndEvent& e) {
                              return json{{"event", "end"}, {"step", e.step}, {"status", e.status}, {"message", e.message}};
                          },
                          [](const LogEvent& e) { return json{{"event", "log"}, {"step", e.step}, {"level", e.level}, {"text", e.text}}; },
                      },
                      event);
}

std::optional<RunEvent> eventFromJson(const json& j) {
    if (!j.is_object() || !j.contains("event") || !j["event"].is_string() || !j.contains("step") || !j["step"].is_number()) return std::nullopt;
    try {
        const std::string kind = j["event"].get<std::string>();
        const int64_t step = integerField(j, "step");
        if (kind == "start") {
            StartEvent e;
            e.step = step;
            e.runDir = j.value("run_dir", std::string());
            e.totalSteps = integerField(j, "total_steps");
            e.info = j;
            e.info.erase("event");
            e.info.erase("step");
            return e;
        }
        if (kind == "step") return stepFromJson(j);
        if (kind == "router") {
            RouterEvent e;
            e.step = step;
            e.layer = integerOf(j.at("layer"));
            e.load = integersOf(j.at("load"));
            if (j.contains("bias")) e.bias = floatsOf(j["bias"]);
            return e;
        }
        if (kind == "eval") return EvalEvent{step, j.at("eval_loss").get<double>(), integerField(j, "label_tokens")};
        if (kind == "checkpoint") return CheckpointEvent{step, j.at("path").get<std::string>(), j.value("metrics", json::object())};
        if (kind == "error") return ErrorEvent{step, j.value("message", std::string())};
        if (kind == "end") return EndEvent{step, j.value("status", std::string("finished")), j.value("message", std::string())};
        if (kind == "log") return LogEvent{step, j.value("level", std::string("info")), j.value("text", std::string())};
    } catch (const json::exception&) {
        // A field of the wrong type: not an event this build understands.
    } catch (const NotAnEvent&) {
    }
    return std::nullopt;
}

StoredEvent eventToRecord(const RunEvent& event) {
    return std::visit(Overload{
                          [](const StartEvent& e) {
                              json info = e.info;
                              info["run_dir"] = e.runDir;
                              info["total_steps"] = e.totalSteps;
                              return StoredEvent{e.step, "start", "info", "run started at step " + std::to_string(e.step), info};
                          },
                          [](const StepEvent& e) {
                              return StoredEvent{e.step, "step", e.skipped ? "warning" : "info", e.skipped ? "step skipped: " + e.skipReason : "",
                                                 stepJson(e)};
                          },
                          [](const RouterEvent& e) { return StoredEvent{e.step, "router", "info", "", eventToJson(e)}; },
                          [](const EvalEvent& e) {
                              return StoredEvent{e.step, "eval", "info", "eval loss " + fixed(e.evalLoss, 4), json{{"eval_loss", e.evalLoss}}};
                          },
                          [](const CheckpointEvent& e) {
                              return StoredEvent{e.step, "checkpoint", "info", "checkpoint " + e.path, json{{"path", e.path}}};
                          },
                          [](const ErrorEvent& e) { return StoredEvent{e.step, "error", "error", e.message, json::object()}; },
                          [](const EndEvent& e) {
                              return StoredEvent{e.step, "end", e.status == "finished" || e.status == "stopped" ? "info" : "error", e.message,
                                                 json{{"status", e.status}}};
                          },
                          [](const LogEvent& e) { return StoredEvent{e.step, "log", e.level, e.text, json::object()}; },
                      },
                      event);
}

std::optional<RunEvent> eventFromRecord(const EventRecord& r) {
    const json data = json::parse(r.data_json.empty() ? "{}" : r.data_json, nullptr, false);
    const json fields = data.is_object() ? data : json::object();
    try {
        if (r.kind == "start") {
            StartEvent e;
            e.step = r.step;
            e.runDir = fields.value("run_dir", std::string());
            e.totalSteps = integerField(fields, "total_steps");
            e.info = fields;
            return e;
        }
        if (r.kind == "step" || r.kind == "router") {
            json j = fields;
            j["event"] = r.kind;
            j["step"] = r.step;
            return eventFromJson(j);
        }
        if (r.kind == "eval") return EvalEvent{r.step, fields.value("eval_loss", 0.0), integerField(fields, "label_tokens")};
        if (r.kind == "checkpoint") {
            // Stores written before the path went into the data say it in the message only.
            std::string path = fields.value("path", std::string());
            if (path.empty() && r.message.rfind("checkpoint ", 0) == 0) path = r.message.substr(11);
            return CheckpointEvent{r.step, path, json::object()};
        }
        if (r.kind == "error") return ErrorEvent{r.step, r.message};
        if (r.kind == "end") return EndEvent{r.step, fields.value("status", std::string("finished")), r.message};
        if (r.kind == "log") return LogEvent{r.step, r.level, r.message};
    } catch (const json::exception&) {
    } catch (const NotAnEvent&) {
    }
    return std::nullopt;
}

}  // namespace hy3

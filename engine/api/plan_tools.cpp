#include "api/plan_tools.h"

#include "config/model_source.h"
#include "config/layout_rules.h"
#include "util/error.h"
#include "util/format.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>

namespace hy3::api {

namespace {

// Small devices (a CPU test, a tiny preset) read better in MiB.
struct Unit {
    double bytes;
    const char* name;
};
Unit unitFor(const PlanSettings& s) { return s.deviceMemoryBytes < 16.0 * 1073741824.0 ? Unit{1048576.0, "MiB"} : Unit{1073741824.0, "GiB"}; }

nlohmann::json memoryJson(const MemoryBreakdown& m) {
    return {{"weights", m.weights},     {"gradients", m.gradients}, {"optimizer", m.optimizer}, {"activations", m.activations},
            {"activations_checkpointed", m.activationsCheckpointed}, {"all_to_all", m.allToAll}, {"all_to_all_checkpointed", m.allToAllCheckpointed}, {"overhead", m.overhead},
            {"total", m.total(false)},  {"total_checkpointed", m.total(true)}};
}

}  // namespace

std::string layoutProblemFor(const std::string& model, const Layout& layout, int64_t devices, int64_t globalBatch, int64_t microBatch) {
    const ModelConfig config = resolveModelSource(model).config;
    return firstLayoutProblem(layout, {devices, config.num_experts, config.num_hidden_layers, globalBatch, microBatch});
}

LayoutPlanResult planLayoutsFor(const std::string& model, const PlanSettings& settings) {
    if (settings.devices < 1) fail("--gpus", "must be at least 1");
    if (settings.deviceMemoryBytes <= 0) fail("--gpu-mem", "must be positive");
    if (settings.seqLen < 2 || settings.microBatch < 1) fail("--seq-len", "--seq-len must be >= 2 and --micro-batch >= 1");
    if (settings.dtype != "bf16" && settings.dtype != "fp32") fail("--dtype", "expected bf16 or fp32");
    if (settings.device != "cuda" && settings.device != "cpu") fail("--device", "expected cuda or cpu");
    return planLayouts(resolveModelSource(model).config, settings);
}

std::string formatLayoutPlan(const LayoutPlanResult& plan) {
    std::ostringstream o;
    const PlanSettings& s = plan.settings;
    const Unit unit = unitFor(s);
    auto gib = [&](double bytes) { return fixed(bytes / unit.bytes, unit.bytes > 1048576.0 ? 2 : 0); };
    o << s.devices << " x " << gib(s.deviceMemoryBytes) << " " << unit.name << " " << s.device << ", " << s.dtype << ", micro-batch " << s.microBatch << " x seq "
      << s.seqLen << "\n";
    o << "layout            memory per device, " << unit.name << "                                                 fits          step\n";
    o << "pp   dp   ep     weights    grads    optim    activ      a2a  overhead    total     ckpt   no ckpt  ckpt  relative\n";
    for (const LayoutEstimate& e : plan.layouts) {
        char head[64];
        std::snprintf(head, sizeof head, "%-4lld %-4lld %-4lld ", static_cast<long long>(e.layout.pp), static_cast<long long>(e.layout.dp),
                      static_cast<long long>(e.layout.ep));
        o << head;
        if (!e.valid()) {
            o << "invalid: " << e.problem << "\n";
            continue;
        }
        const MemoryBreakdown& m = e.memory;
        char line[256];
        std::snprintf(line, sizeof line, "%8s %8s %8s %8s %8s %9s %8s %8s   %-7s  %-4s  %s\n", gib(m.weights).c_str(),
                      gib(m.gradients).c_str(), gib(m.optimizer).c_str(), gib(m.activations).c_str(), gib(m.allToAll).c_str(),
                      gib(m.overhead).c_str(), gib(m.total(false)).c_str(), gib(m.total(true)).c_str(), e.fits ? "yes" : "no",
                      e.fitsCheckpointed ? "yes" : "no", (e.fits || e.fitsCheckpointed) ? fixed(e.relativeTime, 2).c_str() : "-");
        o << line;
    }
    o << plan.summary << "\n";
    return o.str();
}

std::string layoutPlanJson(const LayoutPlanResult& plan) {
    nlohmann::json layouts = nlohmann::json::array();
    for (const LayoutEstimate& e : plan.layouts) {
        nlohmann::json j = {{"pp", e.layout.pp}, {"dp", e.layout.dp}, {"ep", e.layout.ep}, {"valid", e.valid()}};
        if (!e.valid()) {
            j["problem"] = e.problem;
        } else {
            j["memory"] = memoryJson(e.memory);
            j["stage"] = e.stage;
            j["stage_layers"] = e.stageLayers;
            j["fits"] = e.fits;
            j["fits_checkpointed"] = e.fitsCheckpointed;
            j["step_seconds"] = e.stepSeconds;
            j["step_seconds_checkpointed"] = e.stepSecondsCheckpointed;
            j["relative_time"] = e.relativeTime;
            j["all_to_all_bytes_per_step"] = e.allToAllBytesPerStep;
        }
        layouts.push_back(j);
    }
    const PlanSettings& s = plan.settings;
    return nlohmann::json{{"devices", s.devices},
                          {"device_memory_bytes", s.deviceMemoryBytes},
                          {"device", s.device},
                          {"dtype", s.dtype},
                          {"seq_len", s.seqLen},
                          {"micro_batch", s.microBatch},
                          {"layouts", layouts},
                          {"recommended", plan.recommended},
                          {"recommend_checkpointing", plan.recommendCheckpointing},
                          {"summary", plan.summary}}
        .dump(2);
}

}  // namespace hy3::api

#include "api/plan_tools.h"

#include "config/layout_rules.h"
#include "config/model_source.h"
#include "util/error.h"

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
    if (settings.devices < 1) fail("devices", "must be at least 1");
    if (settings.deviceMemoryBytes <= 0) fail("device memory", "must be positive");
    if (settings.seqLen < 2) fail("sequence length", "must be at least 2");
    if (settings.microBatch < 1) fail("micro-batch", "must be at least 1");
    if (settings.dtype != "bf16" && settings.dtype != "fp32") fail("dtype", "expected bf16 or fp32");
    if (settings.device != "cuda" && settings.device != "cpu") fail("device", "expected cuda or cpu");
    return planLayouts(resolveModelSource(model).config, settings);
}

}  // namespace hy3::api

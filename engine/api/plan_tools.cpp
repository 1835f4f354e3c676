#include "api/plan_tools.h"

#include "config/layout_rules.h"
#include "config/model_source.h"
#include "util/error.h"

namespace hy3::api {

ModelConfig modelConfigOf(const std::string& model) { return resolveModelSource(model).config; }

std::string layoutProblemFor(const ModelConfig& config, const Layout& layout, int64_t devices, int64_t globalBatch, int64_t microBatch) {
    return firstLayoutProblem(layout, {devices, config.num_experts, config.num_hidden_layers, globalBatch, microBatch});
}

LayoutPlanResult planLayoutsFor(const ModelConfig& config, const PlanSettings& settings) {
    if (settings.devices < 1) fail("devices", "must be at least 1");
    if (settings.deviceMemoryBytes <= 0) fail("device memory", "must be positive");
    if (settings.seqLen < 2) fail("sequence length", "must be at least 2");
    if (settings.microBatch < 1) fail("micro-batch", "must be at least 1");
    if (settings.dtype != "bf16" && settings.dtype != "fp32") fail("dtype", "expected bf16 or fp32");
    if (settings.device != "cuda" && settings.device != "cpu") fail("device", "expected cuda or cpu");
    return planLayouts(config, settings);
}

LayoutPlanResult planLayoutsFor(const std::string& model, const PlanSettings& settings) {
    return planLayoutsFor(modelConfigOf(model), settings);
}

}  // namespace hy3::api

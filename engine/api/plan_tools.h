#pragma once
// Engine facade for `hy3 plan` and the workbench's layout page. No torch headers.
#include "config/layout_plan.h"
#include "config/model_config.h"

#include <string>

namespace hy3::api {

// The config of `model` (a preset name, a config.json or a model directory), read once; the
// workbench reads it on a worker and plans from it as the user edits.
ModelConfig modelConfigOf(const std::string& model);

LayoutPlanResult planLayoutsFor(const ModelConfig& config, const PlanSettings& settings);
LayoutPlanResult planLayoutsFor(const std::string& model, const PlanSettings& settings);

// Why `layout` cannot train the model on `devices` ranks with this batch (the rules of
// config/layout_rules.h, naming the setting); empty when it can.
std::string layoutProblemFor(const ModelConfig& config, const Layout& layout, int64_t devices, int64_t globalBatch, int64_t microBatch);

}  // namespace hy3::api

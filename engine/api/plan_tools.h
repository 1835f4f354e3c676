#pragma once
// Engine facade for `hy3 plan` and the workbench's layout page. No torch headers.
#include "config/layout_plan.h"

#include <string>

namespace hy3::api {

// `model`: a preset name, a config.json or a model directory.
LayoutPlanResult planLayoutsFor(const std::string& model, const PlanSettings& settings);

// Why `layout` cannot train `model` on `devices` ranks with this batch (the trainer's and the
// planner's rules, naming the setting); empty when it can.
std::string layoutProblemFor(const std::string& model, const Layout& layout, int64_t devices, int64_t globalBatch, int64_t microBatch);

}  // namespace hy3::api

#pragma once
// Engine facade for `hy3 plan` and the workbench's layout page. No torch headers.
#include "config/layout_plan.h"

#include <string>

namespace hy3::api {

// `model`: a preset name, a config.json or a model directory.
LayoutPlanResult planLayoutsFor(const std::string& model, const PlanSettings& settings);
std::string formatLayoutPlan(const LayoutPlanResult& plan);
std::string layoutPlanJson(const LayoutPlanResult& plan);

}  // namespace hy3::api

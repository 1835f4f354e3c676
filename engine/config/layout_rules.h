#pragma once
// The rules a parallel layout must follow, stated once. The device mesh, the planner, project
// validation, the trainer and the workbench's Layout page all ask here, so each rule and its
// wording exist in one place. No torch here.
#include "config/project.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hy3 {

struct LayoutProblem {
    std::string field;   // the setting to change: "layout.ep", "training.global_batch", ...
    std::string reason;  // "4 does not divide dp (2)"
    std::string text() const { return field + ": " + reason; }
};

// What a layout is checked against. A fact left at 0 is unknown, and its rules are skipped (a
// project file alone does not know the model or the number of devices).
struct LayoutFacts {
    int64_t ranks = 0;        // processes that run the job, one per device
    int64_t experts = 0;      // routed experts of the model
    int64_t layers = 0;       // decoder layers of the model
    int64_t globalBatch = 0;  // rows per optimizer step
    int64_t microBatch = 0;   // rows per forward/backward
};

// Every rule the layout breaks, in a fixed order (sizes, ranks, ep and dp, experts, stages, batch);
// empty when it can run.
std::vector<LayoutProblem> layoutProblems(const Layout& layout, const LayoutFacts& facts);

// The first of them as "field: reason", or "" when the layout can run.
std::string firstLayoutProblem(const Layout& layout, const LayoutFacts& facts);

}  // namespace hy3

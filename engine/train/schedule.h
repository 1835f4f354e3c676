#pragma once
// The learning-rate schedule: linear warm-up from 0 to the peak, then constant, linear or cosine
// decay to the minimum at the last step.
#include <cstdint>
#include <string>

namespace hy3 {

struct LrSchedule {
    std::string kind = "cosine";  // constant, linear, cosine
    double peak = 1e-3;
    double minimum = 0.0;
    int64_t warmupSteps = 0;
    int64_t totalSteps = 1;

    // The rate for optimizer step `step` (1-based: the first update uses step 1).
    double at(int64_t step) const;
};

}  // namespace hy3

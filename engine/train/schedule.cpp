#include "train/schedule.h"

#include "util/error.h"

#include <algorithm>
#include <cmath>

namespace hy3 {

double LrSchedule::at(int64_t step) const {
    if (warmupSteps > 0 && step <= warmupSteps) return peak * static_cast<double>(step) / static_cast<double>(warmupSteps);
    if (kind == "constant") return peak;
    const int64_t decaySteps = std::max<int64_t>(1, totalSteps - warmupSteps);
    const double progress = std::clamp(static_cast<double>(step - warmupSteps) / static_cast<double>(decaySteps), 0.0, 1.0);
    if (kind == "linear") return minimum + (peak - minimum) * (1.0 - progress);
    if (kind == "cosine") return minimum + (peak - minimum) * 0.5 * (1.0 + std::cos(M_PI * progress));
    fail("training.lr_schedule", "unknown schedule \"" + kind + "\"");
}

}  // namespace hy3

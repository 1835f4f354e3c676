#pragma once
// Runs a pass several times under a PhaseTimer and reports the mean time of each phase.
#include "bench/model_bench.h"
#include "model/phase_timer.h"

#include <functional>

namespace hy3 {

// `pass` runs one pass with the timer it is given; `waitForDevice` as PhaseTimer takes it.
TimeSplit timeSplit(int passes, const std::function<void()>& waitForDevice, const std::function<void(PhaseTimer&)>& pass);

}  // namespace hy3

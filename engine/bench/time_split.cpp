#include "bench/time_split.h"

#include <algorithm>

namespace hy3 {

TimeSplit timeSplit(int passes, const std::function<void()>& waitForDevice, const std::function<void(PhaseTimer&)>& pass) {
    passes = std::max(1, passes);
    PhaseTimer timer(waitForDevice);
    for (int i = 0; i < passes; ++i) {
        timer.start();
        pass(timer);
        timer.stop();
    }
    TimeSplit split;
    for (Phase phase : {Phase::Attention, Phase::Dispatch, Phase::RoutedExperts, Phase::Mlp, Phase::Optimizer, Phase::Other}) {
        const double ms = timer.seconds(phase) * 1e3 / passes;
        split.phaseMs.emplace_back(phaseName(phase), ms);
        split.passMs += ms;
    }
    return split;
}

}  // namespace hy3

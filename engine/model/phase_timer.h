#pragma once
// Splits the wall time of forward and backward passes into phases, for benchmarks: where a phase
// begins or ends, the model puts a mark on the tensor that crosses the boundary. A mark is an
// identity with a side effect: when the forward passes it, the timer waits for the device and
// charges the time since the last mark to the phase that was running; when the backward passes it
// (the same boundary crossed the other way), the same happens with the phases swapped. Every moment
// between start() and stop() is charged to exactly one phase, so the phases add up to the whole.
// The waits cost a little; benchmarks time their headline figures without a timer.
#include <torch/torch.h>

#include <array>
#include <chrono>
#include <functional>
#include <string>

namespace hy3 {

enum class Phase { Other, Attention, Dispatch, RoutedExperts, Mlp, Optimizer };
constexpr int kPhaseCount = 6;
// "attention", "dispatch", "routed experts", "mlp" (dense MLPs and shared experts), "optimizer",
// "other" (embedding, norms, head and loss, whatever lies between the marks).
const char* phaseName(Phase phase);

class PhaseTimer {
public:
    // waitForDevice: returns once the device has run everything queued (nothing on the CPU).
    explicit PhaseTimer(std::function<void()> waitForDevice);
    void start();  // from now on, time goes to Other
    void switchTo(Phase phase);
    void stop();
    double seconds(Phase phase) const { return seconds_[static_cast<size_t>(phase)]; }

private:
    std::function<void()> waitForDevice_;
    std::array<double, kPhaseCount> seconds_{};
    Phase current_ = Phase::Other;
    std::chrono::steady_clock::time_point since_;
    bool running_ = false;
};

// x itself; with a timer, its crossing is charged as described above (`before` is the phase
// that ends where x is made, `after` the one that begins where it is used).
torch::Tensor markPhase(PhaseTimer* timer, const torch::Tensor& x, Phase before, Phase after);

}  // namespace hy3

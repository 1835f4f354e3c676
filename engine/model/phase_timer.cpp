#include "model/phase_timer.h"

namespace hy3 {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct PhaseMark : torch::autograd::Function<PhaseMark> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, int64_t timerAddress, int64_t before, int64_t after) {
        reinterpret_cast<PhaseTimer*>(timerAddress)->switchTo(static_cast<Phase>(after));
        ctx->saved_data["timer"] = timerAddress;
        ctx->saved_data["before"] = before;
        return x;
    }
    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        reinterpret_cast<PhaseTimer*>(ctx->saved_data["timer"].toInt())->switchTo(static_cast<Phase>(ctx->saved_data["before"].toInt()));
        return {grads[0], torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

}  // namespace

const char* phaseName(Phase phase) {
    switch (phase) {
        case Phase::Other: return "other";
        case Phase::Attention: return "attention";
        case Phase::Dispatch: return "dispatch";
        case Phase::RoutedExperts: return "routed experts";
        case Phase::Mlp: return "mlp";
        case Phase::Optimizer: return "optimizer";
    }
    return "?";
}

PhaseTimer::PhaseTimer(std::function<void()> waitForDevice) : waitForDevice_(std::move(waitForDevice)) {}

void PhaseTimer::start() {
    waitForDevice_();
    current_ = Phase::Other;
    since_ = std::chrono::steady_clock::now();
    running_ = true;
}

void PhaseTimer::switchTo(Phase phase) {
    if (!running_) return;
    waitForDevice_();
    const auto now = std::chrono::steady_clock::now();
    seconds_[static_cast<size_t>(current_)] += std::chrono::duration<double>(now - since_).count();
    since_ = now;
    current_ = phase;
}

void PhaseTimer::stop() {
    switchTo(Phase::Other);
    running_ = false;
}

torch::Tensor markPhase(PhaseTimer* timer, const torch::Tensor& x, Phase before, Phase after) {
    if (!timer || !x.defined()) return x;
    return PhaseMark::apply(x, reinterpret_cast<int64_t>(timer), static_cast<int64_t>(before), static_cast<int64_t>(after));
}

}  // namespace hy3

#include "train/pipeline_schedule.h"

#include <algorithm>

namespace hy3 {

namespace {

using Kind = PipeMessage::Kind;

class ScheduleBuilder {
public:
    ScheduleBuilder(int stages, int stage) : first_(stage == 0), last_(stage == stages - 1) {}

    void forward(int i) { actions_.push_back({PipelineAction::Kind::Forward, i, {}}); }
    void backward(int i) { actions_.push_back({PipelineAction::Kind::Backward, i, {}}); }
    // One group of the messages that apply to this stage (the first stage receives no activation,
    // the last sends none); nothing when none applies.
    void exchange(std::vector<PipeMessage> messages) {
        messages.erase(std::remove_if(messages.begin(), messages.end(), [&](const PipeMessage& m) { return !applies(m); }),
                       messages.end());
        if (!messages.empty()) actions_.push_back({PipelineAction::Kind::Exchange, -1, std::move(messages)});
    }
    std::vector<PipelineAction> take() { return std::move(actions_); }

private:
    bool applies(const PipeMessage& m) const { return m.towardNextStage() ? !last_ : !first_; }

    bool first_, last_;
    std::vector<PipelineAction> actions_;
};

}  // namespace

std::vector<PipelineAction> oneForwardOneBackward(int stages, int stage, int microBatches) {
    ScheduleBuilder b(stages, stage);
    const int M = microBatches;
    const int ahead = std::min(stages - stage - 1, M);
    for (int i = 0; i < ahead; ++i) {
        b.exchange({{Kind::ReceiveActivation, i}});
        b.forward(i);
        b.exchange({{Kind::SendActivation, i}});
    }
    // Steady state: forward j, backward k. The activation j goes out with the wait for gradient k,
    // and gradient k goes back with the wait for activation j + 1: the pairs the neighbours post
    // at the same point of their own schedules.
    for (int k = 0; k + ahead < M; ++k) {
        const int j = k + ahead;
        if (k == 0) b.exchange({{Kind::ReceiveActivation, j}});
        b.forward(j);
        b.exchange({{Kind::SendActivation, j}, {Kind::ReceiveGradient, k}});
        b.backward(k);
        if (j + 1 < M) b.exchange({{Kind::SendGradient, k}, {Kind::ReceiveActivation, j + 1}});
        else b.exchange({{Kind::SendGradient, k}});
    }
    for (int k = M - ahead; k < M; ++k) {
        b.exchange({{Kind::ReceiveGradient, k}});
        b.backward(k);
        b.exchange({{Kind::SendGradient, k}});
    }
    return b.take();
}

std::vector<PipelineAction> forwardOnly(int stages, int stage, int microBatches) {
    ScheduleBuilder b(stages, stage);
    for (int i = 0; i < microBatches; ++i) {
        b.exchange({{Kind::ReceiveActivation, i}});
        b.forward(i);
        b.exchange({{Kind::SendActivation, i}});
    }
    return b.take();
}

}  // namespace hy3

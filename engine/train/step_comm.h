#pragma once
// What a training step needs from the other ranks of a distributed job. The base class is the
// single-process case (nothing to exchange); engine/dist implements it over c10d groups. Keeping
// the step's algorithm here, and the transport there, lets one code path run one process and 64.
#include "train/gradients.h"
#include "train/pipeline_schedule.h"

#include <torch/torch.h>

#include <vector>

namespace hy3 {

// How one step's gradient sum went on this rank.
struct GradientSumStats {
    int buckets = 0;       // all-reduces of gradient buckets
    int startedEarly = 0;  // of them, started while the last backward still ran
};

class StepComm {
public:
    virtual ~StepComm() = default;

    // Pipeline position and neighbours. Activations go to the next stage, their gradients back.
    virtual bool firstStage() const { return true; }
    virtual bool lastStage() const { return true; }
    virtual int stages() const { return 1; }
    virtual int stage() const { return 0; }
    // Posts one group of pipeline messages (train/pipeline_schedule.h) and waits for its receives,
    // which fill their tensors; sends may still be in flight until finishSends().
    struct Transfer {
        PipeMessage message;
        torch::Tensor tensor;  // what a send sends; the buffer a receive fills
    };
    virtual void exchange(std::vector<Transfer>&) {}
    virtual void finishSends() {}

    // Sums over the data-parallel replicas of this stage (label tokens, token counts).
    virtual void sumOverReplicas(std::vector<double>&) {}
    // Sums over every rank (loss pieces, squared gradient norms of owned parameters).
    virtual void sumOverWorld(std::vector<double>&) {}
    // Called before the step's last backward: from then on, gradients may start their sum over
    // the replicas as soon as the backward completes them.
    virtual void beforeLastBackward(GradientBuffers&) {}
    // Sums gradients over the ranks holding the same parameters: every replica of the stage for
    // replicated tensors, the expert-data-parallel group for routed experts.
    virtual GradientSumStats sumGradients(GradientBuffers&) { return {}; }
    // Router load of this stage's MoE layers, summed over the replicas that share the router.
    virtual void sumLoads(std::vector<torch::Tensor>&) {}
    // Which parameters this rank updates and keeps optimizer state for (ZeRO-1): all here.
    virtual std::vector<size_t> ownedParameters(const GradientBuffers& g) {
        std::vector<size_t> all(g.size());
        for (size_t i = 0; i < all.size(); ++i) all[i] = i;
        return all;
    }
    // After the owners updated their parameters, every rank gets the new values.
    virtual void shareUpdatedParameters(const GradientBuffers&) {}
    // Per MoE layer of the whole model (every stage): [layers x experts] counts and biases, so
    // rank 0 can report them. `layers` are this rank's; returns rows for every MoE layer of the model.
    virtual void gatherRouterState(std::vector<std::vector<double>>& /*rowsForEveryMoeLayer*/) {}
};

}  // namespace hy3

#pragma once
// The distributed side of a training step: StepComm over the mesh's process groups (pipeline
// send/receive, data-parallel and expert-data-parallel gradient sums (overlapped with the backward), ZeRO-1 ownership and
// parameter sharing, router load sums) and ExpertExchange over the expert-parallel group.
#include "dist/distributed.h"
#include "dist/gradient_sync.h"
#include "model/expert_exchange.h"
#include "train/step_comm.h"

#include <memory>

namespace hy3 {

class DistStepComm : public StepComm {
public:
    explicit DistStepComm(Distributed& dist);

    bool firstStage() const override { return dist_.firstStage(); }
    bool lastStage() const override { return dist_.lastStage(); }
    int stages() const override { return static_cast<int>(dist_.mesh().layout().pp); }
    int stage() const override { return dist_.position().stage; }
    void exchange(std::vector<Transfer>& transfers) override;
    void finishSends() override;

    void sumOverReplicas(std::vector<double>& values) override;
    void sumOverWorld(std::vector<double>& values) override;
    void beforeLastBackward(GradientBuffers& gradients) override;
    GradientSumStats sumGradients(GradientBuffers& gradients) override;
    void sumLoads(std::vector<torch::Tensor>& loads) override;
    std::vector<size_t> ownedParameters(const GradientBuffers& gradients) override;
    void shareUpdatedParameters(const GradientBuffers& gradients) override;
    void gatherRouterState(std::vector<std::vector<double>>& rows) override;

private:
    // Which rank of its replica group updates each parameter (routed experts: expert-data group).
    void assignOwners(const GradientBuffers& gradients);

    // The overlapped gradient sum, made for the first GradientBuffers it sees.
    GradientSync& syncFor(GradientBuffers& gradients);

    Distributed& dist_;
    std::unique_ptr<GradientSync> sync_;
    std::vector<int> owner_;  // per parameter, the owning rank within its replica group
};

// Routed token-slots to and from the ranks holding their experts.
std::shared_ptr<ExpertExchange> makeExpertExchange(Distributed& dist);

// Sums a few numbers over a group (used outside steps too: checkpoint sizes, bench figures).
void sumOver(Comm& comm, std::vector<double>& values);

}  // namespace hy3

#pragma once
// One pipeline stage's part of a 1F1B training step: when each micro-batch runs forward and
// backward, and which messages to a neighbouring stage are posted together.
//
// Why messages are grouped: NCCL matches a pair of ranks' point-to-point operations in the order
// they are posted and may hold a large send until its receive is posted. In 1F1B's steady state a
// stage sends an activation and then waits for a gradient while the next stage sends that gradient
// and then waits for the activation; posted one by one, both sends can wait forever. Posted as one
// group (as Megatron's send_forward_recv_backward and PyTorch's batch_isend_irecv do), both sides
// progress. Every group here is answered by exactly one group of its neighbour, message for
// message (tst_dist_plan checks this for many shapes, under a matching rule that never buffers).
#include <vector>

namespace hy3 {

struct PipeMessage {
    enum class Kind { SendActivation, ReceiveActivation, SendGradient, ReceiveGradient };
    Kind kind;
    int microBatch;
    // Activations go to the next stage and come from the previous one; gradients the reverse.
    bool towardNextStage() const { return kind == Kind::SendActivation || kind == Kind::ReceiveGradient; }
    bool isSend() const { return kind == Kind::SendActivation || kind == Kind::SendGradient; }
};

struct PipelineAction {
    enum class Kind { Forward, Backward, Exchange };
    Kind kind;
    int microBatch = -1;                // Forward and Backward
    std::vector<PipeMessage> messages;  // Exchange: posted as one group, all with one neighbour
};

// The actions of `stage` (0-based) of `stages` for `microBatches` micro-batches: (stages - stage - 1)
// forwards ahead, then one forward and one backward in turn, then the remaining backwards.
std::vector<PipelineAction> oneForwardOneBackward(int stages, int stage, int microBatches);

// Forward only (evaluation): receive, forward, send, for each micro-batch in turn.
std::vector<PipelineAction> forwardOnly(int stages, int stage, int microBatches);

}  // namespace hy3

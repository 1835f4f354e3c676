#pragma once
// Sums a step's gradients over the replicas while its last backward still runs, as PyTorch's
// DistributedDataParallel does (torch/csrc/distributed/c10d/reducer.cpp): the parameters fall into
// buckets in reverse order (the backward reaches the last layers first), a hook after each
// parameter's gradient accumulation marks it ready, and a bucket whose parameters are all ready
// starts its all-reduce at once, without waiting. A collective must start in the same order on
// every rank, so bucket k starts only after buckets 0..k-1 of its group. Buckets the backward did
// not complete (one of their parameters got no gradient in the last micro-batch) start after it.
//
// Large gradients are summed in place, one bucket each; small ones are packed into a flat buffer
// per bucket, so the extra memory is bounded by the small tensors, not the model.
#include "dist/comm.h"
#include "train/gradients.h"
#include "train/step_comm.h"

#include <functional>
#include <memory>
#include <vector>

namespace hy3 {

class GradientSync {
public:
    // `replicas` sums replicated tensors, `expertReplicas` routed experts' (the same ranks when ep=1,
    // but a group of its own). Registers the hooks; they do nothing until arm().
    GradientSync(GradientBuffers& gradients, Comm& replicas, Comm& expertReplicas);
    ~GradientSync();
    GradientSync(const GradientSync&) = delete;
    GradientSync& operator=(const GradientSync&) = delete;

    const GradientBuffers& gradients() const { return gradients_; }

    // The next backward is the step's last: buckets start as they become ready.
    void arm();
    // After the last backward: starts the buckets it left, waits for every sum and puts packed
    // buckets back into the gradients.
    GradientSumStats finish();

private:
    struct Bucket {
        int group = 0;  // 0: replicas, 1: expert replicas
        std::vector<size_t> params;
        size_t ready = 0;
        torch::Tensor buffer;        // the packed gradients, or the one gradient summed in place
        std::function<void()> wait;  // set once started
    };
    struct Control;
    static constexpr size_t kNone = static_cast<size_t>(-1);

    void buildBuckets(int group);
    void onGradientReady(size_t param);
    void startInOrder(int group);
    void start(Bucket& bucket);
    Comm& comm(int group) { return group == 0 ? replicas_ : expertReplicas_; }

    GradientBuffers& gradients_;
    Comm& replicas_;
    Comm& expertReplicas_;
    std::vector<Bucket> buckets_;                  // both groups'
    std::vector<size_t> bucketOf_;                 // per parameter (kNone: its group is this rank alone)
    std::vector<std::vector<size_t>> groupOrder_;  // per group, its buckets in the order they start
    std::vector<size_t> nextToStart_;              // per group, a position in groupOrder_
    bool armed_ = false;
    int startedDuringBackward_ = 0;
    std::shared_ptr<Control> control_;              // what the hooks see; cleared on destruction
    std::vector<std::shared_ptr<void>> keepAlive_;  // the parameters' gradient accumulators
};

}  // namespace hy3

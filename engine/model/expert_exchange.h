#pragma once
// How routed token-slots reach the ranks that hold their experts (expert parallelism). The model
// stays single-device code: it hands this interface its slots sorted by expert, with each
// expert's count, and a function that runs its own experts; it gets the experts' outputs back in
// the order it gave. Which rank a slot travels to, and in what order rows arrive, is engine/dist's
// business (all-to-all over the expert-parallel group, differentiable both ways).
#include <torch/torch.h>

#include <functional>
#include <vector>

namespace hy3 {

// Runs this rank's experts on rows sorted by local expert: xs [N, H], ws [N], counts [localExperts].
using LocalExpertsFn = std::function<torch::Tensor(const torch::Tensor& xs, const torch::Tensor& ws, const torch::Tensor& counts)>;

class ExpertExchange {
public:
    virtual ~ExpertExchange() = default;
    virtual int64_t ranks() const = 0;  // size of the expert-parallel group

    // `xs` [N, H] and `ws` [N]: this rank's token-slots sorted by (model-wide) expert, `perExpert`
    // slots for each of the model's experts. Every rank of the group calls this together; each
    // runs `experts` on the slots of its experts. Returns the outputs of this rank's slots, in the
    // order of `xs`.
    virtual torch::Tensor run(const torch::Tensor& xs, const torch::Tensor& ws, const std::vector<int64_t>& perExpert,
                              const LocalExpertsFn& experts) = 0;
};

}  // namespace hy3

#pragma once
// How routed token-slots reach the ranks that hold their experts (expert parallelism). The model
// stays single-device code: it hands its slots, sorted by expert, to this interface and gets the
// expert outputs back in the same order. engine/dist implements it with all-to-all over the
// expert-parallel group; both directions are differentiable.
#include <torch/torch.h>

#include <vector>

namespace hy3 {

class ExpertExchange {
public:
    virtual ~ExpertExchange() = default;
    virtual int64_t ranks() const = 0;  // size of the expert-parallel group
    virtual int64_t rank() const = 0;   // this rank's place in it

    // Every rank sends, for each rank r, the slot counts of r's experts ([ranks x localExperts],
    // flattened); returns what every rank sent this one, in the same shape (source-major).
    virtual std::vector<int64_t> exchangeCounts(const std::vector<int64_t>& counts) = 0;
    // Sends sendSplits[r] rows to rank r and receives recvSplits[r] rows from it (differentiable:
    // the gradient travels back the same way).
    virtual torch::Tensor exchange(const torch::Tensor& rows, const std::vector<int64_t>& sendSplits,
                                   const std::vector<int64_t>& recvSplits) = 0;
};

}  // namespace hy3

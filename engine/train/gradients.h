#pragma once
// The gradients of one optimizer step, accumulated over its micro-batches: fp32 parameters keep
// them in .grad; other dtypes (bf16) get an fp32 accumulator each, so summing micro-batches and
// ranks loses nothing to rounding.
#include <torch/torch.h>

#include <string>
#include <vector>

namespace hy3 {

class GradientBuffers {
public:
    // `params`: every trainable tensor by name (requires_grad set).
    explicit GradientBuffers(std::vector<std::pair<std::string, torch::Tensor>> params);

    size_t size() const { return params_.size(); }
    const std::string& name(size_t i) const { return params_[i].name; }
    const torch::Tensor& parameter(size_t i) const { return params_[i].param; }
    // The accumulated gradient of parameter i (fp32), or an undefined tensor when it got none.
    torch::Tensor gradient(size_t i) const;
    // Gives parameter i a zero gradient if it got none (every rank must send the same tensors).
    torch::Tensor gradientOrZeros(size_t i);

    // After each micro-batch's backward: moves .grad of non-fp32 parameters into their accumulators.
    void accumulate();
    // The same for parameter i alone (as soon as its gradient of this backward is complete).
    void accumulate(size_t i);
    void zero();

private:
    struct Entry {
        std::string name;
        torch::Tensor param;
        torch::Tensor accumulator;  // fp32, for non-fp32 parameters
    };
    std::vector<Entry> params_;
};

}  // namespace hy3

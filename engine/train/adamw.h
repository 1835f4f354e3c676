#pragma once
// AdamW with decoupled weight decay, the same update as torch::optim::AdamW (on the CPU in one fused
// pass per tensor, equal to torch's to float rounding; on other devices PyTorch's fused kernel,
// at::_fused_adamw_, one launch per parameter group), with fp32 master
// weights and fp32 moments when the parameters are bf16. No weight decay on norms, biases and
// other one-dimensional tensors. Under data parallelism (ZeRO-1) each rank's AdamW holds the
// state of only the parameters it owns; the owners then share the updated values.
#include "train/gradients.h"

#include <torch/torch.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hy3 {

enum class AdamWKernel {
    CpuLoop,  // our vectorised pass per tensor over LibTorch's threads (CPU fp32)
    Fused,    // at::_fused_adamw_ over each group's tensor lists (any device; CUDA's multi-tensor kernel)
};

struct AdamWOptions {
    double beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weightDecay = 0.0;
    std::optional<AdamWKernel> kernel;  // unset: CpuLoop when every tensor is CPU fp32, else Fused
};

// Elements per thread task of the fused optimizer passes.
constexpr int64_t kElementsPerTask = 1 << 15;

// The sum of squares of the tensors' elements (a gradient norm's part) as a double scalar tensor on
// their device, without waiting for it: CPU fp32 in fixed chunks (the same sum whatever the thread
// count), elsewhere by torch::_foreach_norm. Empty list: a zero on the CPU.
torch::Tensor sumOfSquares(const std::vector<torch::Tensor>& tensors);

class AdamW {
public:
    // Updates every parameter of `gradients`, or only those whose index is in `owned`.
    AdamW(const GradientBuffers& gradients, AdamWOptions options);
    AdamW(const GradientBuffers& gradients, AdamWOptions options, const std::vector<size_t>& owned);

    // One update with learning rate `lr` from the accumulated gradients times `gradScale` (the
    // clipping factor, applied on the fly: the gradients stay as they are).
    void step(double lr, const GradientBuffers& gradients, double gradScale = 1.0);

    int64_t stepCount() const { return steps_; }
    AdamWKernel kernel() const { return kernel_; }
    // Optimizer state as named tensors ("exp_avg.<param>", "exp_avg_sq.<param>", "master.<param>")
    // and back. load() refuses a state whose names or shapes do not match.
    std::vector<std::pair<std::string, torch::Tensor>> state() const;
    void load(const std::map<std::string, torch::Tensor>& state, int64_t steps);

    static bool decays(const std::string& name, const torch::Tensor& p);

private:
    struct Param {
        size_t index;             // in the GradientBuffers
        std::string name;
        torch::Tensor param;      // the model's tensor
        torch::Tensor master;     // fp32 copy when the model's tensor is not fp32
        // What the update writes: the master copy when there is one, else the model's tensor.
        const torch::Tensor& weights() const { return master.defined() ? master : param; }
        torch::Tensor expAvg, expAvgSq;
        torch::Tensor stepTensor;  // the fused kernel's step count (fp32 scalar on the device)
        bool decay = true;
    };
    void stepCpuLoop(double lr, const GradientBuffers& gradients, double gradScale);
    void stepFused(double lr, const GradientBuffers& gradients, double gradScale);

    std::vector<Param> params_;
    AdamWOptions options_;
    AdamWKernel kernel_ = AdamWKernel::CpuLoop;
    int64_t steps_ = 0;
};

}  // namespace hy3

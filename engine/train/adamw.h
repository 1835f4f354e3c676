#pragma once
// AdamW with decoupled weight decay, the same update as torch::optim::AdamW, with fp32 master
// weights and fp32 gradient accumulation when the parameters are bf16. Parameters are grouped by
// name: no weight decay on norms and biases (one-dimensional tensors).
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace hy3 {

struct AdamWOptions {
    double beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weightDecay = 0.0;
};

class AdamW {
public:
    // `params`: the trainable tensors by name (requires_grad set).
    AdamW(std::vector<std::pair<std::string, torch::Tensor>> params, AdamWOptions options);

    // After each micro-batch's backward: with bf16 parameters, moves .grad into the fp32
    // accumulators (no-op for fp32 parameters, whose .grad accumulates itself).
    void accumulateGradients();
    // The global L2 norm of the accumulated gradients (fp32); NaN or inf when one is not finite.
    double gradientNorm();
    // Multiplies every accumulated gradient by `factor` (clipping).
    void scaleGradients(double factor);
    // One update with learning rate `lr`, then clears the gradients.
    void step(double lr);
    // Drops the accumulated gradients without updating (a skipped step).
    void zeroGradients();

    int64_t stepCount() const { return steps_; }
    // Optimizer state as named tensors ("exp_avg.<param>", "exp_avg_sq.<param>", "master.<param>")
    // and back. load() refuses a state whose names or shapes do not match.
    std::vector<std::pair<std::string, torch::Tensor>> state() const;
    void load(const std::map<std::string, torch::Tensor>& state, int64_t steps);

    static bool decays(const std::string& name, const torch::Tensor& p);

private:
    struct Param {
        std::string name;
        torch::Tensor param;      // the model's tensor
        torch::Tensor master;     // fp32 copy when the model's tensor is not fp32
        torch::Tensor grad;       // fp32 accumulator when the model's tensor is not fp32
        torch::Tensor expAvg, expAvgSq;
        bool decay = true;
    };
    torch::Tensor gradOf(const Param& p) const;
    std::vector<Param> params_;
    AdamWOptions options_;
    int64_t steps_ = 0;
};

}  // namespace hy3

#include "train/adamw.h"

#include "model/kernels/cpu_kernels.h"
#include "util/error.h"

#include <ATen/Parallel.h>

#include <algorithm>

#include <cmath>

namespace hy3 {

bool AdamW::decays(const std::string& name, const torch::Tensor& p) {
    return p.dim() > 1 && name.find("bias") == std::string::npos && name.find("norm") == std::string::npos;
}

namespace {
bool flatCpuFloat(const torch::Tensor& t) { return t.device().is_cpu() && t.scalar_type() == torch::kFloat && t.is_contiguous(); }

std::vector<size_t> everyIndex(size_t n) {
    std::vector<size_t> all(n);
    for (size_t i = 0; i < n; ++i) all[i] = i;
    return all;
}
}  // namespace

AdamW::AdamW(const GradientBuffers& gradients, AdamWOptions options) : AdamW(gradients, options, everyIndex(gradients.size())) {}

AdamW::AdamW(const GradientBuffers& gradients, AdamWOptions options, const std::vector<size_t>& owned) : options_(options) {
    torch::NoGradGuard noGrad;
    for (size_t i : owned) {
        const torch::Tensor& tensor = gradients.parameter(i);
        Param p;
        p.index = i;
        p.name = gradients.name(i);
        p.param = tensor;
        p.decay = decays(p.name, tensor);
        const auto fp32 = tensor.options().dtype(torch::kFloat);
        if (tensor.scalar_type() != torch::kFloat) p.master = tensor.detach().to(torch::kFloat).clone();
        p.expAvg = torch::zeros(tensor.sizes(), fp32);
        p.expAvgSq = torch::zeros(tensor.sizes(), fp32);
        p.stepTensor = torch::zeros({}, fp32);
        params_.push_back(std::move(p));
    }
    bool cpuFloat = true;
    for (const Param& p : params_) cpuFloat = cpuFloat && flatCpuFloat(p.weights());
    kernel_ = options.kernel.value_or(cpuFloat ? AdamWKernel::CpuLoop : AdamWKernel::Fused);
}

void AdamW::step(double lr, const GradientBuffers& gradients, double gradScale) {
    torch::NoGradGuard noGrad;
    ++steps_;
    if (kernel_ == AdamWKernel::CpuLoop) return stepCpuLoop(lr, gradients, gradScale);
    stepFused(lr, gradients, gradScale);
}

void AdamW::stepCpuLoop(double lr, const GradientBuffers& gradients, double gradScale) {
    const double b1 = options_.beta1, b2 = options_.beta2;
    const double correction1 = 1.0 - std::pow(b1, static_cast<double>(steps_));
    const double correction2 = 1.0 - std::pow(b2, static_cast<double>(steps_));
    for (Param& p : params_) {
        const torch::Tensor accumulated = gradients.gradient(p.index);
        if (!accumulated.defined()) continue;
        const torch::Tensor& weights = p.weights();
        const double decay = p.decay && options_.weightDecay != 0 ? 1.0 - lr * options_.weightDecay : 1.0;
        // One pass over the four buffers, split over LibTorch's threads.
        const kernels::AdamWScalars scalars{static_cast<float>(gradScale), static_cast<float>(b1), static_cast<float>(b2),
                                            static_cast<float>(decay), static_cast<float>(-lr / correction1),
                                            static_cast<float>(std::sqrt(correction2)), static_cast<float>(options_.eps)};
        float* w = weights.data_ptr<float>();
        float* m = p.expAvg.data_ptr<float>();
        float* v = p.expAvgSq.data_ptr<float>();
        const torch::Tensor g = accumulated.contiguous();
        const float* gp = g.data_ptr<float>();
        at::parallel_for(0, weights.numel(), kElementsPerTask, [&](int64_t begin, int64_t end) {
            kernels::kernels().adamwUpdate(w, m, v, gp, begin, end, scalars);
        });
        if (p.master.defined()) p.param.copy_(p.master);
    }
}

void AdamW::stepFused(double lr, const GradientBuffers& gradients, double gradScale) {
    // One call per (device, decay) group: the kernel takes one weight decay for its whole list.
    struct Group {
        std::vector<torch::Tensor> weights, grads, expAvgs, expAvgSqs, steps;
    };
    std::map<std::pair<std::string, bool>, Group> groups;
    std::vector<Param*> withMaster;
    for (Param& p : params_) {
        const torch::Tensor accumulated = gradients.gradient(p.index);
        if (!accumulated.defined()) continue;
        const torch::Tensor& weights = p.weights();
        Group& g = groups[{weights.device().str(), p.decay}];
        g.weights.push_back(weights);
        g.grads.push_back(accumulated);
        g.expAvgs.push_back(p.expAvg);
        g.expAvgSqs.push_back(p.expAvgSq);
        g.steps.push_back(p.stepTensor);
        if (p.master.defined()) withMaster.push_back(&p);
    }
    for (auto& [key, g] : groups) {
        torch::_foreach_add_(g.steps, 1);  // as torch.optim does before the fused call; the kernel reads them
        const double decay = key.second ? options_.weightDecay : 0.0;
        // The kernel divides each gradient by grad_scale (AMP's unscale); clipping multiplies.
        std::optional<torch::Tensor> scale;
        if (gradScale != 1.0) scale = torch::full({}, 1.0 / gradScale, g.weights.front().options().dtype(torch::kFloat));
        at::_fused_adamw_(g.weights, g.grads, g.expAvgs, g.expAvgSqs, {}, g.steps, lr, options_.beta1, options_.beta2, decay,
                          options_.eps, /*amsgrad=*/false, /*maximize=*/false, scale);
    }
    for (Param* p : withMaster) p->param.copy_(p->master);
}

torch::Tensor sumOfSquares(const std::vector<torch::Tensor>& tensors) {
    torch::NoGradGuard noGrad;
    if (tensors.empty()) return torch::zeros({}, torch::kDouble);
    bool cpuFloat = true;
    for (const torch::Tensor& t : tensors) cpuFloat = cpuFloat && flatCpuFloat(t);
    if (!cpuFloat) {
        const torch::Tensor norms = torch::stack(torch::_foreach_norm(tensors, 2, torch::kFloat)).to(torch::kDouble);
        return norms.pow(2).sum();
    }
    double sum = 0.0;
    for (const torch::Tensor& t : tensors) {
        const float* x = t.data_ptr<float>();
        // Fixed chunks summed in order: the same sum whatever the thread count.
        const int64_t n = t.numel(), chunks = (n + kElementsPerTask - 1) / kElementsPerTask;
        std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
        at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
            for (int64_t c = begin; c < end; ++c)
                partial[static_cast<size_t>(c)] =
                    kernels::kernels().sumOfSquares(x, c * kElementsPerTask, std::min(n, (c + 1) * kElementsPerTask));
        });
        for (double p : partial) sum += p;
    }
    return torch::full({}, sum, torch::kDouble);
}

std::vector<std::pair<std::string, torch::Tensor>> AdamW::state() const {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const Param& p : params_) {
        out.emplace_back("exp_avg." + p.name, p.expAvg);
        out.emplace_back("exp_avg_sq." + p.name, p.expAvgSq);
        if (p.master.defined()) out.emplace_back("master." + p.name, p.master);
    }
    return out;
}

void AdamW::load(const std::map<std::string, torch::Tensor>& state, int64_t steps) {
    torch::NoGradGuard noGrad;
    auto take = [&](const std::string& key, torch::Tensor& into) {
        auto it = state.find(key);
        if (it == state.end()) fail("optimizer state", "has no " + key);
        if (it->second.sizes() != into.sizes()) fail("optimizer state", key + " has another shape than the model's parameter");
        into.copy_(it->second);
    };
    for (Param& p : params_) {
        take("exp_avg." + p.name, p.expAvg);
        take("exp_avg_sq." + p.name, p.expAvgSq);
        if (p.master.defined()) {
            take("master." + p.name, p.master);
            p.param.copy_(p.master);
        }
    }
    for (Param& p : params_) p.stepTensor.fill_(static_cast<double>(steps));
    steps_ = steps;
}

}  // namespace hy3

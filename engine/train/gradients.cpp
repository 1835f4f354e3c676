#include "train/gradients.h"

namespace hy3 {

GradientBuffers::GradientBuffers(std::vector<std::pair<std::string, torch::Tensor>> params) {
    for (auto& [name, tensor] : params) {
        Entry e{name, tensor, torch::Tensor()};
        if (tensor.scalar_type() != torch::kFloat) e.accumulator = torch::zeros(tensor.sizes(), tensor.options().dtype(torch::kFloat));
        params_.push_back(std::move(e));
    }
}

torch::Tensor GradientBuffers::gradient(size_t i) const {
    const Entry& e = params_[i];
    return e.accumulator.defined() ? e.accumulator : e.param.grad();
}

torch::Tensor GradientBuffers::gradientOrZeros(size_t i) {
    Entry& e = params_[i];
    if (e.accumulator.defined()) return e.accumulator;
    if (!e.param.grad().defined()) e.param.mutable_grad() = torch::zeros_like(e.param);
    return e.param.grad();
}

void GradientBuffers::accumulate() {
    for (size_t i = 0; i < params_.size(); ++i) accumulate(i);
}

void GradientBuffers::accumulate(size_t i) {
    Entry& e = params_[i];
    if (!e.accumulator.defined() || !e.param.grad().defined()) return;
    torch::NoGradGuard noGrad;
    e.accumulator.add_(e.param.grad().to(torch::kFloat));
    e.param.mutable_grad() = torch::Tensor();
}

void GradientBuffers::zero() {
    torch::NoGradGuard noGrad;
    for (Entry& e : params_) {
        e.param.mutable_grad() = torch::Tensor();
        if (e.accumulator.defined()) e.accumulator.zero_();
    }
}

}  // namespace hy3

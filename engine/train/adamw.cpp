#include "train/adamw.h"

#include "util/error.h"

#include <cmath>

namespace hy3 {

bool AdamW::decays(const std::string& name, const torch::Tensor& p) {
    return p.dim() > 1 && name.find("bias") == std::string::npos && name.find("norm") == std::string::npos;
}

AdamW::AdamW(std::vector<std::pair<std::string, torch::Tensor>> params, AdamWOptions options) : options_(options) {
    torch::NoGradGuard noGrad;
    for (auto& [name, tensor] : params) {
        Param p;
        p.name = name;
        p.param = tensor;
        p.decay = decays(name, tensor);
        const auto fp32 = tensor.options().dtype(torch::kFloat);
        if (tensor.scalar_type() != torch::kFloat) {
            p.master = tensor.detach().to(torch::kFloat).clone();
            p.grad = torch::zeros(tensor.sizes(), fp32);
        }
        p.expAvg = torch::zeros(tensor.sizes(), fp32);
        p.expAvgSq = torch::zeros(tensor.sizes(), fp32);
        params_.push_back(std::move(p));
    }
}

torch::Tensor AdamW::gradOf(const Param& p) const { return p.master.defined() ? p.grad : p.param.grad(); }

void AdamW::accumulateGradients() {
    torch::NoGradGuard noGrad;
    for (Param& p : params_) {
        if (!p.master.defined() || !p.param.grad().defined()) continue;
        p.grad.add_(p.param.grad().to(torch::kFloat));
        p.param.mutable_grad() = torch::Tensor();
    }
}

double AdamW::gradientNorm() {
    torch::NoGradGuard noGrad;
    double sq = 0;
    for (const Param& p : params_) {
        const torch::Tensor g = gradOf(p);
        if (g.defined()) sq += g.to(torch::kDouble).pow(2).sum().item<double>();
    }
    return std::sqrt(sq);
}

void AdamW::scaleGradients(double factor) {
    torch::NoGradGuard noGrad;
    for (Param& p : params_) {
        torch::Tensor g = gradOf(p);
        if (g.defined()) g.mul_(factor);
    }
}

void AdamW::zeroGradients() {
    torch::NoGradGuard noGrad;
    for (Param& p : params_) {
        p.param.mutable_grad() = torch::Tensor();
        if (p.grad.defined()) p.grad.zero_();
    }
}

void AdamW::step(double lr) {
    torch::NoGradGuard noGrad;
    ++steps_;
    const double b1 = options_.beta1, b2 = options_.beta2;
    const double correction1 = 1.0 - std::pow(b1, static_cast<double>(steps_));
    const double correction2 = 1.0 - std::pow(b2, static_cast<double>(steps_));
    for (Param& p : params_) {
        const torch::Tensor grad = gradOf(p);
        if (!grad.defined()) continue;
        torch::Tensor weights = p.master.defined() ? p.master : p.param;
        // The operation order of torch::optim::AdamW, so the two agree to the last bit.
        if (p.decay && options_.weightDecay != 0) weights.mul_(1.0 - lr * options_.weightDecay);
        p.expAvg.mul_(b1).add_(grad, 1.0 - b1);
        p.expAvgSq.mul_(b2).addcmul_(grad, grad, 1.0 - b2);
        const torch::Tensor denom = (p.expAvgSq.sqrt() / std::sqrt(correction2)).add_(options_.eps);
        weights.addcdiv_(p.expAvg, denom, -lr / correction1);
        if (p.master.defined()) p.param.copy_(p.master);
    }
    zeroGradients();
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
        if (p.master.defined()) take("master." + p.name, p.master);
    }
    steps_ = steps;
}

}  // namespace hy3

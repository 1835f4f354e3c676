#include "model/ops.h"

#include "model/kernels/cpu_kernels.h"

#include <ATen/Parallel.h>

#include <atomic>

namespace hy3::ops {
namespace {

std::atomic<bool> gFusedCpu{true};

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// ----- RMSNorm -----------------------------------------------------------------------------------

struct RmsNormFunction : torch::autograd::Function<RmsNormFunction> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& xIn, const torch::Tensor& weight, double eps) {
        const torch::Tensor x = xIn.contiguous();
        const int64_t dim = x.size(-1), rows = x.numel() / std::max<int64_t>(dim, 1);
        torch::Tensor y, rstd;
        if (useFusedCpu(x) && weight.scalar_type() == torch::kFloat) {
            y = torch::empty_like(x);
            rstd = torch::empty({rows}, x.options());
            const torch::Tensor w = weight.contiguous();
            at::parallel_for(0, rows, 64, [&](int64_t begin, int64_t end) {
                kernels::kernels().rmsNormForward(x.data_ptr<float>(), w.data_ptr<float>(), y.data_ptr<float>(),
                                                  rstd.data_ptr<float>(), begin, end, dim, static_cast<float>(eps));
            });
        } else {
            const torch::Tensor xf = x.to(torch::kFloat);
            rstd = torch::rsqrt(xf.pow(2).mean(-1) + eps).reshape({rows});
            y = (weight.to(torch::kFloat) * (xf * rstd.reshape(x.sizes().slice(0, x.dim() - 1)).unsqueeze(-1)))
                    .to(x.scalar_type());
        }
        ctx->save_for_backward({x, weight, rstd});
        return y;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &x = saved[0], &weight = saved[1], &rstd = saved[2];
        const torch::Tensor dy = grads[0].contiguous();
        const int64_t dim = x.size(-1), rows = x.numel() / std::max<int64_t>(dim, 1);
        torch::Tensor dx, dw;
        if (useFusedCpu(x) && weight.scalar_type() == torch::kFloat && dy.scalar_type() == torch::kFloat) {
            dx = torch::empty_like(x);
            // One dw partial per thread's row range, summed after.
            const int64_t threads = at::get_num_threads();
            const int64_t chunk = (rows + threads - 1) / threads;
            torch::Tensor partial = torch::zeros({threads, dim}, x.options());
            const torch::Tensor w = weight.contiguous();
            at::parallel_for(0, threads, 1, [&](int64_t tb, int64_t te) {
                for (int64_t t = tb; t < te; ++t)
                    kernels::kernels().rmsNormBackward(x.data_ptr<float>(), w.data_ptr<float>(), dy.data_ptr<float>(),
                                                       rstd.data_ptr<float>(), dx.data_ptr<float>(),
                                                       partial.data_ptr<float>() + t * dim, std::min(rows, t * chunk),
                                                       std::min(rows, (t + 1) * chunk), dim);
            });
            dw = partial.sum(0);
        } else {
            const torch::Tensor xf = x.reshape({rows, dim}).to(torch::kFloat);
            const torch::Tensor g = dy.reshape({rows, dim}).to(torch::kFloat);
            const torch::Tensor r = rstd.unsqueeze(1);
            const torch::Tensor xhat = xf * r;
            const torch::Tensor gw = g * weight.to(torch::kFloat);
            const torch::Tensor mean = (gw * xhat).mean(1, true);
            dx = (r * (gw - xhat * mean)).reshape(x.sizes()).to(x.scalar_type());
            dw = (g * xhat).sum(0).to(weight.scalar_type());
        }
        return {dx, dw, torch::Tensor()};
    }
};

// ----- SwiGLU ------------------------------------------------------------------------------------

struct SwigluFunction : torch::autograd::Function<SwigluFunction> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& gateUpIn) {
        const torch::Tensor gu = gateUpIn.contiguous();
        const int64_t width = gu.size(-1) / 2, rows = gu.numel() / std::max<int64_t>(2 * width, 1);
        auto outSizes = gu.sizes().vec();
        outSizes.back() = width;
        torch::Tensor out;
        if (useFusedCpu(gu)) {
            out = torch::empty(outSizes, gu.options());
            at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
                kernels::kernels().swigluForward(gu.data_ptr<float>(), out.data_ptr<float>(), begin, end, width);
            });
        } else {
            const auto parts = gu.chunk(2, -1);
            out = torch::silu(parts[0]) * parts[1];
        }
        ctx->save_for_backward({gu});
        return out;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const torch::Tensor gu = ctx->get_saved_variables()[0];
        const torch::Tensor dout = grads[0].contiguous();
        const int64_t width = gu.size(-1) / 2, rows = gu.numel() / std::max<int64_t>(2 * width, 1);
        torch::Tensor dgu;
        if (useFusedCpu(gu) && dout.scalar_type() == torch::kFloat) {
            dgu = torch::empty_like(gu);
            at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
                kernels::kernels().swigluBackward(gu.data_ptr<float>(), dout.data_ptr<float>(), dgu.data_ptr<float>(), begin,
                                                  end, width);
            });
        } else {
            const auto parts = gu.to(torch::kFloat).chunk(2, -1);
            const torch::Tensor sig = torch::sigmoid(parts[0]);
            const torch::Tensor d = dout.to(torch::kFloat);
            const torch::Tensor du = d * parts[0] * sig;
            const torch::Tensor dg = d * parts[1] * sig * (1 + parts[0] * (1 - sig));
            dgu = torch::cat({dg, du}, -1).to(gu.scalar_type());
        }
        return {dgu};
    }
};

// ----- Linear + cross-entropy --------------------------------------------------------------------

struct LinearCrossEntropyFunction : torch::autograd::Function<LinearCrossEntropyFunction> {
    // wantInputGrad / wantWeightGrad are decided by the caller (grad mode is off in here).
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& h, const torch::Tensor& weightIn,
                                 const torch::Tensor& targetsIn, int64_t chunkRows, bool fp32Matmul, bool wantInputGrad,
                                 bool wantWeightGrad) {
        // The fp32 head casts the weight once (as HF's F.linear(h.float(), weight.float()) does).
        const bool castHead = fp32Matmul && weightIn.scalar_type() != torch::kFloat;
        const torch::Tensor weight = castHead ? weightIn.to(torch::kFloat) : weightIn;
        const auto headInput = [castHead](const torch::Tensor& x) { return castHead ? x.to(torch::kFloat) : x; };
        const bool wantGrad = wantInputGrad || wantWeightGrad;
        const torch::Tensor targets = targetsIn.to(h.device(), torch::kLong).contiguous();
        const int64_t rows = h.size(0), vocab = weight.size(0);
        const bool cpu = useFusedCpu(h);
        double cpuLoss = 0.0;
        torch::Tensor loss = torch::zeros({}, h.options().dtype(torch::kFloat));
        torch::Tensor dh = wantInputGrad ? torch::empty_like(h) : torch::Tensor();
        torch::Tensor dwF = wantWeightGrad ? torch::zeros(weight.sizes(), weight.options().dtype(torch::kFloat)) : torch::Tensor();
        for (int64_t start = 0; start < rows; start += chunkRows) {
            const int64_t n = std::min(chunkRows, rows - start);
            const torch::Tensor t = targets.narrow(0, start, n);
            const torch::Tensor hc = h.narrow(0, start, n);
            // Logits of one chunk only, in fp32 for the softmax; turned into d loss / d logits in place.
            torch::Tensor g = torch::mm(headInput(hc), weight.t()).to(torch::kFloat).contiguous();
            if (cpu) {
                cpuLoss += kernels::kernels().crossEntropyRows(g.data_ptr<float>(), t.data_ptr<int64_t>(), 0, n, vocab, wantGrad);
            } else {
                const torch::Tensor validF = t.ne(-100).to(torch::kFloat);
                const torch::Tensor safeT = t.clamp_min(0);
                const torch::Tensor logZ = torch::logsumexp(g, 1);
                loss += ((logZ - g.gather(1, safeT.unsqueeze(1)).squeeze(1)) * validF).sum();
                if (wantGrad) {
                    g = torch::exp(g - logZ.unsqueeze(1));
                    g.scatter_add_(1, safeT.unsqueeze(1), -torch::ones({n, 1}, g.options()));
                    g.mul_(validF.unsqueeze(1));
                }
            }
            if (wantInputGrad) dh.narrow(0, start, n).copy_(torch::mm(g.to(weight.scalar_type()), weight));
            if (wantWeightGrad) dwF.addmm_(g.t(), hc.to(torch::kFloat));
        }
        if (cpu) loss.fill_(cpuLoss);
        ctx->save_for_backward({dh, wantWeightGrad ? dwF.to(weightIn.scalar_type()) : torch::Tensor()});
        return loss;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor& scale = grads[0];
        auto scaled = [&](const torch::Tensor& g) { return g.defined() ? g * scale.to(g.scalar_type()) : torch::Tensor(); };
        return {scaled(saved[0]), scaled(saved[1]), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

}  // namespace

void setFusedCpuKernels(bool enabled) { gFusedCpu = enabled; }
bool fusedCpuKernels() { return gFusedCpu.load(); }
bool useFusedCpu(const torch::Tensor& t) { return gFusedCpu.load() && t.is_cpu() && t.scalar_type() == torch::kFloat; }

torch::Tensor toDevice(const torch::Tensor& host, const torch::Device& device) {
    if (device.is_cpu() || !host.is_cpu()) return host.to(device);
    return host.pin_memory().to(device, /*non_blocking=*/true);
}

torch::Tensor rmsNorm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
    return RmsNormFunction::apply(x, weight, eps);
}

torch::Tensor swiglu(const torch::Tensor& gateUp) { return SwigluFunction::apply(gateUp); }

torch::Tensor linearCrossEntropySum(const torch::Tensor& h, const torch::Tensor& weight, const torch::Tensor& targets,
                                    int64_t chunkRows, bool fp32Matmul) {
    const bool grad = torch::GradMode::is_enabled();
    return LinearCrossEntropyFunction::apply(h, weight, targets, chunkRows, fp32Matmul, grad && h.requires_grad(),
                                             grad && weight.requires_grad());
}

}  // namespace hy3::ops

#include "model/moe.h"

#include "model/cpu_gemm.h"
#include "model/kernels/cpu_kernels.h"
#include "model/ops.h"

#include <ATen/Parallel.h>

#include <cmath>

namespace hy3 {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Row offsets of each expert's slice from host counts.
std::vector<int64_t> offsetsOf(const torch::Tensor& counts_E) {
    const torch::Tensor counts = counts_E.to(torch::kCPU, torch::kLong).contiguous();
    const int64_t E = counts.numel();
    std::vector<int64_t> offsets(static_cast<size_t>(E + 1), 0);
    const int64_t* c = counts.data_ptr<int64_t>();
    for (int64_t e = 0; e < E; ++e) offsets[static_cast<size_t>(e + 1)] = offsets[static_cast<size_t>(e)] + c[e];
    return offsets;
}

// at::_grouped_mm reads its operands in place only when every stride is a multiple of 16 bytes.
bool groupedMmAligned(const torch::Tensor& t) {
    const int64_t align = 16 / static_cast<int64_t>(t.element_size());
    for (int64_t d = 0; d < t.dim(); ++d)
        if (t.stride(d) != 1 && t.stride(d) % align != 0) return false;
    return reinterpret_cast<uintptr_t>(t.data_ptr()) % 16 == 0;
}

// The three multiplies of one grouped weight W [E, O, I] over rows sorted by expert: forward, back
// to the input, and W's gradient, each for every expert at once.
//  - HostLoop: one multiply per non-empty expert over host offsets. With fp32 on the CPU they call
//    sgemm on raw pointers, since even creating tensor views per expert costs more than the small
//    multiplies (the experts' gate/up and down, and LoRA's rank-16 expert adapters).
//  - GroupedMm: one at::_grouped_mm with the offsets on the device (bf16 CUTLASS on Hopper; a
//    generic kernel elsewhere, the CPU included, which is how the tests check it).
class GroupedGemms {
public:
    GroupedGemms(const torch::Tensor& W_EOI, ExpertKernel kernel, const torch::Tensor& counts, const torch::Tensor& offsets)
        : W_(W_EOI), O_(W_EOI.size(1)), I_(W_EOI.size(2)), kernel_(kernel), counts_(counts), offsets_(offsets),
          raw_(kernel == ExpertKernel::HostLoop && ops::useFusedCpu(W_EOI) && hasDirectSgemm()) {}

    // Whether the grouped kernel takes these rows; else the loop does (also when an operand's
    // strides rule the grouped kernel out).
    bool grouped(const torch::Tensor& rows) const {
        return kernel_ == ExpertKernel::GroupedMm && rows.size(0) > 0 && groupedMmAligned(rows) && groupedMmAligned(W_);
    }

    // y = x @ W[e]^T on each expert's rows
    torch::Tensor forward(const torch::Tensor& x) const {
        if (grouped(x)) return at::_grouped_mm(x, W_.transpose(1, 2), offsets_);
        torch::Tensor y = torch::empty({x.size(0), O_}, x.options());
        eachExpert([&](int64_t e, int64_t o, int64_t n) { forwardRows(e, o, n, x, y); });
        return y;
    }
    // dx = dy @ W[e] on each expert's rows
    torch::Tensor input(const torch::Tensor& dy) const {
        if (grouped(dy)) return at::_grouped_mm(dy, W_, offsets_);
        torch::Tensor dx = torch::empty({dy.size(0), I_}, dy.options());
        eachExpert([&](int64_t e, int64_t o, int64_t n) { inputRows(e, o, n, dy, dx); });
        return dx;
    }
    // dW[e] = dy[rows of e]^T @ x[rows of e]; zero for an expert without rows
    torch::Tensor weight(const torch::Tensor& dy, const torch::Tensor& x) const {
        if (grouped(dy) && grouped(x)) {
            torch::Tensor dW = at::_grouped_mm(dy.t(), x, offsets_);
            return dW.masked_fill_(counts_.eq(0).view({-1, 1, 1}), 0);  // whatever the kernel does with an empty group
        }
        torch::Tensor dW = weightBuffer();
        eachExpert([&](int64_t e, int64_t o, int64_t n) { weightRows(e, o, n, dy, x, dW); });
        return dW;
    }

    // The loop's pieces, for a caller that does several multiplies per expert in one pass.
    template <class Fn>
    void eachExpert(Fn&& fn) const {
        for (int64_t e = 0; e < W_.size(0); ++e)
            if (rowsOf(e) > 0) fn(e, hostOffsets()[static_cast<size_t>(e)], rowsOf(e));
    }
    // dW's buffer for the loop: experts without rows get zeros, the others are written whole.
    torch::Tensor weightBuffer() const {
        torch::Tensor dW = torch::empty_like(W_);
        for (int64_t e = 0; e < W_.size(0); ++e)
            if (rowsOf(e) == 0) dW.select(0, e).zero_();
        return dW;
    }
    // y[o:o+n] = x[o:o+n] @ W[e]^T
    void forwardRows(int64_t e, int64_t o, int64_t n, const torch::Tensor& x, torch::Tensor& y) const {
        if (raw_) return sgemmRowMajor(false, true, n, O_, I_, ptr(x) + o * I_, I_, ptr(W_) + e * O_ * I_, I_, ptr(y) + o * O_, O_);
        mmInto(y.narrow(0, o, n), x.narrow(0, o, n), W_.select(0, e).t());
    }
    // dx[o:o+n] = dy[o:o+n] @ W[e]
    void inputRows(int64_t e, int64_t o, int64_t n, const torch::Tensor& dy, torch::Tensor& dx) const {
        if (raw_) return sgemmRowMajor(false, false, n, I_, O_, ptr(dy) + o * O_, O_, ptr(W_) + e * O_ * I_, I_, ptr(dx) + o * I_, I_);
        mmInto(dx.narrow(0, o, n), dy.narrow(0, o, n), W_.select(0, e));
    }
    // dW[e] = dy[o:o+n]^T @ x[o:o+n]
    void weightRows(int64_t e, int64_t o, int64_t n, const torch::Tensor& dy, const torch::Tensor& x, torch::Tensor& dW) const {
        if (raw_) return sgemmRowMajor(true, false, O_, I_, n, ptr(dy) + o * O_, O_, ptr(x) + o * I_, I_, ptr(dW) + e * O_ * I_, I_);
        mmInto(dW.select(0, e), dy.narrow(0, o, n).t(), x.narrow(0, o, n));
    }

private:
    static float* ptr(const torch::Tensor& t) { return t.data_ptr<float>(); }
    // The loop's offsets, read from the counts at its first use (the grouped kernel needs none).
    const std::vector<int64_t>& hostOffsets() const {
        if (hostOffsets_.empty()) hostOffsets_ = offsetsOf(counts_);
        return hostOffsets_;
    }
    int64_t rowsOf(int64_t e) const { return hostOffsets()[static_cast<size_t>(e + 1)] - hostOffsets()[static_cast<size_t>(e)]; }

    torch::Tensor W_;
    int64_t O_, I_;
    ExpertKernel kernel_;
    torch::Tensor counts_, offsets_;
    bool raw_;
    mutable std::vector<int64_t> hostOffsets_;
};

torch::Tensor weightedSwiglu(const torch::Tensor& h_N2F, const torch::Tensor& w_N) {
    const int64_t N = h_N2F.size(0), F = h_N2F.size(1) / 2;
    if (ops::useFusedCpu(h_N2F)) {
        auto out = torch::empty({N, F}, h_N2F.options());
        at::parallel_for(0, N, 16, [&](int64_t begin, int64_t end) {
            kernels::kernels().weightedSwigluForward(h_N2F.data_ptr<float>(), w_N.data_ptr<float>(), out.data_ptr<float>(),
                                                     begin, end, F);
        });
        return out;
    }
    const auto parts = h_N2F.to(torch::kFloat).chunk(2, 1);
    return (torch::silu(parts[0]) * parts[1] * w_N.unsqueeze(1)).to(h_N2F.scalar_type());
}

// The autograd functions below take an ExpertRows as plain arguments (autograd saves tensors and
// integers, not structs): its counts, its offsets and its kernel as an integer.
ExpertKernel kernelOf(int64_t k) { return static_cast<ExpertKernel>(k); }

// Outputs: y [N, H] and the weighted activation a [N, F] that the down projection reads (LoRA's
// down adapter needs it). `deltaH` ([N, 2F], or empty for none) is added to the gate/up
// pre-activation.
struct GroupedExpertsFunction : torch::autograd::Function<GroupedExpertsFunction> {
    static variable_list forward(AutogradContext* ctx, const torch::Tensor& xIn, const torch::Tensor& wIn,
                                 const torch::Tensor& counts_E, const torch::Tensor& offsets_E, int64_t kernel,
                                 const torch::Tensor& gateUp, const torch::Tensor& down, const torch::Tensor& deltaH) {
        const torch::Tensor x = xIn.contiguous();
        const torch::Tensor w = wIn.to(torch::kFloat).contiguous();
        const GroupedGemms gateUpGemm(gateUp, kernelOf(kernel), counts_E, offsets_E);
        const GroupedGemms downGemm(down, kernelOf(kernel), counts_E, offsets_E);
        torch::Tensor h = gateUpGemm.forward(x);
        const bool withDelta = deltaH.numel() > 0;
        if (withDelta) h.add_(deltaH.to(h.scalar_type()));
        const torch::Tensor a = weightedSwiglu(h, w);
        const torch::Tensor y = downGemm.forward(a);
        ctx->save_for_backward({x, w, h, counts_E, offsets_E, gateUp, down});
        ctx->saved_data["kernel"] = kernel;
        ctx->saved_data["w_dtype"] = static_cast<int64_t>(wIn.scalar_type());
        ctx->saved_data["delta_dtype"] = withDelta ? static_cast<int64_t>(deltaH.scalar_type()) : int64_t(-1);
        return {y, a};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &x = saved[0], &w = saved[1], &h = saved[2], &counts = saved[3], &offsets = saved[4];
        const torch::Tensor &gateUp = saved[5], &down = saved[6];
        const ExpertKernel kernel = kernelOf(ctx->saved_data["kernel"].toInt());
        const torch::Tensor dy = grads[0].defined() ? grads[0].contiguous() : torch::zeros({x.size(0), down.size(1)}, x.options());
        const int64_t N = x.size(0), F = down.size(2);
        // needs_input_grad counts tensor inputs only: x, w, counts, offsets, gateUp (4), down (5), delta.
        const bool weightGrads = ctx->needs_input_grad(4) || ctx->needs_input_grad(5);

        // Back through the down projection to the weighted activation.
        const GroupedGemms gateUpGemm(gateUp, kernel, counts, offsets), downGemm(down, kernel, counts, offsets);
        torch::Tensor da = downGemm.input(dy);
        if (grads.size() > 1 && grads[1].defined()) da.add_(grads[1].to(da.scalar_type()));  // the activation's own use

        // Back through the weighted SwiGLU (recomputing the activation on the way).
        torch::Tensor dh, dw, a;
        if (ops::useFusedCpu(h)) {
            dh = torch::empty_like(h);
            dw = torch::empty({N}, w.options());
            a = torch::empty({N, F}, x.options());
            at::parallel_for(0, N, 16, [&](int64_t begin, int64_t end) {
                kernels::kernels().weightedSwigluBackward(h.data_ptr<float>(), w.data_ptr<float>(), da.data_ptr<float>(),
                                                          dh.data_ptr<float>(), dw.data_ptr<float>(), a.data_ptr<float>(),
                                                          begin, end, F);
            });
        } else {
            const auto parts = h.to(torch::kFloat).chunk(2, 1);
            const torch::Tensor g = parts[0], u = parts[1], sig = torch::sigmoid(g);
            const torch::Tensor act = g * sig * u;
            const torch::Tensor daF = da.to(torch::kFloat);
            dw = (daF * act).sum(1);
            a = (act * w.unsqueeze(1)).to(h.scalar_type());
            const torch::Tensor dAct = daF * w.unsqueeze(1);
            dh = torch::cat({dAct * u * sig * (1 + g * (1 - sig)), dAct * g * sig}, 1).to(h.scalar_type());
        }

        // Inputs and weights. Experts without rows get zero weight gradients.
        torch::Tensor dx, dGateUp, dDown;
        if (gateUpGemm.grouped(dh) && gateUpGemm.grouped(x) && downGemm.grouped(dy) && downGemm.grouped(a)) {
            dx = gateUpGemm.input(dh);
            if (weightGrads) dGateUp = gateUpGemm.weight(dh, x), dDown = downGemm.weight(dy, a);
        } else {
            // The loop does an expert's three multiplies together, while its rows are in cache
            // (three separate passes cost 2 to 4% of a CPU step).
            dx = torch::empty_like(x);
            if (weightGrads) dGateUp = gateUpGemm.weightBuffer(), dDown = downGemm.weightBuffer();
            gateUpGemm.eachExpert([&](int64_t e, int64_t o, int64_t n) {
                gateUpGemm.inputRows(e, o, n, dh, dx);
                if (!weightGrads) return;
                gateUpGemm.weightRows(e, o, n, dh, x, dGateUp);
                downGemm.weightRows(e, o, n, dy, a, dDown);
            });
        }
        const auto wType = static_cast<at::ScalarType>(ctx->saved_data["w_dtype"].toInt());
        const int64_t deltaType = ctx->saved_data["delta_dtype"].toInt();
        const torch::Tensor dDelta = deltaType >= 0 ? dh.to(static_cast<at::ScalarType>(deltaType)) : torch::Tensor();
        return {dx, dw.to(wType), torch::Tensor(), torch::Tensor(), torch::Tensor(), dGateUp, dDown, dDelta};
    }
};

}  // namespace

torch::Tensor countIds(const torch::Tensor& ids, int64_t n) {
    const torch::Tensor flat = ids.reshape({-1}).to(torch::kLong);
    return torch::zeros({n}, flat.options()).scatter_add_(0, flat, torch::ones_like(flat));
}

ExpertRows expertRows(const torch::Tensor& counts_E, ExpertKernel kernel, const torch::Device& rowsDevice) {
    ExpertRows rows;
    rows.kernel = kernel;
    if (kernel == ExpertKernel::HostLoop) {
        rows.counts = counts_E.to(torch::kCPU, torch::kLong);
        rows.offsets = torch::empty({0}, torch::kInt);  // autograd takes no undefined input: empty stands for none
        return rows;
    }
    rows.counts = counts_E.to(rowsDevice, torch::kLong);
    rows.offsets = rows.counts.cumsum(0).to(torch::kInt);
    return rows;
}

Routing route(const torch::Tensor& x_TH, const torch::Tensor& router_EH, const torch::Tensor& bias_E, const ModelConfig& c) {
    Routing r;
    r.logits_TE = torch::mm(x_TH.to(torch::kFloat), router_EH.to(torch::kFloat).t());
    r.scores_TE = torch::sigmoid(r.logits_TE);
    const torch::Tensor choice = bias_E.defined() ? r.scores_TE.detach() + bias_E.to(torch::kFloat) : r.scores_TE.detach();
    r.experts_TK = std::get<1>(torch::topk(choice, c.num_experts_per_tok, 1));
    torch::Tensor w = r.scores_TE.gather(1, r.experts_TK);
    if (c.route_norm) w = w / (w.sum(1, true) + 1e-20);
    r.weights_TK = w * c.router_scaling_factor;
    r.load_E = countIds(r.experts_TK, c.num_experts);
    return r;
}

torch::Tensor groupedExperts(const torch::Tensor& x_NH, const torch::Tensor& w_N, const ExpertRows& rows,
                             const torch::Tensor& gateUp_EFH, const torch::Tensor& down_EHF) {
    return GroupedExpertsFunction::apply(x_NH, w_N, rows.counts, rows.offsets, static_cast<int64_t>(rows.kernel), gateUp_EFH,
                                         down_EHF, torch::empty({0}, x_NH.options()))[0];
}

std::pair<torch::Tensor, torch::Tensor> groupedExpertsWithDelta(const torch::Tensor& x_NH, const torch::Tensor& w_N,
                                                                const ExpertRows& rows, const torch::Tensor& gateUp_EFH,
                                                                const torch::Tensor& down_EHF, const torch::Tensor& deltaH_N2F) {
    const torch::Tensor delta = deltaH_N2F.defined() ? deltaH_N2F : torch::empty({0}, x_NH.options());
    const variable_list out = GroupedExpertsFunction::apply(x_NH, w_N, rows.counts, rows.offsets, static_cast<int64_t>(rows.kernel),
                                                            gateUp_EFH, down_EHF, delta);
    return {out[0], out[1]};
}

// y[o:o+n] = x[o:o+n] @ W[e]^T for each expert's rows; the gradient of W only when asked for.
struct GroupedLinearFunction : torch::autograd::Function<GroupedLinearFunction> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& xIn, const torch::Tensor& counts_E,
                                 const torch::Tensor& offsets_E, int64_t kernel, const torch::Tensor& Win) {
        const torch::Tensor x = xIn.contiguous(), W = Win.contiguous();
        const torch::Tensor y = GroupedGemms(W, kernelOf(kernel), counts_E, offsets_E).forward(x);
        ctx->save_for_backward({x, counts_E, offsets_E, W});
        ctx->saved_data["kernel"] = kernel;
        return y;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &x = saved[0], &counts = saved[1], &offsets = saved[2], &W = saved[3];
        const torch::Tensor dy = grads[0].contiguous();
        const GroupedGemms gemm(W, kernelOf(ctx->saved_data["kernel"].toInt()), counts, offsets);
        const torch::Tensor dW = ctx->needs_input_grad(3) ? gemm.weight(dy, x) : torch::Tensor();  // W: the 4th tensor input
        return {gemm.input(dy), torch::Tensor(), torch::Tensor(), torch::Tensor(), dW};
    }
};

torch::Tensor groupedLinear(const torch::Tensor& x_NI, const ExpertRows& rows, const torch::Tensor& W_EOI) {
    return GroupedLinearFunction::apply(x_NI, rows.counts, rows.offsets, static_cast<int64_t>(rows.kernel), W_EOI);
}

torch::Tensor expertsReferenceLoop(const torch::Tensor& x_NH, const torch::Tensor& w_N, const torch::Tensor& counts_E,
                                   const torch::Tensor& gateUp_EFH, const torch::Tensor& down_EHF) {
    const auto offsets = offsetsOf(counts_E);
    const int64_t F = down_EHF.size(2);
    std::vector<torch::Tensor> outputs;
    for (int64_t e = 0; e < gateUp_EFH.size(0); ++e) {
        const int64_t o = offsets[static_cast<size_t>(e)], n = offsets[static_cast<size_t>(e + 1)] - o;
        if (n == 0) continue;
        const torch::Tensor x = x_NH.narrow(0, o, n);
        const torch::Tensor gate = torch::mm(x, gateUp_EFH[e].narrow(0, 0, F).t());
        const torch::Tensor up = torch::mm(x, gateUp_EFH[e].narrow(0, F, F).t());
        const torch::Tensor y = torch::mm(torch::silu(gate) * up, down_EHF[e].t());
        outputs.push_back(y * w_N.narrow(0, o, n).unsqueeze(1).to(y.scalar_type()));
    }
    return torch::cat(outputs, 0);
}

torch::Tensor sequenceBalanceLoss(const Routing& r, const torch::Tensor& sequenceOfToken_T, int64_t sequences, int64_t topK) {
    const int64_t T = r.scores_TE.size(0), E = r.scores_TE.size(1);
    const torch::Tensor normalized = r.scores_TE / (r.scores_TE.sum(1, true) + 1e-20);  // s / sum(s)
    const torch::Tensor seq = sequenceOfToken_T.to(r.scores_TE.device());
    const torch::Tensor tokensPerSeq = countIds(seq, sequences).to(torch::kFloat).clamp_min(1);  // [B]
    // P_be: mean normalised score of expert e over sequence b's tokens.
    const torch::Tensor P = torch::zeros({sequences, E}, normalized.options()).index_add(0, seq, normalized) /
                            tokensPerSeq.unsqueeze(1);
    // f_be: share of sequence b's token-slots that went to e, times E/K.
    const torch::Tensor slotSeq = seq.unsqueeze(1).expand({T, topK}).flatten();
    const torch::Tensor flat = slotSeq * E + r.experts_TK.flatten();
    const torch::Tensor counts = countIds(flat, sequences * E).to(torch::kFloat).reshape({sequences, E});
    const torch::Tensor f = counts * (static_cast<double>(E) / static_cast<double>(topK)) / tokensPerSeq.unsqueeze(1);
    return (f * P).sum();
}

}  // namespace hy3

#include "model/attention.h"

#include "model/cpu_gemm.h"
#include "model/kernels/cpu_kernels.h"
#include "model/ops.h"

#include <ATen/Parallel.h>

#include <cmath>

namespace hy3 {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

kernels::HeadLayout layoutOf(const AttentionGeometry& g) { return {g.batch, g.seq, g.heads, g.kvHeads, g.headDim}; }
AttentionGeometry geometryOf(const std::vector<int64_t>& v) { return {v[0], v[1], v[2], v[3], v[4]}; }
std::vector<int64_t> shapeOf(const AttentionGeometry& g) { return {g.batch, g.seq, g.heads, g.kvHeads, g.headDim}; }

// [B*K, S*G, D] <-> [T, N*D] (token-major, head h = j*G + i).
torch::Tensor headsToTokens(const torch::Tensor& x, const AttentionGeometry& g) {
    const int64_t B = g.batch, S = g.seq, K = g.kvHeads, G = g.groups(), D = g.headDim;
    return x.reshape({B, K, S, G, D}).permute({0, 2, 1, 3, 4}).reshape({B * S, g.heads * D});
}
torch::Tensor tokensToHeads(const torch::Tensor& x, const AttentionGeometry& g) {
    const int64_t B = g.batch, S = g.seq, K = g.kvHeads, G = g.groups(), D = g.headDim;
    return x.reshape({B, S, K, G, D}).permute({0, 2, 1, 3, 4}).reshape({B * K, S * G, D});
}

// ----- q/k norm + RoPE ---------------------------------------------------------------------------

struct QkNormRopeFunction : torch::autograd::Function<QkNormRopeFunction> {
    static variable_list forward(AutogradContext* ctx, const torch::Tensor& qkvIn, const torch::Tensor& qNorm,
                                 const torch::Tensor& kNorm, const torch::Tensor& cos, const torch::Tensor& sin,
                                 std::vector<int64_t> shape, double eps) {
        const AttentionGeometry g = geometryOf(shape);
        const torch::Tensor qkv = qkvIn.contiguous();
        const torch::Tensor qw = qNorm.contiguous(), kw = kNorm.contiguous();
        const int64_t BK = g.batch * g.kvHeads, S = g.seq, D = g.headDim, T = g.batch * S;
        auto q = torch::empty({BK, S * g.groups(), D}, qkv.options());
        auto k = torch::empty({BK, S, D}, qkv.options());
        auto v = torch::empty({BK, S, D}, qkv.options());
        auto rstd = torch::empty({T, g.heads + g.kvHeads}, qkv.options());
        at::parallel_for(0, T, 8, [&](int64_t begin, int64_t end) {
            kernels::kernels().qkNormRopeForward(qkv.data_ptr<float>(), qw.data_ptr<float>(), kw.data_ptr<float>(),
                                                 cos.data_ptr<float>(), sin.data_ptr<float>(), q.data_ptr<float>(),
                                                 k.data_ptr<float>(), v.data_ptr<float>(), rstd.data_ptr<float>(), layoutOf(g),
                                                 begin, end, static_cast<float>(eps));
        });
        ctx->save_for_backward({qkv, qw, kw, cos, sin, rstd});
        ctx->saved_data["shape"] = shape;
        return {q, k, v};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &qkv = saved[0], &qw = saved[1], &kw = saved[2], &cos = saved[3], &sin = saved[4], &rstd = saved[5];
        const AttentionGeometry g = geometryOf(ctx->saved_data["shape"].toIntVector());
        const int64_t BK = g.batch * g.kvHeads, S = g.seq, D = g.headDim, T = g.batch * S;
        auto gradOrZeros = [&](const torch::Tensor& t, at::IntArrayRef sizes) {
            return t.defined() ? t.contiguous() : torch::zeros(sizes, qkv.options());
        };
        const torch::Tensor dq = gradOrZeros(grads[0], {BK, S * g.groups(), D});
        const torch::Tensor dk = gradOrZeros(grads[1], {BK, S, D});
        const torch::Tensor dv = gradOrZeros(grads[2], {BK, S, D});
        auto dqkv = torch::empty_like(qkv);
        // One (dq_norm, dk_norm) partial per thread's token range, summed after.
        const int64_t threads = at::get_num_threads();
        const int64_t chunk = (T + threads - 1) / threads;
        auto partial = torch::zeros({threads, 2, D}, qkv.options());
        at::parallel_for(0, threads, 1, [&](int64_t tb, int64_t te) {
            for (int64_t t = tb; t < te; ++t) {
                float* dw = partial.data_ptr<float>() + t * 2 * D;
                kernels::kernels().qkNormRopeBackward(qkv.data_ptr<float>(), qw.data_ptr<float>(), kw.data_ptr<float>(),
                                                      cos.data_ptr<float>(), sin.data_ptr<float>(), rstd.data_ptr<float>(),
                                                      dq.data_ptr<float>(), dk.data_ptr<float>(), dv.data_ptr<float>(),
                                                      dqkv.data_ptr<float>(), dw, dw + D, layoutOf(g), std::min(T, t * chunk),
                                                      std::min(T, (t + 1) * chunk));
            }
        });
        const torch::Tensor dw = partial.sum(0);
        return {dqkv, dw[0], dw[1], torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

// The same computation from ATen ops (other devices and dtypes, and the cross-check in tests).
QKV qkNormRopeAten(const torch::Tensor& qkv, const torch::Tensor& qNorm, const torch::Tensor& kNorm, const RopeTable& rope,
                   const AttentionGeometry& g, double eps) {
    const int64_t B = g.batch, S = g.seq, N = g.heads, K = g.kvHeads, D = g.headDim;
    const auto parts = qkv.reshape({B, S, N + 2 * K, D}).split_with_sizes({N, K, K}, 2);
    auto rotate = [&](const torch::Tensor& x) {  // x [B, S, heads, D]
        const auto halves = x.to(torch::kFloat).chunk(2, -1);
        const torch::Tensor c = rope.cos.reshape({B, S, 1, D / 2}), s = rope.sin.reshape({B, S, 1, D / 2});
        return torch::cat({halves[0] * c - halves[1] * s, halves[1] * c + halves[0] * s}, -1).to(x.scalar_type());
    };
    const torch::Tensor q = rotate(ops::rmsNorm(parts[0], qNorm, eps));  // [B, S, N, D]
    const torch::Tensor k = rotate(ops::rmsNorm(parts[1], kNorm, eps));
    return {tokensToHeads(q.reshape({B * S, N * D}), g), k.permute({0, 2, 1, 3}).reshape({B * K, S, D}),
            parts[2].permute({0, 2, 1, 3}).reshape({B * K, S, D})};
}

// ----- attention ---------------------------------------------------------------------------------

// Blocks of query positions: block `b` covers positions [b*kBlock, ...). Each block multiplies only
// the keys its queries may see, [start of its first position, its last position].
constexpr int64_t kBlock = 64;

struct BlockRange {
    int64_t firstPos, lastPos;  // positions [firstPos, lastPos)
    int64_t firstKey;           // keys [firstKey, lastPos)
};

BlockRange blockRange(const AttentionGeometry& g, const int64_t* start, int64_t bk, int64_t block) {
    const int64_t b = bk / g.kvHeads;
    const int64_t first = block * kBlock, last = std::min(g.seq, first + kBlock);
    // Visible ranges only grow to the right within a row, so the block's first position has the
    // smallest start.
    return {first, last, start[b * g.seq + first]};
}

// The fp32 CPU path: blocked causal attention on raw sgemm calls.
struct AttentionFunction : torch::autograd::Function<AttentionFunction> {
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                 const torch::Tensor& start, std::vector<int64_t> shape) {
        const AttentionGeometry g = geometryOf(shape);
        const int64_t BK = g.batch * g.kvHeads, S = g.seq, G = g.groups(), D = g.headDim;
        const int64_t blocks = (S + kBlock - 1) / kBlock;
        const float scale = 1.f / std::sqrt(static_cast<float>(D));
        const int64_t* st = start.data_ptr<int64_t>();
        auto p = torch::empty({BK, S * G, S}, q.options());  // probabilities, kept for the backward
        auto out = torch::empty({BK, S * G, D}, q.options());
        at::parallel_for(0, BK * blocks, 1, [&](int64_t begin, int64_t end) {
            for (int64_t item = begin; item < end; ++item) {
                const int64_t bk = item / blocks;
                const BlockRange r = blockRange(g, st, bk, item % blocks);
                const int64_t row0 = r.firstPos * G, rows = (r.lastPos - r.firstPos) * G, keys = r.lastPos - r.firstKey;
                float* pBlock = p.data_ptr<float>() + (bk * S * G + row0) * S;
                const float* qBlock = q.data_ptr<float>() + (bk * S * G + row0) * D;
                const float* kBlock_ = k.data_ptr<float>() + (bk * S + r.firstKey) * D;
                const float* vBlock = v.data_ptr<float>() + (bk * S + r.firstKey) * D;
                // scores[:, firstKey:lastPos] = q_rows k_keys^T, then the masked softmax of whole rows.
                sgemmRowMajor(false, true, rows, keys, D, qBlock, D, kBlock_, D, pBlock + r.firstKey, S);
                kernels::kernels().maskedSoftmax(pBlock, st, layoutOf(g), bk * S * G + row0, bk * S * G + row0 + rows, scale);
                sgemmRowMajor(false, false, rows, D, keys, pBlock + r.firstKey, S, vBlock, D,
                              out.data_ptr<float>() + (bk * S * G + row0) * D, D);
            }
        });
        ctx->save_for_backward({q, k, v, p, start});
        ctx->saved_data["shape"] = shape;
        return headsToTokens(out, g);
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &p = saved[3], &start = saved[4];
        const AttentionGeometry g = geometryOf(ctx->saved_data["shape"].toIntVector());
        const int64_t BK = g.batch * g.kvHeads, S = g.seq, G = g.groups(), D = g.headDim;
        const int64_t blocks = (S + kBlock - 1) / kBlock;
        const float scale = 1.f / std::sqrt(static_cast<float>(D));
        const int64_t* st = start.data_ptr<int64_t>();
        const torch::Tensor dout = tokensToHeads(grads[0], g).contiguous();  // [B*K, S*G, D]
        auto dq = torch::empty_like(q);
        auto dk = torch::zeros_like(k);
        auto dv = torch::zeros_like(v);
        // dk and dv of one KV head collect contributions from all its blocks: one thread per KV head.
        at::parallel_for(0, BK, 1, [&](int64_t begin, int64_t end) {
            std::vector<float> ds(static_cast<size_t>(kBlock * G * S));
            for (int64_t bk = begin; bk < end; ++bk) {
                for (int64_t block = 0; block < blocks; ++block) {
                    const BlockRange r = blockRange(g, st, bk, block);
                    const int64_t row0 = r.firstPos * G, rows = (r.lastPos - r.firstPos) * G, keys = r.lastPos - r.firstKey;
                    const int64_t rowBase = bk * S * G + row0;
                    const float* pBlock = p.data_ptr<float>() + rowBase * S;
                    const float* dO = dout.data_ptr<float>() + rowBase * D;
                    const float* qRows = q.data_ptr<float>() + rowBase * D;
                    const float* kKeys = k.data_ptr<float>() + (bk * S + r.firstKey) * D;
                    const float* vKeys = v.data_ptr<float>() + (bk * S + r.firstKey) * D;
                    float* dkKeys = dk.data_ptr<float>() + (bk * S + r.firstKey) * D;
                    float* dvKeys = dv.data_ptr<float>() + (bk * S + r.firstKey) * D;
                    // dv += p^T dO ; dp = dO v^T ; ds = softmax backward ; dq = ds k ; dk += ds^T q
                    sgemmRowMajor(true, false, keys, D, rows, pBlock + r.firstKey, S, dO, D, dvKeys, D, true);
                    sgemmRowMajor(false, true, rows, keys, D, dO, D, vKeys, D, ds.data() + r.firstKey, S);
                    kernels::kernels().softmaxBackward(pBlock, ds.data(), st, layoutOf(g), rowBase, rowBase + rows, scale);
                    sgemmRowMajor(false, false, rows, D, keys, ds.data() + r.firstKey, S, kKeys, D,
                                  dq.data_ptr<float>() + rowBase * D, D);
                    sgemmRowMajor(true, false, keys, D, rows, ds.data() + r.firstKey, S, qRows, D, dkKeys, D, true);
                }
            }
        });
        return {dq, dk, dv, torch::Tensor(), torch::Tensor()};
    }
};

torch::Tensor attentionReference(const QKV& x, const AttentionMask& mask, const AttentionGeometry& g) {
    const int64_t B = g.batch, S = g.seq, K = g.kvHeads, G = g.groups();
    const double scale = 1.0 / std::sqrt(static_cast<double>(g.headDim));
    const torch::Tensor scores = torch::bmm(x.q, x.k.transpose(1, 2)) * scale;  // [B*K, S*G, S]
    const torch::Tensor visible = visibleKeys(mask, scores.device());            // [B, S, S]
    const torch::Tensor allowed = visible.reshape({B, 1, S, 1, S}).expand({B, K, S, G, S}).reshape({B * K, S * G, S});
    const torch::Tensor p = torch::softmax(scores.to(torch::kFloat).masked_fill(allowed.logical_not(), -INFINITY), -1)
                                .to(scores.scalar_type());
    return headsToTokens(torch::bmm(p, x.v), g);
}

// The flash-attention kernel over variable-length documents (CUDA, bf16 or fp16): the rows are
// flattened into one sequence of tokens and each document attends causally to itself alone, cut
// by cu_seqlens, so no [S, S] mask exists at any length. GQA as is: query head h reads KV head
// h / G. Its backward is PyTorch's own flash backward.
struct FlashVarlenFunction : torch::autograd::Function<FlashVarlenFunction> {
    // q [T, N, D], k and v [T, K, D]; cu [documents + 1] int32 on the device.
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                 const torch::Tensor& cu, int64_t longest, double scale) {
        auto [out, logsumexp, seed, offset, unusedMask] =
            at::_flash_attention_forward(q, k, v, cu, cu, longest, longest, 0.0, /*is_causal=*/true, false, scale);
        ctx->save_for_backward({q, k, v, out, logsumexp, cu, seed, offset});
        ctx->saved_data["longest"] = longest;
        ctx->saved_data["scale"] = scale;
        return out;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const auto s = ctx->get_saved_variables();
        const int64_t longest = ctx->saved_data["longest"].toInt();
        auto [dq, dk, dv] = at::_flash_attention_backward(grads[0].contiguous(), s[0], s[1], s[2], s[3], s[4], s[5], s[5], longest, longest,
                                                          0.0, true, s[6], s[7], ctx->saved_data["scale"].toDouble());
        return {dq, dk, dv, torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

bool flashVarlenApplies(const torch::Tensor& q) {
    const auto type = q.scalar_type();
    return q.is_cuda() && (type == torch::kBFloat16 || type == torch::kHalf) && q.size(-1) <= 256;
}

torch::Tensor attentionFlashVarlen(const QKV& x, const AttentionMask& mask, const AttentionGeometry& g) {
    const int64_t B = g.batch, S = g.seq, N = g.heads, K = g.kvHeads, D = g.headDim;
    // Documents over the flattened tokens: a token starts one where it sees no key before itself
    // (row starts, packed documents, and each padding token, which sees only itself).
    const torch::Tensor start = mask.start.reshape({B * S});
    const torch::Tensor position = torch::arange(S, torch::kLong).repeat({B});
    const torch::Tensor starts = start.eq(position).nonzero().squeeze(1);
    const torch::Tensor cuHost = torch::cat({starts, torch::tensor({B * S}, torch::kLong)});
    const int64_t longest = (cuHost.narrow(0, 1, cuHost.numel() - 1) - cuHost.narrow(0, 0, cuHost.numel() - 1)).max().item<int64_t>();
    const torch::Tensor cu = ops::toDevice(cuHost.to(torch::kInt).contiguous(), x.q.device());
    const torch::Tensor q = headsToTokens(x.q, g).view({B * S, N, D});
    const torch::Tensor k = x.k.reshape({B, K, S, D}).permute({0, 2, 1, 3}).reshape({B * S, K, D});
    const torch::Tensor v = x.v.reshape({B, K, S, D}).permute({0, 2, 1, 3}).reshape({B * S, K, D});
    const double scale = 1.0 / std::sqrt(static_cast<double>(D));
    return FlashVarlenFunction::apply(q, k, v, cu, longest, scale).reshape({B * S, N * D});
}

// at::scaled_dot_product_attention on [B, heads, S, D] views, GQA by enable_gqa (query head h reads
// KV head h / G, as in our layout). Plain causal rows take is_causal, which the flash kernel runs;
// packed or padded rows pass the boolean mask (the memory-efficient kernel on CUDA).
torch::Tensor attentionSdpa(const QKV& x, const AttentionMask& mask, const AttentionGeometry& g) {
    const int64_t B = g.batch, S = g.seq, N = g.heads, K = g.kvHeads, G = g.groups(), D = g.headDim;
    const torch::Tensor q = x.q.reshape({B, K, S, G, D}).permute({0, 1, 3, 2, 4}).reshape({B, N, S, D});
    const torch::Tensor k = x.k.reshape({B, K, S, D}), v = x.v.reshape({B, K, S, D});
    const std::optional<torch::Tensor> visible =
        mask.causalOnly ? std::nullopt : std::optional<torch::Tensor>(visibleKeys(mask, q.device()).unsqueeze(1));
    const torch::Tensor out = at::scaled_dot_product_attention(q, k, v, visible, 0.0, mask.causalOnly, std::nullopt, true);
    return out.permute({0, 2, 1, 3}).reshape({B * S, N * D});
}

}  // namespace

AttentionMask buildAttentionMask(int64_t B, int64_t S, const torch::Tensor& attentionMask, const torch::Tensor& positionIds,
                                 const torch::Tensor& cuSeqlens) {
    // Document starts as flags over the flattened tokens, then each position's latest start.
    torch::Tensor newDoc = torch::zeros({B * S}, torch::kBool);
    newDoc.view({B, S}).select(1, 0).fill_(true);
    bool packed = false;
    if (cuSeqlens.defined()) {
        const torch::Tensor cu = cuSeqlens.to(torch::kCPU, torch::kLong).reshape({-1});
        const torch::Tensor inside = cu.masked_select(cu.ge(0).logical_and(cu.lt(B * S)));
        newDoc.index_fill_(0, inside, true);
        packed = true;
    } else if (positionIds.defined()) {
        const torch::Tensor pos = positionIds.to(torch::kCPU, torch::kLong).reshape({B, S});
        if (S > 1) newDoc.view({B, S}).narrow(1, 1, S - 1).logical_or_(pos.narrow(1, 1, S - 1).le(pos.narrow(1, 0, S - 1)));
        packed = true;
    }
    newDoc = newDoc.view({B, S});
    const torch::Tensor s = torch::arange(S, torch::kLong).unsqueeze(0).expand({B, S});
    const torch::Tensor docStart = std::get<0>(torch::where(newDoc, s, 0).cummax(1));
    if (!attentionMask.defined()) {
        const bool oneDocPerRow = !packed || newDoc.sum().item<int64_t>() == B;  // host tensors: no device wait
        return {docStart.contiguous(), oneDocPerRow};
    }
    // Padding sees only itself; real tokens after padding (left padding) never see it.
    const torch::Tensor padding = attentionMask.to(torch::kCPU, torch::kLong).reshape({B, S}).eq(0);
    const torch::Tensor afterPad = std::get<0>(torch::where(padding, s + 1, 0).cummax(1));
    const torch::Tensor start = torch::where(padding, s, torch::maximum(docStart, afterPad)).contiguous();
    return {start, start.eq(0).all().item<bool>()};
}

torch::Tensor visibleKeys(const AttentionMask& mask, const torch::Device& device) {
    const int64_t S = mask.start.size(1);
    const torch::Tensor start = ops::toDevice(mask.start, device);
    const torch::Tensor j = torch::arange(S, start.options()).reshape({1, 1, S});
    const torch::Tensor s = torch::arange(S, start.options()).reshape({1, S, 1});
    return (j >= start.unsqueeze(2)).logical_and(j <= s);
}

RopeTable buildRopeTable(const torch::Tensor& positionIds, int64_t headDim, double theta, const torch::Device& device) {
    const int64_t half = headDim / 2;
    const torch::Tensor invFreq =
        torch::pow(theta, -torch::arange(0, half, torch::kDouble) * 2.0 / static_cast<double>(headDim));
    const torch::Tensor angle = positionIds.to(torch::kCPU, torch::kDouble).reshape({-1, 1}) * invFreq.reshape({1, half});
    return {ops::toDevice(torch::cos(angle).to(torch::kFloat).contiguous(), device),
            ops::toDevice(torch::sin(angle).to(torch::kFloat).contiguous(), device)};
}

QKV qkNormRope(const torch::Tensor& qkv, const torch::Tensor& qNorm, const torch::Tensor& kNorm, const RopeTable& rope,
               const AttentionGeometry& g, double eps) {
    if (ops::useFusedCpu(qkv) && qNorm.scalar_type() == torch::kFloat && kNorm.scalar_type() == torch::kFloat) {
        const auto out = QkNormRopeFunction::apply(qkv, qNorm, kNorm, rope.cos, rope.sin, shapeOf(g), eps);
        return {out[0], out[1], out[2]};
    }
    return qkNormRopeAten(qkv, qNorm, kNorm, rope, g, eps);
}

torch::Tensor attention(const QKV& x, const AttentionMask& mask, const AttentionGeometry& g, AttentionKernel kernel) {
    if (kernel == AttentionKernel::Sdpa) {
        // Packed or padded rows in bf16 on a GPU: the varlen flash kernel, no [S, S] mask.
        if (!mask.causalOnly && flashVarlenApplies(x.q)) return attentionFlashVarlen(x, mask, g);
        return attentionSdpa(x, mask, g);
    }
    if (ops::useFusedCpu(x.q) && hasDirectSgemm()) return AttentionFunction::apply(x.q, x.k, x.v, mask.start, shapeOf(g));
    return attentionReference(x, mask, g);
}

torch::Tensor cachedAttention(const torch::Tensor& q, const torch::Tensor& keys, const torch::Tensor& values, int64_t past,
                              const AttentionGeometry& g) {
    const int64_t S = g.seq, K = g.kvHeads, G = g.groups(), L = past + S;
    const double scale = 1.0 / std::sqrt(static_cast<double>(g.headDim));
    const torch::Tensor queryPos = torch::arange(past, L).unsqueeze(1), keyPos = torch::arange(L).unsqueeze(0);
    const torch::Tensor blocked = keyPos.gt(queryPos).to(q.device()).reshape({1, S, 1, L});
    const torch::Tensor scores = (torch::bmm(q, keys.transpose(1, 2)).to(torch::kFloat) * scale).reshape({K, S, G, L});
    const torch::Tensor p = torch::softmax(scores.masked_fill(blocked, -INFINITY), -1).reshape({K, S * G, L});
    return headsToTokens(torch::bmm(p.to(values.scalar_type()), values), g);
}

}  // namespace hy3

#include "model/eager_reference.h"

#include <cmath>

namespace hy3 {
namespace {

torch::Tensor rmsNormEager(const torch::Tensor& x, const torch::Tensor& w, double eps) {
    const torch::Tensor xf = x.to(torch::kFloat);
    return (w.to(torch::kFloat) * (xf * torch::rsqrt(xf.pow(2).mean(-1, true) + eps))).to(x.scalar_type());
}

torch::Tensor rotateHalf(const torch::Tensor& x) {
    const auto halves = x.chunk(2, -1);
    return torch::cat({-halves[1], halves[0]}, -1);
}

torch::Tensor swigluEager(const torch::Tensor& x, const torch::Tensor& gate, const torch::Tensor& up, const torch::Tensor& down) {
    return torch::matmul(torch::silu(torch::matmul(x, gate.t())) * torch::matmul(x, up.t()), down.t());
}

}  // namespace

ForwardOutput eagerReferenceForward(Hy3ModelImpl& model, const Batch& batch) {
    const ModelConfig& c = model.config();
    const int64_t B = batch.input_ids.size(0), S = batch.input_ids.size(1);
    const int64_t N = c.num_attention_heads, K = c.num_key_value_heads, D = c.head_dim, H = c.hidden_size;
    const torch::Device device = model.options().device;
    const double eps = c.rms_norm_eps;

    // Positions, RoPE angles (full head width, as HF builds them) and the additive mask.
    const torch::Tensor positions =
        batch.position_ids.defined() ? batch.position_ids : torch::arange(S, torch::kLong).unsqueeze(0).expand({B, S});
    const torch::Tensor invFreq = torch::pow(c.rope_theta, -torch::arange(0, D / 2, torch::kDouble) * 2.0 / double(D));
    const torch::Tensor freqs = positions.to(torch::kDouble).unsqueeze(-1) * invFreq;  // [B, S, D/2]
    const torch::Tensor emb = torch::cat({freqs, freqs}, -1);
    const torch::Tensor cos = emb.cos().to(torch::kFloat).unsqueeze(1).to(device), sin = emb.sin().to(torch::kFloat).unsqueeze(1).to(device);
    const AttentionMask mask = buildAttentionMask(B, S, batch.attention_mask, batch.position_ids, batch.cu_seqlens);
    const torch::Tensor j = torch::arange(S).reshape({1, 1, S}), s = torch::arange(S).reshape({1, S, 1});
    const torch::Tensor visible = (j >= mask.start.unsqueeze(2)).logical_and(j <= s);
    const torch::Tensor additive = torch::zeros({B, 1, S, S}).masked_fill(visible.unsqueeze(1).logical_not(), -INFINITY).to(device);

    torch::Tensor h = torch::embedding(model.tensor("embed_tokens"), batch.input_ids.to(device), c.paddingIndex());  // [B, S, H]
    for (int64_t layer = 0; layer < c.num_hidden_layers; ++layer) {
        auto P = [&](const char* name) { return model.tensor("layers." + std::to_string(layer) + "." + name); };
        const torch::Tensor qkvW = P("qkv_proj");
        const torch::Tensor a = rmsNormEager(h, P("input_norm"), eps);
        torch::Tensor q = torch::matmul(a, qkvW.narrow(0, 0, N * D).t()).view({B, S, N, D});
        torch::Tensor k = torch::matmul(a, qkvW.narrow(0, N * D, K * D).t()).view({B, S, K, D});
        torch::Tensor v = torch::matmul(a, qkvW.narrow(0, (N + K) * D, K * D).t()).view({B, S, K, D});
        q = rmsNormEager(q, P("q_norm"), eps).transpose(1, 2);
        k = rmsNormEager(k, P("k_norm"), eps).transpose(1, 2);
        v = v.transpose(1, 2);
        q = (q.to(torch::kFloat) * cos + rotateHalf(q.to(torch::kFloat)) * sin).to(q.scalar_type());
        k = (k.to(torch::kFloat) * cos + rotateHalf(k.to(torch::kFloat)) * sin).to(k.scalar_type());
        k = k.repeat_interleave(N / K, 1);
        v = v.repeat_interleave(N / K, 1);
        const torch::Tensor scores = torch::matmul(q, k.transpose(2, 3)).to(torch::kFloat) / std::sqrt(double(D)) + additive;
        const torch::Tensor probs = torch::softmax(scores, -1).to(q.scalar_type());
        const torch::Tensor attn = torch::matmul(probs, v).transpose(1, 2).reshape({B, S, N * D});
        h = h + torch::matmul(attn, P("o_proj").t());

        const torch::Tensor m = rmsNormEager(h, P("post_norm"), eps);
        if (!c.isMoeLayer(layer)) {
            const torch::Tensor gu = P("gate_up_proj");
            const int64_t I = c.intermediate_size;
            h = h + swigluEager(m, gu.narrow(0, 0, I), gu.narrow(0, I, I), P("down_proj"));
            continue;
        }
        const torch::Tensor flat = m.reshape({B * S, H});
        const torch::Tensor logits = torch::matmul(flat.to(torch::kFloat), P("router").t());
        const torch::Tensor scores2 = torch::sigmoid(logits);
        const torch::Tensor choice = c.moe_router_enable_expert_bias ? scores2.detach() + P("expert_bias") : scores2.detach();
        const torch::Tensor idx = std::get<1>(torch::topk(choice, c.num_experts_per_tok, 1));
        torch::Tensor w = scores2.gather(1, idx);
        if (c.route_norm) w = w / (w.sum(1, true) + 1e-20);
        w = w * c.router_scaling_factor;
        torch::Tensor routed = torch::zeros_like(flat);
        const torch::Tensor gateUp = P("experts_gate_up"), down = P("experts_down");
        const int64_t F = c.moe_intermediate_size;
        for (int64_t e = 0; e < model.localExperts(); ++e) {
            const torch::Tensor hit = idx.eq(e + model.expertFirst()).nonzero();  // [n, 2]: (token, slot)
            if (hit.size(0) == 0) continue;
            const torch::Tensor tok = hit.select(1, 0), slot = hit.select(1, 1);
            const torch::Tensor y = swigluEager(flat.index_select(0, tok), gateUp[e].narrow(0, 0, F), gateUp[e].narrow(0, F, F), down[e]);
            const torch::Tensor weight = w.index({tok, slot}).unsqueeze(1).to(y.scalar_type());
            routed = routed.index_add(0, tok, y * weight);
        }
        if (c.num_shared_experts > 0) {
            const torch::Tensor sgu = P("shared_gate_up");
            const int64_t Fs = sgu.size(0) / 2;
            routed = routed + swigluEager(flat, sgu.narrow(0, 0, Fs), sgu.narrow(0, Fs, Fs), P("shared_down"));
        }
        h = h + routed.view({B, S, H});
    }
    h = rmsNormEager(h, model.tensor("norm"), eps);
    const torch::Tensor head = c.tie_word_embeddings ? model.tensor("embed_tokens") : model.tensor("lm_head");
    ForwardOutput out;
    out.logits = torch::matmul(h, head.t()).to(torch::kFloat);
    if (batch.labels.defined()) {
        const torch::Tensor targets = shiftedTargets(batch, mask).to(device);
        out.labelTokens = targets.ne(-100).sum().item<int64_t>();
        out.lossSum = torch::nn::functional::cross_entropy(
            out.logits.reshape({B * S, -1}), targets.reshape({B * S}),
            torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kSum));
    }
    return out;
}

}  // namespace hy3

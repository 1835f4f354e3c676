#include "config/model_cost.h"

#include "util/error.h"

#include <algorithm>
#include <limits>

namespace hy3 {

int64_t attentionParams(const ModelConfig& c) {
    const int64_t qo = 2 * c.num_attention_heads * c.head_dim * c.hidden_size;
    const int64_t kv = 2 * c.num_key_value_heads * c.head_dim * c.hidden_size;
    const int64_t qkNorms = 2 * c.head_dim;
    return qo + kv + qkNorms;
}

int64_t denseMlpParams(const ModelConfig& c) { return 3 * c.hidden_size * c.intermediate_size; }

int64_t routedExpertParams(const ModelConfig& c) { return 3 * c.hidden_size * c.moe_intermediate_size; }

int64_t sharedExpertParams(const ModelConfig& c) {
    return 3 * c.hidden_size * c.moe_intermediate_size * c.num_shared_experts;
}

int64_t routerParams(const ModelConfig& c) { return c.num_experts * c.hidden_size; }

ParameterCount countParameters(const ModelConfig& c) {
    const int64_t L = c.num_hidden_layers;
    const int64_t H = c.hidden_size;
    const int64_t dense = c.denseLayerCount();
    const int64_t moe = c.moeLayerCount();
    const int64_t embedding = c.vocab_size * H;

    ParameterCount out;
    auto add = [&](Component kind, int64_t total, int64_t active) {
        out.rows.push_back({componentName(kind), kind, total, active});
        out.total += total;
        out.active += active;
    };
    add(Component::Embeddings, embedding, embedding);
    add(Component::Attention, L * attentionParams(c), L * attentionParams(c));
    add(Component::Norms, (2 * L + 1) * H, (2 * L + 1) * H);  // input + post-attention per layer, final norm
    add(Component::DenseMlp, dense * denseMlpParams(c), dense * denseMlpParams(c));
    add(Component::Router, moe * routerParams(c), moe * routerParams(c));
    add(Component::RoutedExperts, moe * c.num_experts * routedExpertParams(c), moe * c.num_experts_per_tok * routedExpertParams(c));
    add(Component::SharedExpert, moe * sharedExpertParams(c), moe * sharedExpertParams(c));
    if (!c.tie_word_embeddings) add(Component::LmHead, embedding, embedding);

    out.buffers = c.moe_router_enable_expert_bias ? moe * c.num_experts : 0;

    // Each MTP block is one more MoE decoder layer plus its input projection [H, 2H] and three norms.
    const int64_t mtpMlp = c.num_experts > 0
                               ? routerParams(c) + c.num_experts * routedExpertParams(c) + sharedExpertParams(c)
                               : denseMlpParams(c);
    const int64_t mtpBlock = attentionParams(c) + 2 * H + mtpMlp + 2 * H * H + 3 * H;
    out.mtp = c.num_nextn_predict_layers * mtpBlock;
    return out;
}

double layerForwardFlopsPerToken(const ModelConfig& c, int64_t layer, int64_t seqLen) {
    const double H = static_cast<double>(c.hidden_size);
    const double hd = static_cast<double>(c.head_dim);
    const double heads = static_cast<double>(c.num_attention_heads);
    const double kvHeads = static_cast<double>(c.num_key_value_heads);
    const double S = static_cast<double>(seqLen);
    // Matmul FLOPs are 2 per multiply-add; the doc's coefficients are 3x these (training).
    const double projections = 2.0 * H * hd * (2.0 * heads + 2.0 * kvHeads);
    const double attentionScores = 2.0 * heads * hd * S;  // QK^T and AV, causal half: 4*S/2
    const double mlp = c.isMoeLayer(layer) ? 6.0 * H * static_cast<double>(c.num_experts_per_tok + c.num_shared_experts) *
                                                 static_cast<double>(c.moe_intermediate_size)
                                           : 6.0 * H * static_cast<double>(c.intermediate_size);
    return projections + attentionScores + mlp;
}

double headForwardFlopsPerToken(const ModelConfig& c) {
    return 2.0 * static_cast<double>(c.hidden_size) * static_cast<double>(c.vocab_size);
}

double forwardFlopsPerToken(const ModelConfig& c, int64_t seqLen) {
    double total = headForwardFlopsPerToken(c);
    for (int64_t layer = 0; layer < c.num_hidden_layers; ++layer) total += layerForwardFlopsPerToken(c, layer, seqLen);
    return total;
}

std::vector<std::pair<int64_t, int64_t>> pipelineStages(const ModelConfig& c, int64_t stages, int64_t seqLen) {
    const int64_t L = c.num_hidden_layers;
    if (stages < 1 || stages > L) fail("layout.pp", std::to_string(stages) + " stages for " + std::to_string(L) + " layers");
    // cost[i, j): the layers i..j-1 on one stage, plus the head on the last one.
    std::vector<double> prefix(static_cast<size_t>(L + 1), 0.0);
    for (int64_t i = 0; i < L; ++i) prefix[static_cast<size_t>(i + 1)] = prefix[static_cast<size_t>(i)] + layerForwardFlopsPerToken(c, i, seqLen);
    auto cost = [&](int64_t i, int64_t j) {
        return prefix[static_cast<size_t>(j)] - prefix[static_cast<size_t>(i)] + (j == L ? headForwardFlopsPerToken(c) : 0.0);
    };
    // best[s][j]: the smallest largest-stage cost of the first j layers on s stages; split[s][j]: where the last begins.
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<std::vector<double>> best(static_cast<size_t>(stages + 1), std::vector<double>(static_cast<size_t>(L + 1), inf));
    std::vector<std::vector<int64_t>> split(static_cast<size_t>(stages + 1), std::vector<int64_t>(static_cast<size_t>(L + 1), 0));
    best[0][0] = 0;
    for (int64_t s = 1; s <= stages; ++s)
        for (int64_t j = s; j <= L; ++j)
            for (int64_t i = s - 1; i < j; ++i) {
                const double candidate = std::max(best[static_cast<size_t>(s - 1)][static_cast<size_t>(i)], cost(i, j));
                if (candidate < best[static_cast<size_t>(s)][static_cast<size_t>(j)])
                    best[static_cast<size_t>(s)][static_cast<size_t>(j)] = candidate, split[static_cast<size_t>(s)][static_cast<size_t>(j)] = i;
            }
    std::vector<std::pair<int64_t, int64_t>> out(static_cast<size_t>(stages));
    for (int64_t s = stages, j = L; s >= 1; --s) {
        const int64_t i = split[static_cast<size_t>(s)][static_cast<size_t>(j)];
        out[static_cast<size_t>(s - 1)] = {i, j};
        j = i;
    }
    return out;
}

int64_t trainableParameters(const ParameterCount& count, const FreezeSettings& freeze) {
    int64_t trainable = 0;
    for (const ParameterRow& row : count.rows)
        if (!isFrozen(freeze, row.kind)) trainable += row.total;
    return trainable;
}

double trainingFlopsPerToken(const ModelConfig& c, int64_t seqLen) { return 3.0 * forwardFlopsPerToken(c, seqLen); }

double loraTrainingFlopsPerToken(const ModelConfig& c, int64_t seqLen, const LoraSpec& lora) {
    const double scores = 2.0 * static_cast<double>(c.num_attention_heads * c.head_dim * seqLen);  // per layer, as above
    const double layers = static_cast<double>(c.num_hidden_layers), forward = forwardFlopsPerToken(c, seqLen);
    const double base = 2.0 * forward + scores * layers;  // 3x for the scores, 2x for every weight matmul
    double adapters = 0;
    for (int64_t layer = 0; layer < c.num_hidden_layers; ++layer) {
        const LoraLayerParameters p = loraLayerParameters(c, lora, layer);
        adapters += 2.0 * (static_cast<double>(p.replicated) +
                           static_cast<double>(p.experts) * static_cast<double>(c.num_experts_per_tok) / std::max<double>(1, static_cast<double>(c.num_experts)));
    }
    return base + 3.0 * adapters;
}

double modelFlopsUtilization(double flopsPerToken, int64_t tokens, double seconds, double peakFlopsPerSecond) {
    if (seconds <= 0 || peakFlopsPerSecond <= 0) return 0;
    return flopsPerToken * static_cast<double>(tokens) / seconds / peakFlopsPerSecond;
}

LoraLayerParameters loraLayerParameters(const ModelConfig& c, const LoraSpec& lora, int64_t layer) {
    const int64_t r = lora.rank, H = c.hidden_size, D = c.head_dim;
    const int64_t q = c.num_attention_heads * D, kv = c.num_key_value_heads * D, F = c.moe_intermediate_size;
    const int64_t Fs = F * c.num_shared_experts;
    auto has = [&](const char* m) { return std::find(lora.targets.begin(), lora.targets.end(), m) != lora.targets.end(); };
    // gate/up map H -> width, down maps width -> H: r * (H + width) each.
    auto mlp = [&](int64_t width) { return ((has("gate_proj") ? 1 : 0) + (has("up_proj") ? 1 : 0) + (has("down_proj") ? 1 : 0)) * r * (H + width); };
    LoraLayerParameters p;
    if (lora.attention) {
        if (has("q_proj")) p.replicated += r * (H + q);
        if (has("k_proj")) p.replicated += r * (H + kv);
        if (has("v_proj")) p.replicated += r * (H + kv);
        if (has("o_proj")) p.replicated += r * (q + H);
    }
    if (!c.isMoeLayer(layer)) {
        if (lora.dense_mlp) p.replicated += mlp(c.intermediate_size);
    } else {
        if (lora.shared_expert && Fs > 0) p.replicated += mlp(Fs);
        if (lora.routed_experts) p.experts += c.num_experts * mlp(F);
    }
    return p;
}

int64_t loraParameterCount(const ModelConfig& c, const LoraSpec& lora) {
    int64_t total = 0;
    for (int64_t layer = 0; layer < c.num_hidden_layers; ++layer) {
        const LoraLayerParameters p = loraLayerParameters(c, lora, layer);
        total += p.replicated + p.experts;
    }
    return total;
}

}  // namespace hy3

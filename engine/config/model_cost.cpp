#include "config/model_cost.h"

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
    auto add = [&](const std::string& name, int64_t total, int64_t active) {
        out.rows.push_back({name, total, active});
        out.total += total;
        out.active += active;
    };
    add("embedding", embedding, embedding);
    add("attention", L * attentionParams(c), L * attentionParams(c));
    add("norms", (2 * L + 1) * H, (2 * L + 1) * H);  // input + post-attention per layer, final norm
    add("dense MLP", dense * denseMlpParams(c), dense * denseMlpParams(c));
    add("router", moe * routerParams(c), moe * routerParams(c));
    add("routed experts", moe * c.num_experts * routedExpertParams(c),
        moe * c.num_experts_per_tok * routedExpertParams(c));
    add("shared experts", moe * sharedExpertParams(c), moe * sharedExpertParams(c));
    if (!c.tie_word_embeddings) add("lm_head", embedding, embedding);

    out.buffers = c.moe_router_enable_expert_bias ? moe * c.num_experts : 0;

    // Each MTP block is one more MoE decoder layer plus its input projection [H, 2H] and three norms.
    const int64_t mtpMlp = c.num_experts > 0
                               ? routerParams(c) + c.num_experts * routedExpertParams(c) + sharedExpertParams(c)
                               : denseMlpParams(c);
    const int64_t mtpBlock = attentionParams(c) + 2 * H + mtpMlp + 2 * H * H + 3 * H;
    out.mtp = c.num_nextn_predict_layers * mtpBlock;
    return out;
}

double forwardFlopsPerToken(const ModelConfig& c, int64_t seqLen) {
    const double L = static_cast<double>(c.num_hidden_layers);
    const double H = static_cast<double>(c.hidden_size);
    const double hd = static_cast<double>(c.head_dim);
    const double heads = static_cast<double>(c.num_attention_heads);
    const double kvHeads = static_cast<double>(c.num_key_value_heads);
    const double S = static_cast<double>(seqLen);
    // Matmul FLOPs are 2 per multiply-add; the doc's coefficients are 3x these (training).
    const double projections = 2.0 * L * H * hd * (2.0 * heads + 2.0 * kvHeads);
    const double attentionScores = 2.0 * L * heads * hd * S;  // QK^T and AV, causal half: 4*S/2
    const double mlp = 6.0 * H *
                       (static_cast<double>(c.denseLayerCount()) * static_cast<double>(c.intermediate_size) +
                        static_cast<double>(c.moeLayerCount()) *
                            static_cast<double>(c.num_experts_per_tok + c.num_shared_experts) *
                            static_cast<double>(c.moe_intermediate_size));
    const double head = 2.0 * H * static_cast<double>(c.vocab_size);
    return projections + attentionScores + mlp + head;
}

double trainingFlopsPerToken(const ModelConfig& c, int64_t seqLen) { return 3.0 * forwardFlopsPerToken(c, seqLen); }

double modelFlopsUtilization(const ModelConfig& c, int64_t seqLen, int64_t tokens, double seconds, double peakFlopsPerSecond) {
    if (seconds <= 0 || peakFlopsPerSecond <= 0) return 0;
    return trainingFlopsPerToken(c, seqLen) * static_cast<double>(tokens) / seconds / peakFlopsPerSecond;
}

}  // namespace hy3

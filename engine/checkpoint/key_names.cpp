#include "checkpoint/key_names.h"

#include <cstdlib>

namespace hy3 {

int64_t layerOfKey(const std::string& key) {
    static const std::string prefix = "model.layers.";
    if (key.compare(0, prefix.size(), prefix) != 0) return -1;
    const size_t dot = key.find('.', prefix.size());
    if (dot == std::string::npos) return -1;
    const std::string number = key.substr(prefix.size(), dot - prefix.size());
    if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::atoll(number.c_str());
}

namespace {

struct TableBuilder {
    std::vector<KeyBinding> out;

    void add(std::string key, std::string param, std::vector<int64_t> shape, int64_t expert = -1, int64_t rowStart = 0,
             int64_t rowCount = -1, bool alwaysFp32 = false, bool buffer = false) {
        KeyBinding b;
        b.key = std::move(key);
        b.param = std::move(param);
        b.shape = std::move(shape);
        b.expert = expert;
        b.rowStart = rowStart;
        b.rowCount = rowCount;
        b.alwaysFp32 = alwaysFp32;
        b.buffer = buffer;
        out.push_back(std::move(b));
    }
};

}  // namespace

std::vector<KeyBinding> keyBindings(const ModelConfig& c, KeyLayout layout, int64_t expertFirst, int64_t expertLast) {
    const int64_t H = c.hidden_size, hd = c.head_dim;
    const int64_t qRows = c.num_attention_heads * hd, kvRows = c.num_key_value_heads * hd;
    const int64_t I = c.intermediate_size, Im = c.moe_intermediate_size, Is = Im * c.num_shared_experts;
    TableBuilder t;
    t.add("model.embed_tokens.weight", kEmbedTokens, {c.vocab_size, H});
    for (int64_t L = 0; L < c.num_hidden_layers; ++L) {
        const std::string p = "model.layers." + std::to_string(L) + ".";
        auto P = [&](const char* tensor) { return layerTensorName(L, tensor); };
        t.add(p + "input_layernorm.weight", P(layer_tensor::kInputNorm), {H});
        t.add(p + "post_attention_layernorm.weight", P(layer_tensor::kPostNorm), {H});
        t.add(p + "self_attn.q_proj.weight", P(layer_tensor::kQkvProj), {qRows, H}, -1, 0, qRows);
        t.add(p + "self_attn.k_proj.weight", P(layer_tensor::kQkvProj), {kvRows, H}, -1, qRows, kvRows);
        t.add(p + "self_attn.v_proj.weight", P(layer_tensor::kQkvProj), {kvRows, H}, -1, qRows + kvRows, kvRows);
        t.add(p + "self_attn.o_proj.weight", P(layer_tensor::kOProj), {H, qRows});
        t.add(p + "self_attn.q_norm.weight", P(layer_tensor::kQNorm), {hd});
        t.add(p + "self_attn.k_norm.weight", P(layer_tensor::kKNorm), {hd});
        if (!c.isMoeLayer(L)) {
            t.add(p + "mlp.gate_proj.weight", P(layer_tensor::kGateUpProj), {I, H}, -1, 0, I);
            t.add(p + "mlp.up_proj.weight", P(layer_tensor::kGateUpProj), {I, H}, -1, I, I);
            t.add(p + "mlp.down_proj.weight", P(layer_tensor::kDownProj), {H, I});
            continue;
        }
        const bool released = layout == KeyLayout::Released;
        t.add(p + (released ? "mlp.router.gate.weight" : "mlp.gate.weight"), P(layer_tensor::kRouter), {c.num_experts, H}, -1, 0, -1, true);
        if (c.moe_router_enable_expert_bias)
            t.add(p + (released ? "mlp.expert_bias" : "mlp.e_score_correction_bias"), P(layer_tensor::kExpertBias), {c.num_experts},
                  -1, 0, -1, true, true);
        const int64_t local = expertLast - expertFirst;
        if (released) {
            for (int64_t e = expertFirst; e < expertLast; ++e) {
                const std::string ep = p + "mlp.experts." + std::to_string(e) + ".";
                t.add(ep + "gate_proj.weight", P(layer_tensor::kExpertsGateUp), {Im, H}, e - expertFirst, 0, Im);
                t.add(ep + "up_proj.weight", P(layer_tensor::kExpertsGateUp), {Im, H}, e - expertFirst, Im, Im);
                t.add(ep + "down_proj.weight", P(layer_tensor::kExpertsDown), {H, Im}, e - expertFirst);
            }
        } else if (local > 0) {
            // HF groups all experts in one tensor; an expert range reads a slice of it (see the loader).
            t.add(p + "mlp.experts.gate_up_proj", P(layer_tensor::kExpertsGateUp), {c.num_experts, 2 * Im, H});
            t.add(p + "mlp.experts.down_proj", P(layer_tensor::kExpertsDown), {c.num_experts, H, Im});
        }
        if (c.num_shared_experts > 0) {
            const std::string sp = p + (released ? "mlp.shared_mlp." : "mlp.shared_experts.");
            t.add(sp + "gate_proj.weight", P(layer_tensor::kSharedGateUp), {Is, H}, -1, 0, Is);
            t.add(sp + "up_proj.weight", P(layer_tensor::kSharedGateUp), {Is, H}, -1, Is, Is);
            t.add(sp + "down_proj.weight", P(layer_tensor::kSharedDown), {H, Is});
        }
    }
    t.add("model.norm.weight", kFinalNorm, {H});
    if (!c.tie_word_embeddings) t.add("lm_head.weight", kLmHead, {c.vocab_size, H});
    return t.out;
}

}  // namespace hy3

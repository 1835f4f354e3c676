#include "train/fingerprint.h"

#include "config/model_source.h"

namespace hy3 {
using json = nlohmann::json;

json runFingerprint(const Project& p, const ModelConfig& c, const std::string& dataKey) {
    json f = {{"model",
             {{"vocab_size", c.vocab_size}, {"hidden_size", c.hidden_size}, {"num_hidden_layers", c.num_hidden_layers},
              {"num_attention_heads", c.num_attention_heads}, {"num_key_value_heads", c.num_key_value_heads},
              {"head_dim", c.head_dim}, {"intermediate_size", c.intermediate_size}, {"num_experts", c.num_experts},
              {"num_experts_per_tok", c.num_experts_per_tok}, {"moe_intermediate_size", c.moe_intermediate_size}}},
            {"data", dataKey},
            {"seq_len", p.training.seq_len},
            {"packing", p.training.packing},
            {"global_batch", p.training.global_batch},
            {"seed", p.training.seed},
            {"dtype", p.training.dtype},
            {"layout", {{"pp", p.layout.pp}, {"dp", p.layout.dp}, {"ep", p.layout.ep}}}};
    // A LoRA run continues exactly only with the same adapters (full runs record nothing here, as before).
    if (p.training.isLora()) {
        const LoraSpec& l = p.training.lora;
        f["lora"] = {{"rank", l.rank},         {"targets", l.targets},           {"attention", l.attention},
                     {"dense_mlp", l.dense_mlp}, {"shared_expert", l.shared_expert}, {"routed_experts", l.routed_experts},
                     {"train_router", l.train_router}};
        f["base_model"] = resolveModelSource(p.model).identity();  // the frozen weights the adapter is trained against
    }
    return f;
}

std::vector<std::string> fingerprintDifferences(const json& saved, const json& now) {
    std::vector<std::string> out;
    for (const auto& [key, value] : now.items()) {
        if (!saved.contains(key)) out.push_back(key + " (not recorded in the checkpoint)");
        else if (saved[key] != value) out.push_back(key + " (" + saved[key].dump() + " in the checkpoint, " + value.dump() + " now)");
    }
    return out;
}

}  // namespace hy3

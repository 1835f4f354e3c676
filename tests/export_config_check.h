#pragma once
// What every exported config.json must hold for HF transformers, vLLM, SGLang and NeMo AutoModel
// to load it unchanged (README: "What an export holds"), checked on a parsed file.
#include <nlohmann/json.hpp>

#include <string>

namespace hy3::test {

// The fields, each read by at least one of the four without a safe default.
inline const char* const kReaderConfigFields[] = {
    "architectures", "model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "head_dim", "intermediate_size", "hidden_act", "attention_bias", "qk_norm", "rms_norm_eps",
    "rope_parameters", "max_position_embeddings", "tie_word_embeddings", "initializer_range", "enable_lm_head_fp32",
    "enable_moe_fp32_combine", "num_experts", "num_experts_per_tok", "num_shared_experts", "moe_intermediate_size",
    "expert_hidden_dim", "router_scaling_factor", "route_norm", "moe_router_use_sigmoid", "moe_router_enable_expert_bias",
    "mlp_layer_types", "first_k_dense_replace", "num_nextn_predict_layers", "bos_token_id", "eos_token_id", "pad_token_id",
    "dtype", "torch_dtype"};

// Empty when `config` is complete and consistent (the two layer-plan spellings agree, the MTP count
// is `mtpLayers`); otherwise what is wrong.
inline std::string exportConfigProblem(const nlohmann::json& config, int64_t mtpLayers) {
    for (const char* field : kReaderConfigFields)
        if (!config.contains(field)) return std::string("missing ") + field;
    if (config.contains("hy3_tokenizer")) return "hy3_tokenizer (a preset-only field) was written";
    const int64_t layers = config["num_hidden_layers"], firstDense = config["first_k_dense_replace"];
    const nlohmann::json& types = config["mlp_layer_types"];
    if (static_cast<int64_t>(types.size()) < layers) return "mlp_layer_types is shorter than num_hidden_layers";
    for (int64_t i = 0; i < layers; ++i)
        if ((types[static_cast<size_t>(i)] == "dense") != (i < firstDense)) return "mlp_layer_types disagrees with first_k_dense_replace";
    if (config["expert_hidden_dim"] != config["moe_intermediate_size"]) return "expert_hidden_dim differs from moe_intermediate_size";
    if (config["num_nextn_predict_layers"] != mtpLayers)
        return "num_nextn_predict_layers is " + config["num_nextn_predict_layers"].dump() + ", expected " + std::to_string(mtpLayers);
    if (config["qk_norm"] != true) return "qk_norm is not true";
    return "";
}

}  // namespace hy3::test

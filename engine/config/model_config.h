#pragma once
// The Hy3 model configuration (HF `config.json`, model_type "hy_v3"). This parser is the only place
// in the project that reads a config.json; everything else takes a ModelConfig.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hy3 {

struct ModelConfig {
    std::string model_type;            // must be "hy_v3"
    int64_t vocab_size = 0;            // rows of embed_tokens and lm_head (V)
    int64_t hidden_size = 0;           // residual width (H)
    int64_t num_hidden_layers = 0;     // decoder blocks, without the MTP block (L)
    int64_t num_attention_heads = 0;   // query heads
    int64_t num_key_value_heads = 0;   // key/value heads (GQA); divides num_attention_heads
    int64_t head_dim = 0;              // channels per head; heads*head_dim may differ from H
    int64_t intermediate_size = 0;     // width of the dense SwiGLU MLP (I)
    std::vector<bool> dense_layers;    // per layer: true = dense MLP, false = MoE
    int64_t num_experts = 0;           // routed experts per MoE layer (E)
    int64_t num_experts_per_tok = 0;   // top-k (K)
    int64_t num_shared_experts = 0;    // always-on shared experts; the shared MLP is Im*shared wide
    int64_t moe_intermediate_size = 0; // width of one routed expert (Im)
    double router_scaling_factor = 1.0;      // multiplies the selected top-k weights
    bool route_norm = true;                  // renormalise the k weights to sum 1 before scaling
    bool moe_router_enable_expert_bias = true;  // e_score_correction_bias exists
    double rms_norm_eps = 1e-5;              // every RMSNorm
    double rope_theta = 10000.0;             // RoPE base
    std::string rope_type = "default";       // only plain RoPE is supported
    int64_t max_position_embeddings = 0;     // longest context the model was trained for
    bool tie_word_embeddings = false;        // lm_head shares embed_tokens
    int64_t num_nextn_predict_layers = 0;    // MTP blocks stored after the decoder layers; unused for SFT
    bool enable_moe_fp32_combine = true;     // add shared and routed outputs in fp32 (HF's default; the release says false)
    bool enable_lm_head_fp32 = false;        // the lm_head matmul in fp32 when the parameters are bf16
    bool qk_norm = true;                     // per-head q/k RMSNorm (always on in Hy3; false is refused)
    double initializer_range = 0.006;        // std of the random initialisation (HF's default)
    int64_t bos_token_id = -1;
    int64_t eos_token_id = -1;
    int64_t pad_token_id = -1;
    std::string dtype = "bfloat16";          // `dtype`, or `torch_dtype` in older files
    std::string hy3_tokenizer;               // presets only: the bundled tokenizer, resources/tokenizers/<name>

    nlohmann::json raw;                      // the whole file as read: unknown fields are kept
    // Fields that change the model and that the file lacks, each with the value taken and who
    // takes it otherwise: "route_norm: absent, taken as true (HF transformers; NeMo AutoModel takes false)".
    std::vector<std::string> absentFields;

    int64_t denseLayerCount() const;
    int64_t moeLayerCount() const;
    bool isMoeLayer(int64_t layer) const { return !dense_layers.at(static_cast<size_t>(layer)); }
    // The embedding row that gets no gradient (HF: nn.Embedding padding_idx = pad_token_id), or -1.
    int64_t paddingIndex() const { return pad_token_id >= 0 && pad_token_id < vocab_size ? pad_token_id : -1; }
};

// Parses and validates. `source` names the file in errors. Throws hy3::Error with one line:
// "<source>: <field>: <reason>".
ModelConfig parseModelConfig(const nlohmann::json& doc, const std::string& source);

// Reads PATH, which is a config.json or a model directory holding one.
ModelConfig loadModelConfig(const std::filesystem::path& path);

// The same model cut to its first `layers` decoder layers (a slice of a large model that fits a
// benchmark); `field` names the option in the error when `layers` is out of range. 0: unchanged.
ModelConfig firstLayers(ModelConfig config, int64_t layers, const std::string& field);

// "0: dense, 1-79: MoE" style summary of the layer plan.
std::string describeLayerPlan(const ModelConfig& config);

}  // namespace hy3

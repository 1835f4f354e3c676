#include "config/model_config.h"

#include "util/atomic_file.h"
#include "util/error.h"
#include "util/json_fields.h"

#include <sstream>

namespace hy3 {
namespace {

// A required integer field that must be at least 1.
int64_t positive(const JsonFields& f, const std::string& key) {
    int64_t value = f.integer(key);
    if (value <= 0) f.fail(key, "must be a positive integer, got " + std::to_string(value));
    return value;
}

// A field the file lacks: the value taken, and how the other readers differ.
void noteAbsent(const JsonFields& f, ModelConfig& c, const std::string& key, const std::string& taken, const std::string& why) {
    if (!f.has(key)) c.absentFields.push_back(key + ": absent, taken as " + taken + " (" + why + ")");
}

std::vector<bool> readDenseLayers(const JsonFields& f, int64_t layers) {
    std::vector<bool> dense(static_cast<size_t>(layers), false);
    // `mlp_layer_types` wins over `first_k_dense_replace` when both are given.
    if (const json* types = f.find("mlp_layer_types")) {
        if (!types->is_array()) f.fail("mlp_layer_types", "expected an array of \"dense\"/\"sparse\"");
        // The list may also cover the MTP block; only the decoder layers matter here.
        if (static_cast<int64_t>(types->size()) < layers)
            f.fail("mlp_layer_types", "has " + std::to_string(types->size()) + " entries, expected " +
                                          std::to_string(layers) + " (num_hidden_layers)");
        for (int64_t i = 0; i < layers; ++i) {
            const json& t = (*types)[static_cast<size_t>(i)];
            if (t == "dense") dense[static_cast<size_t>(i)] = true;
            else if (t == "sparse" || t == "moe") dense[static_cast<size_t>(i)] = false;
            else f.fail("mlp_layer_types[" + std::to_string(i) + "]", "expected \"dense\" or \"sparse\", got " + brief(t));
        }
        return dense;
    }
    // Neither field: layer 0 dense, as HF's default mlp_layer_types ["dense", "sparse", ...].
    int64_t firstDense = f.optionalInteger("first_k_dense_replace").value_or(1);
    if (firstDense < 0 || firstDense > layers)
        f.fail("first_k_dense_replace", "must be between 0 and num_hidden_layers (" + std::to_string(layers) +
                                            "), got " + std::to_string(firstDense));
    for (int64_t i = 0; i < firstDense; ++i) dense[static_cast<size_t>(i)] = true;
    return dense;
}

void readRope(const JsonFields& f, ModelConfig& c) {
    // Newer files nest RoPE settings in `rope_parameters`; older ones put `rope_theta` at top level.
    if (const json* params = f.find("rope_parameters")) {
        JsonFields rope(*params, f.source(), f.prefix() + "rope_parameters.");
        c.rope_theta = rope.number("rope_theta");
        c.rope_type = rope.optionalString("rope_type").value_or("default");
        if (c.rope_type != "default")
            rope.fail("rope_type", "\"" + c.rope_type + "\" is not supported (only \"default\" RoPE)");
    } else {
        c.rope_theta = f.optionalNumber("rope_theta").value_or(11158840.0);  // HF's default_theta for Hy3
        if (const json* scaling = f.find("rope_scaling"))
            f.fail("rope_scaling", "RoPE scaling " + brief(*scaling) + " is not supported");
    }
    if (!(c.rope_theta > 0)) f.fail("rope_parameters.rope_theta", "must be positive");
}

void readMoe(const JsonFields& f, ModelConfig& c) {
    if (c.moeLayerCount() == 0) {
        c.num_experts = f.optionalInteger("num_experts").value_or(0);
        c.num_experts_per_tok = f.optionalInteger("num_experts_per_tok").value_or(0);
        c.num_shared_experts = f.optionalInteger("num_shared_experts").value_or(0);
        c.moe_intermediate_size = f.optionalInteger("moe_intermediate_size").value_or(0);
        return;
    }
    c.num_experts = positive(f, "num_experts");
    c.num_experts_per_tok = positive(f, "num_experts_per_tok");
    if (c.num_experts_per_tok > c.num_experts)
        f.fail("num_experts_per_tok", std::to_string(c.num_experts_per_tok) + " is larger than num_experts (" +
                                          std::to_string(c.num_experts) + ")");
    c.num_shared_experts = f.optionalInteger("num_shared_experts").value_or(1);
    if (c.num_shared_experts < 0) f.fail("num_shared_experts", "must not be negative");
    c.moe_intermediate_size = positive(f, "moe_intermediate_size");
    c.router_scaling_factor = f.optionalNumber("router_scaling_factor").value_or(2.826);
    c.route_norm = f.boolean("route_norm", true);
    noteAbsent(f, c, "num_shared_experts", "1", "HF transformers; SGLang and NeMo AutoModel take 0");
    noteAbsent(f, c, "router_scaling_factor", "2.826", "HF transformers; SGLang and NeMo AutoModel take 1.0, vLLM none");
    noteAbsent(f, c, "route_norm", "true", "HF transformers and vLLM; NeMo AutoModel takes false, SGLang fails");
    c.moe_router_enable_expert_bias = f.boolean("moe_router_enable_expert_bias", true);
    if (!f.boolean("moe_router_use_sigmoid", true))
        f.fail("moe_router_use_sigmoid", "only sigmoid routing is supported");
}

}  // namespace

int64_t ModelConfig::denseLayerCount() const {
    int64_t n = 0;
    for (bool d : dense_layers) n += d ? 1 : 0;
    return n;
}

int64_t ModelConfig::moeLayerCount() const {
    return static_cast<int64_t>(dense_layers.size()) - denseLayerCount();
}

ModelConfig parseModelConfig(const json& doc, const std::string& source) {
    JsonFields f(doc, source);
    ModelConfig c;
    c.raw = doc;
    c.model_type = f.optionalString("model_type").value_or("");
    if (c.model_type.empty()) f.fail("model_type", "required field is missing (expected \"hy_v3\")");
    if (c.model_type != "hy_v3") f.fail("model_type", "\"" + c.model_type + "\" is not a Hy3 model (expected \"hy_v3\")");

    c.vocab_size = positive(f, "vocab_size");
    c.hidden_size = positive(f, "hidden_size");
    c.num_hidden_layers = positive(f, "num_hidden_layers");
    // Eight times the deepest published transformers (about 126 layers); the planner's stage split
    // is quadratic in the layer count, so a config of millions of layers must stop here.
    if (c.num_hidden_layers > 1024)
        f.fail("num_hidden_layers", std::to_string(c.num_hidden_layers) + " layers: more than the 1024 this engine plans for");
    c.num_attention_heads = positive(f, "num_attention_heads");
    c.num_key_value_heads = f.optionalInteger("num_key_value_heads").value_or(c.num_attention_heads);
    if (c.num_key_value_heads <= 0) f.fail("num_key_value_heads", "must be a positive integer");
    if (c.num_attention_heads % c.num_key_value_heads != 0)
        f.fail("num_attention_heads", std::to_string(c.num_attention_heads) +
                                          " is not divisible by num_key_value_heads (" +
                                          std::to_string(c.num_key_value_heads) + ")");
    if (f.has("head_dim")) {
        c.head_dim = positive(f, "head_dim");
    } else {
        if (c.hidden_size % c.num_attention_heads != 0)
            f.fail("head_dim", "missing, and hidden_size is not divisible by num_attention_heads");
        c.head_dim = c.hidden_size / c.num_attention_heads;
    }
    if (c.head_dim % 2 != 0) f.fail("head_dim", "must be even for rotate-half RoPE, got " + std::to_string(c.head_dim));

    c.dense_layers = readDenseLayers(f, c.num_hidden_layers);
    if (!f.has("mlp_layer_types") && !f.has("first_k_dense_replace"))
        c.absentFields.push_back("mlp_layer_types and first_k_dense_replace: absent, taken as layer 0 dense (HF transformers; "
                                 "SGLang makes every layer MoE, vLLM fails)");
    if (c.denseLayerCount() > 0) c.intermediate_size = positive(f, "intermediate_size");
    else c.intermediate_size = f.optionalInteger("intermediate_size").value_or(0);
    readMoe(f, c);

    c.rms_norm_eps = f.optionalNumber("rms_norm_eps").value_or(1e-5);
    if (!(c.rms_norm_eps > 0)) f.fail("rms_norm_eps", "must be positive");
    readRope(f, c);
    c.max_position_embeddings = f.optionalInteger("max_position_embeddings").value_or(131072);  // HF's default
    c.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
    if (f.boolean("attention_bias", false)) f.fail("attention_bias", "projection biases are not part of Hy3");
    if (auto act = f.optionalString("hidden_act"); act && *act != "silu")
        f.fail("hidden_act", "\"" + *act + "\" is not supported (Hy3 uses \"silu\")");
    c.num_nextn_predict_layers = f.optionalInteger("num_nextn_predict_layers").value_or(0);
    if (c.num_nextn_predict_layers < 0) f.fail("num_nextn_predict_layers", "must not be negative");
    c.enable_moe_fp32_combine = f.boolean("enable_moe_fp32_combine", true);
    noteAbsent(f, c, "enable_moe_fp32_combine", "true", "HF transformers; vLLM takes false");
    c.enable_lm_head_fp32 = f.boolean("enable_lm_head_fp32", false);
    noteAbsent(f, c, "enable_lm_head_fp32", "false", "HF transformers computes the head in the parameters' dtype");
    c.qk_norm = f.boolean("qk_norm", true);
    if (!c.qk_norm) f.fail("qk_norm", "false is not supported: Hy3 normalises q and k per head (q_norm, k_norm)");
    noteAbsent(f, c, "qk_norm", "true", "HF transformers and vLLM; SGLang skips the q/k norm, so always write it");
    c.initializer_range = f.optionalNumber("initializer_range").value_or(0.006);
    if (!(c.initializer_range > 0)) f.fail("initializer_range", "must be positive");
    c.bos_token_id = f.optionalInteger("bos_token_id").value_or(-1);
    c.eos_token_id = f.optionalInteger("eos_token_id").value_or(-1);
    c.pad_token_id = f.optionalInteger("pad_token_id").value_or(-1);
    for (const char* key : {"bos_token_id", "eos_token_id", "pad_token_id"}) {
        auto id = f.optionalInteger(key);
        if (id && (*id < 0 || *id >= c.vocab_size))
            f.fail(key, std::to_string(*id) + " is outside the vocabulary (vocab_size " + std::to_string(c.vocab_size) + ")");
    }
    c.dtype = f.optionalString("dtype").value_or(f.optionalString("torch_dtype").value_or("bfloat16"));
    c.hy3_tokenizer = f.optionalString("hy3_tokenizer").value_or("");
    return c;
}

ModelConfig loadModelConfig(const std::filesystem::path& path) {
    std::filesystem::path file = path;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        file = path / "config.json";
        if (!std::filesystem::exists(file, ec))
            fail(path.string(), "no config.json in this directory (expected an HF model directory)");
    }
    return parseModelConfig(readJsonFile(file), file.string());
}

std::string describeLayerPlan(const ModelConfig& c) {
    std::ostringstream out;
    const int64_t n = static_cast<int64_t>(c.dense_layers.size());
    int64_t start = 0;
    while (start < n) {
        int64_t end = start;
        while (end + 1 < n && c.dense_layers[static_cast<size_t>(end + 1)] == c.dense_layers[static_cast<size_t>(start)]) ++end;
        if (start > 0) out << ", ";
        out << start;
        if (end > start) out << "-" << end;
        out << ": " << (c.dense_layers[static_cast<size_t>(start)] ? "dense" : "MoE");
        start = end + 1;
    }
    return out.str();
}

ModelConfig firstLayers(ModelConfig config, int64_t layers, const std::string& field) {
    if (layers == 0) return config;
    if (layers < 1 || layers > config.num_hidden_layers)
        fail(field, "must be between 1 and the model's " + std::to_string(config.num_hidden_layers) + " layers, got " +
                        std::to_string(layers));
    config.num_hidden_layers = layers;
    config.dense_layers.resize(static_cast<size_t>(layers));
    return config;
}

}  // namespace hy3

#include "api/model_report.h"

#include "checkpoint/verify.h"
#include "config/model_source.h"
#include "config/resources.h"
#include "data/chat_format.h"
#include "util/error.h"
#include "util/format.h"

namespace hy3::api {
namespace {

std::string onOff(bool value) { return value ? "on" : "off"; }

std::vector<std::pair<std::string, std::string>> architectureLines(const ModelConfig& c) {
    std::vector<std::pair<std::string, std::string>> lines;
    std::string layers = std::to_string(c.num_hidden_layers) + " (" + describeLayerPlan(c) + ")";
    if (c.num_nextn_predict_layers > 0)
        layers += " + " + std::to_string(c.num_nextn_predict_layers) + " MTP block (skipped for SFT)";
    lines.emplace_back("Layers", layers);
    lines.emplace_back("Hidden size", std::to_string(c.hidden_size));
    lines.emplace_back("Attention", std::to_string(c.num_attention_heads) + " heads x " + std::to_string(c.head_dim) +
                                        ", " + std::to_string(c.num_key_value_heads) +
                                        " KV heads (GQA), per-head q/k RMSNorm");
    if (c.denseLayerCount() > 0) lines.emplace_back("Dense MLP", "SwiGLU, width " + std::to_string(c.intermediate_size));
    if (c.moeLayerCount() > 0) {
        lines.emplace_back("MoE", std::to_string(c.num_experts) + " routed experts x " +
                                      std::to_string(c.moe_intermediate_size) + ", top-" +
                                      std::to_string(c.num_experts_per_tok) + ", " +
                                      std::to_string(c.num_shared_experts) + " shared");
        lines.emplace_back("Router", "sigmoid, scaling " + fixed(c.router_scaling_factor, 3) + ", renormalise " +
                                         onOff(c.route_norm) + ", expert bias " +
                                         onOff(c.moe_router_enable_expert_bias) + ", fp32 combine " +
                                         onOff(c.enable_moe_fp32_combine));
    }
    lines.emplace_back("Vocabulary", std::to_string(c.vocab_size) + (c.tie_word_embeddings ? " (tied lm_head)" : "") +
                                         (c.enable_lm_head_fp32 ? ", lm_head in fp32" : ""));
    lines.emplace_back("RoPE", "theta " + plainNumber(c.rope_theta) + ", max positions " +
                                   std::to_string(c.max_position_embeddings));
    lines.emplace_back("Dtype", c.dtype);
    return lines;
}

}  // namespace

ModelReport describeModel(const std::string& source, int64_t seqLen) {
    if (seqLen <= 0) fail("--seq-len", "must be a positive integer, got " + std::to_string(seqLen));
    ModelReport report;
    report.source = source;
    const ModelSource model = resolveModelSource(source);
    report.is_preset = model.isPreset();
    report.config = model.config;
    report.config_path = model.configFile.string();
    report.parameters = countParameters(report.config);
    report.seq_len = seqLen;
    report.training_flops_per_token = trainingFlopsPerToken(report.config, seqLen);
    report.architecture = architectureLines(report.config);
    return report;
}

ModelFiles checkModelFiles(const std::string& source, const std::string& tokenizer) {
    ModelFiles files;
    std::error_code ec;
    // The model as the project would name it, so the tokenizer is chosen by training's own rule.
    ModelSpec spec;
    spec.tokenizer = tokenizer;
    if (!std::filesystem::exists(source, ec) && presetExists(source)) {
        spec.preset = source;
    } else {
        spec.directory = std::filesystem::is_directory(source, ec) ? std::filesystem::path(source) : std::filesystem::path(source).parent_path();
        try {
            files.problems = verifyCheckpoint(spec.directory);
        } catch (const std::exception& e) {
            files.problems.push_back(e.what());
        }
    }
    std::filesystem::path tokenizerDir;
    try {
        tokenizerDir = tokenizerDirOf(spec);
    } catch (const std::exception& e) {
        files.problems.push_back(e.what());
        return files;
    }
    if (!std::filesystem::exists(tokenizerDir / "tokenizer.json", ec)) {  // a model.tokenizer folder without one
        files.problems.push_back("no tokenizer.json in " + tokenizerDir.string() + " (set model.tokenizer in the project)");
        return files;
    }
    files.tokenizer = tokenizerDir.string();
    try {
        files.chatTemplate = ChatFormat::choose(Tokenizer::load(tokenizerDir), "auto", "no_think").description();
    } catch (const std::exception& e) {
        files.problems.push_back(e.what());
    }
    return files;
}

std::vector<std::string> projectModelProblems(const ProjectFile& project) {
    if (!project.validate().empty()) return {};
    const Project p = project.resolve();
    const std::string source = p.model.preset.empty() ? p.model.directory.string() : p.model.preset;
    return checkModelFiles(source, p.model.tokenizer.string()).problems;
}

}  // namespace hy3::api

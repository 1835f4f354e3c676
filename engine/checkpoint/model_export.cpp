#include "checkpoint/model_export.h"

#include "checkpoint/key_names.h"
#include "checkpoint/model_dir.h"
#include "checkpoint/safetensors.h"
#include "checkpoint/tensor_io.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/sha256.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cctype>
#include <cmath>
#include <set>

namespace hy3 {
namespace fs = std::filesystem;

namespace {

// Files of an HF model directory besides the weights that a user expects to travel with it.
const char* const kCompanionFiles[] = {"generation_config.json", "tokenizer.json", "tokenizer_config.json",
                                       "special_tokens_map.json", "chat_template.jinja", "added_tokens.json",
                                       "vocab.json", "merges.txt", "tokenizer.model"};

uint64_t bytesOf(const KeyBinding& b, torch::Dtype weights) {
    uint64_t n = 1;
    for (int64_t d : b.shape) n *= static_cast<uint64_t>(d);
    return n * dtypeSize(exportedDtype(b, weights));
}

}  // namespace

DType exportedDtype(const KeyBinding& b, torch::Dtype weights) { return b.alwaysFp32 ? DType::F32 : safetensorsDtype(weights); }

std::vector<std::vector<const KeyBinding*>> planExportShards(const std::vector<KeyBinding>& bindings, const ExportOptions& o) {
    std::vector<std::vector<const KeyBinding*>> shards(1);
    uint64_t shardBytes = 0;
    for (const KeyBinding& b : bindings) {
        const uint64_t bytes = bytesOf(b, o.dtype);
        if (!shards.back().empty() && shardBytes + bytes > o.shardBytes) {
            shards.emplace_back();
            shardBytes = 0;
        }
        shards.back().push_back(&b);
        shardBytes += bytes;
    }
    return shards;
}

nlohmann::json exportedConfig(const ModelConfig& c, torch::Dtype dtype, int64_t mtpLayers) {
    nlohmann::json out = c.raw;  // every original field, unknown ones too
    out.erase("hy3_tokenizer");  // a preset's bundled tokenizer: meaningless outside this tool
    const auto keep = [&out](const char* key, const nlohmann::json& value) {
        if (!out.contains(key)) out[key] = value;
    };
    out["model_type"] = "hy_v3";
    keep("architectures", {"HYV3ForCausalLM"});
    keep("head_dim", c.head_dim);
    keep("num_key_value_heads", c.num_key_value_heads);
    keep("hidden_act", "silu");
    keep("attention_bias", false);
    keep("qk_norm", true);  // SGLang skips the q/k norm when it is missing
    keep("rms_norm_eps", c.rms_norm_eps);
    keep("max_position_embeddings", c.max_position_embeddings);
    keep("tie_word_embeddings", c.tie_word_embeddings);
    keep("initializer_range", c.initializer_range);
    keep("enable_lm_head_fp32", c.enable_lm_head_fp32);
    keep("enable_moe_fp32_combine", c.enable_moe_fp32_combine);
    if (!out.contains("rope_parameters")) out["rope_parameters"] = {{"rope_theta", c.rope_theta}, {"rope_type", c.rope_type}};
    if (c.denseLayerCount() > 0) keep("intermediate_size", c.intermediate_size);
    if (c.moeLayerCount() > 0) {
        keep("num_experts", c.num_experts);
        keep("num_experts_per_tok", c.num_experts_per_tok);
        keep("num_shared_experts", c.num_shared_experts);
        keep("moe_intermediate_size", c.moe_intermediate_size);
        keep("expert_hidden_dim", c.moe_intermediate_size);  // what vLLM reads for the expert width
        keep("router_scaling_factor", c.router_scaling_factor);
        keep("route_norm", c.route_norm);  // SGLang fails without it
        keep("moe_router_use_sigmoid", true);
        keep("moe_router_enable_expert_bias", c.moe_router_enable_expert_bias);
    }
    // The layer plan in both spellings, consistent: HF reads mlp_layer_types, vLLM, SGLang and
    // NeMo AutoModel read first_k_dense_replace.
    if (!out.contains("mlp_layer_types")) {
        nlohmann::json types = nlohmann::json::array();
        for (bool dense : c.dense_layers) types.push_back(dense ? "dense" : "sparse");
        out["mlp_layer_types"] = types;
    }
    int64_t leadingDense = 0;
    while (leadingDense < c.num_hidden_layers && c.dense_layers[static_cast<size_t>(leadingDense)]) ++leadingDense;
    if (leadingDense == c.denseLayerCount()) out["first_k_dense_replace"] = leadingDense;
    else out.erase("first_k_dense_replace");  // not a first-k plan: only mlp_layer_types can say it
    out["num_nextn_predict_layers"] = mtpLayers;
    if (c.bos_token_id >= 0) keep("bos_token_id", c.bos_token_id);
    if (c.eos_token_id >= 0) keep("eos_token_id", c.eos_token_id);
    if (c.pad_token_id >= 0) keep("pad_token_id", c.pad_token_id);
    const char* name = dtype == torch::kFloat ? "float32" : "bfloat16";
    out["dtype"] = name;
    out["torch_dtype"] = name;  // NeMo AutoModel reads config.torch_dtype
    return out;
}

std::string shardName(size_t index, size_t count) {
    if (count == 1) return "model.safetensors";
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", index + 1, count);
    return name;
}

std::string mtpShardName(size_t index, size_t count) {
    if (count == 1) return "model-mtp.safetensors";
    char name[64];
    std::snprintf(name, sizeof name, "model-mtp-%05zu-of-%05zu.safetensors", index + 1, count);
    return name;
}

uint64_t parseByteSize(const std::string& text, const std::string& what) {
    size_t pos = 0;
    double value = 0;
    try {
        value = std::stod(text, &pos);
    } catch (const std::exception&) {
        fail(what, "expected a size such as 5GB or 500MB, got \"" + text + "\"");
    }
    std::string unit = text.substr(pos);
    for (char& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    const std::pair<const char*, double> units[] = {{"", 1},      {"B", 1},       {"KB", 1e3},       {"MB", 1e6},
                                                    {"GB", 1e9},  {"TB", 1e12},   {"KIB", 1024.0},   {"MIB", 1048576.0},
                                                    {"GIB", 1073741824.0}, {"TIB", 1099511627776.0}};
    for (const auto& [name, scale] : units)
        if (unit == name) {
            if (!(value > 0) || !std::isfinite(value)) fail(what, "must be positive, got \"" + text + "\"");
            return static_cast<uint64_t>(value * scale);
        }
    fail(what, "unknown unit \"" + unit + "\" (use B, KB, MB, GB, TB or KiB, MiB, GiB, TiB)");
}

namespace {

// Writes `tensors` of the model into one safetensors file; returns its SHA-256 and the bytes written.
std::pair<std::string, uint64_t> writeShard(Hy3ModelImpl& model, const fs::path& path, const std::vector<const KeyBinding*>& tensors,
                                            torch::Dtype dtype) {
    torch::NoGradGuard noGrad;
    SafetensorsWriter writer(path, {{"format", "pt"}});
    for (const KeyBinding* b : tensors) writer.declare(b->key, exportedDtype(*b, dtype), b->shape);
    writer.begin();
    uint64_t bytes = 0;
    for (const KeyBinding* b : tensors) {
        torch::Tensor t = model.tensor(b->param);
        if (b->expert >= 0) t = t.select(0, b->expert);
        if (b->rowCount >= 0) t = t.narrow(0, b->rowStart, b->rowCount);
        const torch::Tensor out = t.to(torch::kCPU, torchDtype(exportedDtype(*b, dtype))).contiguous();
        writer.write(b->key, out.data_ptr(), static_cast<size_t>(out.numel()) * out.element_size());
        bytes += static_cast<uint64_t>(out.numel()) * out.element_size();
    }
    return {writer.finish(), bytes};
}

std::string writeJsonFile(const fs::path& path, const nlohmann::json& doc) {
    const std::string text = doc.dump(2) + "\n";
    writeFileAtomic(path, text);
    Sha256 hash;
    hash.update(text.data(), text.size());
    return hash.hex();
}

void checkDtype(torch::Dtype dtype) {
    if (dtype != torch::kFloat && dtype != torch::kBFloat16) fail("--dtype", "export writes bf16 or fp32");
}

}  // namespace

ExportReport exportModel(Hy3ModelImpl& model, const fs::path& dir, const ExportOptions& o) {
    const ModelConfig& c = model.config();
    if (model.localExperts() != c.num_experts || !model.holdsEmbedding() || !model.holdsHead())
        fail(dir.string(), "this model holds only part of the layers or experts; a full export needs all");
    checkDtype(o.dtype);
    const std::vector<KeyBinding> bindings = keyBindings(c, KeyLayout::Released, 0, c.num_experts);
    const auto shards = planExportShards(bindings, o);

    ExportReport report;
    report.shards = static_cast<int64_t>(shards.size());
    std::map<std::string, std::string> weightMap;
    for (size_t i = 0; i < shards.size(); ++i) {
        const std::string name = shardName(i, shards.size());
        const auto [sha, bytes] = writeShard(model, dir / name, shards[i], o.dtype);
        for (const KeyBinding* b : shards[i]) weightMap[b->key] = name;
        report.sha256[name] = sha;
        report.tensorBytes += bytes;
        report.tensors += static_cast<int64_t>(shards[i].size());
    }
    for (const auto& [file, sha] : finishModelDirectory(c, dir, weightMap, report.tensorBytes, o.dtype, o.sources)) report.sha256[file] = sha;
    return report;
}

void checkExportDestination(const fs::path& destinationIn) {
    const fs::path destination = fs::absolute(destinationIn);
    std::error_code ec;
    if (fs::exists(destination, ec) && !fs::is_empty(destination, ec))
        fail(destination.string(), "already exists and is not empty (export never overwrites)");
    if (!fs::is_directory(destination.parent_path(), ec))
        fail(destination.string(), "folder " + destination.parent_path().string() + " does not exist");
}

ExportReport exportModelInto(Hy3ModelImpl& model, const fs::path& destination, const ExportOptions& options) {
    return writeDirectoryInto(destination, [&](const fs::path& dir) { return exportModel(model, dir, options); });
}

ExportReport writeDirectoryInto(const fs::path& destinationIn, const std::function<ExportReport(const fs::path& dir)>& write) {
    const fs::path destination = fs::absolute(destinationIn);
    checkExportDestination(destination);
    std::error_code ec;
    const fs::path temp = destination.parent_path() / (".tmp-export-" + destination.filename().string() + "-" + std::to_string(::getpid()));
    fs::remove_all(temp, ec);
    fs::create_directory(temp);
    try {
        ExportReport report = write(temp);
        if (fs::exists(destination, ec)) fs::remove(destination);  // the empty directory
        fs::rename(temp, destination);
        syncDirectory(destination.parent_path());
        return report;
    } catch (...) {
        fs::remove_all(temp, ec);
        throw;
    }
}

PartReport exportModelPart(Hy3ModelImpl& model, const fs::path& dir, const std::string& file, torch::Dtype dtype, bool withReplicated) {
    checkDtype(dtype);
    const ModelConfig& c = model.config();
    const std::vector<KeyBinding> bindings = keyBindings(c, KeyLayout::Released, model.expertFirst(), model.expertFirst() + model.localExperts());
    std::vector<const KeyBinding*> mine;
    for (const KeyBinding& b : bindings) {
        const bool routedExpert = isRoutedExpert(b.param);
        if (model.holds(b.param) && (routedExpert || withReplicated)) mine.push_back(&b);
    }
    PartReport part;
    part.file = file;
    const auto [sha, bytes] = writeShard(model, dir / file, mine, dtype);
    part.sha256 = sha;
    part.tensorBytes = bytes;
    part.tensors = static_cast<int64_t>(mine.size());
    for (const KeyBinding* b : mine) part.weightMap[b->key] = file;
    return part;
}

namespace {

struct CopiedMtp {
    std::map<std::string, std::string> weightMap;  // tensor -> its file
    std::map<std::string, std::string> sha256;     // file -> SHA-256
    uint64_t bytes = 0;
    int64_t layers = 0;  // MTP blocks copied
};

// Copies the MTP blocks of a model directory (layers at and after num_hidden_layers) into shards
// of at most `shardBytes`, byte for byte in their own dtype: they are not trained, and vLLM and
// SGLang use them for speculative decoding. Nothing when the directory has none.
CopiedMtp copyMtpTensors(const fs::path& from, const fs::path& dir, uint64_t shardBytes) {
    CopiedMtp out;
    std::error_code ec;
    // A directory with a config.json but no weights (a model initialised from the seed) has no MTP block either.
    if (!fs::exists(from / "config.json", ec) || !ModelDirectory::hasWeights(from)) return out;
    ModelDirectory source = ModelDirectory::open(from);
    std::vector<std::vector<std::string>> shards(1);
    uint64_t shardSize = 0;
    std::set<int64_t> layers;
    for (const std::string& name : source.tensorNames()) {
        const int64_t layer = layerOfKey(name);
        if (layer < source.config().num_hidden_layers) continue;
        const uint64_t bytes = source.locate(name).second->bytes();
        if (!shards.back().empty() && shardSize + bytes > shardBytes) {
            shards.emplace_back();
            shardSize = 0;
        }
        shards.back().push_back(name);
        shardSize += bytes;
        layers.insert(layer);
    }
    if (layers.empty()) return out;
    for (size_t i = 0; i < shards.size(); ++i) {
        const std::string file = mtpShardName(i, shards.size());
        SafetensorsWriter writer(dir / file, {{"format", "pt"}});
        for (const std::string& name : shards[i]) {
            const TensorInfo* info = source.locate(name).second;
            writer.declare(name, info->dtype, info->shape);
        }
        writer.begin();
        for (const std::string& name : shards[i]) {
            const auto [shard, info] = source.locate(name);
            writer.write(name, shard->data(*info), info->bytes());
            shard->release(*info);
            out.weightMap[name] = file;
            out.bytes += info->bytes();
        }
        out.sha256[file] = writer.finish();
    }
    out.layers = static_cast<int64_t>(layers.size());
    return out;
}

}  // namespace

std::map<std::string, std::string> finishModelDirectory(const ModelConfig& c, const fs::path& dir, std::map<std::string, std::string> weightMap,
                                                        uint64_t totalBytes, torch::Dtype dtype, const ExportSources& sources) {
    std::map<std::string, std::string> sha;
    const CopiedMtp mtp = copyMtpTensors(sources.mtpFrom, dir, sources.mtpShardBytes);
    sha.insert(mtp.sha256.begin(), mtp.sha256.end());
    weightMap.insert(mtp.weightMap.begin(), mtp.weightMap.end());
    totalBytes += mtp.bytes;
    std::set<std::string> files;
    for (const auto& [key, file] : weightMap) files.insert(file);
    if (files.size() > 1) {  // one model.safetensors needs no index (HF loads it alone)
        nlohmann::json map = nlohmann::json::object();
        for (const auto& [key, file] : weightMap) map[key] = file;
        sha["model.safetensors.index.json"] =
            writeJsonFile(dir / "model.safetensors.index.json", {{"metadata", {{"total_size", totalBytes}}}, {"weight_map", map}});
    }
    sha["config.json"] = writeJsonFile(dir / "config.json", exportedConfig(c, dtype, mtp.layers));
    if (!sources.companions.empty())
        for (const auto& [file, hash] : copyCompanionFiles(sources.companions, dir)) sha[file] = hash;
    syncDirectory(dir);
    return sha;
}

std::map<std::string, std::string> copyCompanionFiles(const fs::path& from, const fs::path& dir) {
    std::map<std::string, std::string> sha;
    std::error_code ec;
    for (const char* file : kCompanionFiles)
        if (fs::is_regular_file(from / file, ec)) sha[file] = copyFileDurably(from / file, dir / file);
    return sha;
}

}  // namespace hy3

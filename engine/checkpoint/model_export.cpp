#include "checkpoint/model_export.h"

#include "checkpoint/key_names.h"
#include "checkpoint/safetensors.h"
#include "checkpoint/tensor_io.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/sha256.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cmath>

namespace hy3 {
namespace fs = std::filesystem;

namespace {

// Files of an HF model directory besides the weights that a user expects to travel with it.
const char* const kCompanionFiles[] = {"generation_config.json", "tokenizer.json", "tokenizer_config.json",
                                       "special_tokens_map.json", "chat_template.jinja", "added_tokens.json",
                                       "vocab.json", "merges.txt", "tokenizer.model"};

struct Shard {
    std::vector<const KeyBinding*> tensors;
    uint64_t bytes = 0;
};

DType outputDtype(const KeyBinding& b, torch::Dtype weights) {
    return b.buffer ? DType::F32 : safetensorsDtype(weights);
}

uint64_t bytesOf(const KeyBinding& b, torch::Dtype weights) {
    uint64_t n = 1;
    for (int64_t d : b.shape) n *= static_cast<uint64_t>(d);
    return n * dtypeSize(outputDtype(b, weights));
}

std::vector<Shard> planShards(const std::vector<KeyBinding>& bindings, const ExportOptions& o) {
    std::vector<Shard> shards(1);
    for (const KeyBinding& b : bindings) {
        const uint64_t bytes = bytesOf(b, o.dtype);
        if (!shards.back().tensors.empty() && shards.back().bytes + bytes > o.shardBytes) shards.emplace_back();
        shards.back().tensors.push_back(&b);
        shards.back().bytes += bytes;
    }
    return shards;
}

nlohmann::json exportedConfig(const ModelConfig& c, torch::Dtype dtype) {
    nlohmann::json out = c.raw;  // every original field, unknown ones too
    if (!out.contains("architectures")) out["architectures"] = {"HYV3ForCausalLM"};
    const char* name = dtype == torch::kFloat ? "float32" : "bfloat16";
    out["dtype"] = name;
    if (out.contains("torch_dtype")) out["torch_dtype"] = name;
    return out;
}

}  // namespace

std::string shardName(size_t index, size_t count) {
    if (count == 1) return "model.safetensors";
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", index + 1, count);
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
    for (const KeyBinding* b : tensors) writer.declare(b->key, outputDtype(*b, dtype), b->shape);
    writer.begin();
    uint64_t bytes = 0;
    for (const KeyBinding* b : tensors) {
        torch::Tensor t = model.tensor(b->param);
        if (b->expert >= 0) t = t.select(0, b->expert);
        if (b->rowCount >= 0) t = t.narrow(0, b->rowStart, b->rowCount);
        const torch::Tensor out = t.to(torch::kCPU, torchDtype(outputDtype(*b, dtype))).contiguous();
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
    const std::vector<Shard> shards = planShards(bindings, o);

    ExportReport report;
    report.shards = static_cast<int64_t>(shards.size());
    std::map<std::string, std::string> weightMap;
    for (size_t i = 0; i < shards.size(); ++i) {
        const std::string name = shardName(i, shards.size());
        const auto [sha, bytes] = writeShard(model, dir / name, shards[i].tensors, o.dtype);
        for (const KeyBinding* b : shards[i].tensors) weightMap[b->key] = name;
        report.sha256[name] = sha;
        report.tensorBytes += bytes;
        report.tensors += static_cast<int64_t>(shards[i].tensors.size());
    }
    // One shard needs no index (HF loads model.safetensors alone).
    const std::map<std::string, std::string> index = shards.size() > 1 ? weightMap : std::map<std::string, std::string>{};
    for (const auto& [file, sha] : finishModelDirectory(c, dir, index, report.tensorBytes, o.dtype, o.filesFrom)) report.sha256[file] = sha;
    return report;
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

std::map<std::string, std::string> finishModelDirectory(const ModelConfig& c, const fs::path& dir,
                                                        const std::map<std::string, std::string>& weightMap, uint64_t totalBytes,
                                                        torch::Dtype dtype, const fs::path& filesFrom) {
    std::map<std::string, std::string> sha;
    if (!weightMap.empty()) {
        nlohmann::json map = nlohmann::json::object();
        for (const auto& [key, file] : weightMap) map[key] = file;
        sha["model.safetensors.index.json"] =
            writeJsonFile(dir / "model.safetensors.index.json", {{"metadata", {{"total_size", totalBytes}}}, {"weight_map", map}});
    }
    sha["config.json"] = writeJsonFile(dir / "config.json", exportedConfig(c, dtype));
    std::error_code ec;
    if (!filesFrom.empty())
        for (const char* file : kCompanionFiles)
            if (fs::is_regular_file(filesFrom / file, ec)) sha[file] = copyFileDurably(filesFrom / file, dir / file);
    syncDirectory(dir);
    return sha;
}

}  // namespace hy3

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

std::string shardName(size_t index, size_t count) {
    if (count == 1) return "model.safetensors";
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", index + 1, count);
    return name;
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

ExportReport exportModel(Hy3ModelImpl& model, const fs::path& dir, const ExportOptions& o) {
    const ModelConfig& c = model.config();
    if (model.localExperts() != c.num_experts)
        fail(dir.string(), "this model holds only experts [" + std::to_string(model.expertFirst()) + ", " +
                               std::to_string(model.expertFirst() + model.localExperts()) + "); a full export needs all");
    if (o.dtype != torch::kFloat && o.dtype != torch::kBFloat16) fail("--dtype", "export writes bf16 or fp32");
    const std::vector<KeyBinding> bindings = keyBindings(c, KeyLayout::Released, 0, c.num_experts);
    const std::vector<Shard> shards = planShards(bindings, o);

    ExportReport report;
    report.shards = static_cast<int64_t>(shards.size());
    nlohmann::json weightMap = nlohmann::json::object();
    torch::NoGradGuard noGrad;
    for (size_t i = 0; i < shards.size(); ++i) {
        const std::string name = shardName(i, shards.size());
        SafetensorsWriter writer(dir / name, {{"format", "pt"}});
        for (const KeyBinding* b : shards[i].tensors) writer.declare(b->key, outputDtype(*b, o.dtype), b->shape);
        writer.begin();
        for (const KeyBinding* b : shards[i].tensors) {
            torch::Tensor t = model.tensor(b->param);
            if (b->expert >= 0) t = t.select(0, b->expert);
            if (b->rowCount >= 0) t = t.narrow(0, b->rowStart, b->rowCount);
            const torch::Tensor out = t.to(torch::kCPU, torchDtype(outputDtype(*b, o.dtype))).contiguous();
            writer.write(b->key, out.data_ptr(), static_cast<size_t>(out.numel()) * out.element_size());
            weightMap[b->key] = name;
            report.tensorBytes += static_cast<uint64_t>(out.numel()) * out.element_size();
            ++report.tensors;
        }
        report.sha256[name] = writer.finish();
    }
    auto writeJson = [&](const std::string& name, const nlohmann::json& doc) {
        const std::string text = doc.dump(2) + "\n";
        writeFileAtomic(dir / name, text);
        Sha256 hash;
        hash.update(text.data(), text.size());
        report.sha256[name] = hash.hex();
    };
    if (shards.size() > 1)
        writeJson("model.safetensors.index.json", {{"metadata", {{"total_size", report.tensorBytes}}}, {"weight_map", weightMap}});
    writeJson("config.json", exportedConfig(c, o.dtype));
    std::error_code ec;
    if (!o.filesFrom.empty())
        for (const char* file : kCompanionFiles)
            if (fs::is_regular_file(o.filesFrom / file, ec)) report.sha256[file] = copyFileDurably(o.filesFrom / file, dir / file);
    syncDirectory(dir);
    return report;
}

}  // namespace hy3

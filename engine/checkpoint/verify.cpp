#include "checkpoint/verify.h"

#include "checkpoint/key_match.h"
#include "checkpoint/key_names.h"
#include "checkpoint/model_dir.h"
#include "checkpoint/safetensors.h"
#include "store/run_layout.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/format.h"
#include "util/sha256.h"

#include <map>
#include <set>

namespace hy3 {
namespace fs = std::filesystem;

namespace {

// Checks meta.json's file list: presence, size and SHA-256 of each, and nothing unlisted.
void verifyMeta(const fs::path& checkpointDir, std::vector<std::string>& problems) {
    const fs::path metaPath = CheckpointLayout{checkpointDir}.meta();
    nlohmann::json meta;
    try {
        meta = nlohmann::json::parse(readTextFile(metaPath));
    } catch (const std::exception& e) {
        problems.push_back(metaPath.string() + ": unreadable: " + e.what());
        return;
    }
    if (!meta.contains("files") || !meta["files"].is_object()) {
        problems.push_back(metaPath.string() + ": files: missing or not an object");
        return;
    }
    std::set<std::string> listed;
    for (auto it = meta["files"].begin(); it != meta["files"].end(); ++it) {
        listed.insert(it.key());
        const fs::path file = checkpointDir / it.key();
        std::error_code ec;
        if (!fs::is_regular_file(file, ec)) {
            problems.push_back(file.string() + ": listed in meta.json but missing");
            continue;
        }
        const uint64_t size = fs::file_size(file, ec);
        if (it.value().contains("bytes") && it.value()["bytes"].get<uint64_t>() != size) {
            problems.push_back(file.string() + ": size " + std::to_string(size) + " differs from meta.json (" +
                               std::to_string(it.value()["bytes"].get<uint64_t>()) + ")");
            continue;
        }
        if (it.value().contains("sha256") && it.value()["sha256"].get<std::string>() != sha256OfFile(file))
            problems.push_back(file.string() + ": SHA-256 differs from meta.json (the file changed or is corrupt)");
    }
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(checkpointDir, ec)) {
        if (!entry.is_regular_file()) continue;
        const std::string rel = fs::relative(entry.path(), checkpointDir).generic_string();
        if (rel != CheckpointLayout::kMeta && !listed.count(rel)) problems.push_back(entry.path().string() + ": not listed in " + std::string(CheckpointLayout::kMeta));
    }
}

// A run's checkpoints folder means the checkpoint its LATEST names; any other path itself.
fs::path followLatest(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(path / RunLayout::kLatest, ec)) return path;
    std::string name = readTextFile(path / RunLayout::kLatest);
    name.erase(name.find_last_not_of(" \n\r\t") + 1);
    return path / name;
}

}  // namespace

std::optional<fs::path> loraCheckpointAdapter(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return std::nullopt;
    const fs::path dir = followLatest(path);
    if (fs::exists(CheckpointLayout{dir}.meta(), ec) && fs::is_directory(CheckpointLayout{dir}.adapter(), ec)) return CheckpointLayout{dir}.adapter();
    return std::nullopt;
}

CheckpointLocation locateCheckpoint(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) fail(path.string(), "no such file or directory");
    const fs::path dir = followLatest(path);
    if (fs::exists(CheckpointLayout{dir}.meta(), ec) && fs::is_directory(CheckpointLayout{dir}.model(), ec)) return {CheckpointLayout{dir}.model(), dir};
    if (loraCheckpointAdapter(dir))
        fail(path.string(), "a LoRA checkpoint: it holds the adapter (adapter/), not a model; merge it into its base with "
                            "hy3 lora merge BASE " + CheckpointLayout{dir}.adapter().string() + " OUT");
    if (fs::exists(dir / "config.json", ec)) return {dir, std::nullopt};
    fail(path.string(), "not a checkpoint (meta.json + model/) or a model directory (config.json)");
}

namespace {

// A LoRA adapter directory without torch: adapter_config.json's r, and every key's shape in
// adapter_model.safetensors (A [r, in], B [out, r], each A with its B; the routed experts fused
// through target_parameters hold a multiple of r: rank x experts, checkpoint/peft_expert_layout.h).
void verifyAdapter(const fs::path& dir, std::vector<std::string>& problems) {
    int64_t rank = 0;
    try {
        const nlohmann::json config = nlohmann::json::parse(readTextFile(dir / "adapter_config.json"));
        rank = config.at("r").get<int64_t>();
    } catch (const std::exception& e) {
        problems.push_back((dir / "adapter_config.json").string() + ": " + e.what());
        return;
    }
    std::shared_ptr<SafetensorsFile> file;
    try {
        file = SafetensorsFile::open(dir / "adapter_model.safetensors");
    } catch (const Error& e) {
        problems.push_back(e.what());
        return;
    }
    std::set<std::string> a, b;
    std::map<std::string, int64_t> fusedRanks;  // module -> rank dimension, for A and B to agree
    for (const TensorInfo& t : file->tensors()) {
        const std::string where = file->path().string() + ": " + t.name;
        const bool isA = t.name.size() > 14 && t.name.compare(t.name.size() - 14, 14, ".lora_A.weight") == 0;
        const bool isB = t.name.size() > 14 && t.name.compare(t.name.size() - 14, 14, ".lora_B.weight") == 0;
        if (t.name.rfind("base_model.model.", 0) != 0 || (!isA && !isB)) {
            problems.push_back(where + ": not a LoRA adapter key");
            continue;
        }
        const std::string module = t.name.substr(0, t.name.size() - 14);
        const bool fusedExperts = module.size() > 12 && (module.compare(module.size() - 12, 12, ".mlp.experts") == 0 ||
                                                         module.find(".mlp.experts.base_layer") != std::string::npos);
        const int64_t rankDim = t.shape.size() == 2 ? (isA ? t.shape[0] : t.shape[1]) : -1;
        if (fusedExperts ? rankDim <= 0 || rankDim % rank != 0 : rankDim != rank)
            problems.push_back(where + ": shape " + shapeText(t.shape) + " does not have rank " + std::to_string(rank) +
                               (fusedExperts ? " x experts" : "") + " (adapter_config.json r)");
        if (fusedExperts && rankDim > 0 && !fusedRanks.emplace(module, rankDim).second && fusedRanks[module] != rankDim)
            problems.push_back(where + ": lora_A and lora_B disagree on rank x experts");
        (isA ? a : b).insert(module);
    }
    for (const std::string& m : a)
        if (!b.count(m)) problems.push_back(file->path().string() + ": " + m + ": lora_A without lora_B");
    for (const std::string& m : b)
        if (!a.count(m)) problems.push_back(file->path().string() + ": " + m + ": lora_B without lora_A");
    if (file->unindexedBytes() > 0) problems.push_back(file->path().string() + ": bytes of data belong to no tensor");
}

}  // namespace

InspectReport inspectCheckpoint(const fs::path& path) {
    InspectReport r;
    r.location = locateCheckpoint(path);
    ModelDirectory dir = ModelDirectory::open(r.location.modelDir);
    r.config = dir.config();
    for (const fs::path& file : dir.shardFiles()) r.shards.push_back(file.filename().string());
    for (const std::string& name : dir.tensorNames()) {
        auto [file, info] = dir.locate(name);
        r.tensors.push_back({name, file->path().filename().string(), dtypeName(info->dtype), info->shape, info->bytes()});
        r.tensorBytes += info->bytes();
        r.elements += info->numel();
        if (layerOfKey(name) >= r.config.num_hidden_layers) ++r.mtpTensors;
    }
    if (r.location.checkpointDir) r.meta = nlohmann::json::parse(readTextFile(CheckpointLayout{*r.location.checkpointDir}.meta()));
    return r;
}

std::vector<std::string> verifyCheckpoint(const fs::path& path) {
    std::vector<std::string> problems;
    // A LoRA checkpoint (meta.json + adapter/) or an adapter directory on its own.
    std::error_code ec;
    const fs::path folder = followLatest(path);
    if (fs::exists(CheckpointLayout{folder}.meta(), ec) && fs::is_directory(CheckpointLayout{folder}.adapter(), ec)) {
        verifyAdapter(CheckpointLayout{folder}.adapter(), problems);
        verifyMeta(folder, problems);
        return problems;
    }
    if (fs::exists(folder / "adapter_config.json", ec)) {
        verifyAdapter(folder, problems);
        return problems;
    }
    CheckpointLocation where;
    try {
        where = locateCheckpoint(path);
    } catch (const Error& e) {
        return {e.what()};
    }
    std::optional<ModelDirectory> dir;
    try {
        dir = ModelDirectory::open(where.modelDir, /*requireShards=*/false);
    } catch (const Error& e) {
        problems.push_back(e.what());
    }
    if (dir) {
        // Every shard: a sound header, no holes; every indexed tensor present, every tensor indexed.
        bool shardsReadable = true;
        std::map<fs::path, std::set<std::string>> indexedIn;
        for (const std::string& name : dir->tensorNames()) indexedIn[dir->fileOf(name)].insert(name);
        uint64_t tensorBytes = 0;
        for (const auto& [file, names] : indexedIn) {
            std::error_code ec;
            if (!fs::exists(file, ec)) {
                problems.push_back(file.string() + ": missing (the index names it for " + std::to_string(names.size()) + " tensors)");
                shardsReadable = false;
                continue;
            }
            std::shared_ptr<SafetensorsFile> shard;
            try {
                shard = dir->shard(file);
            } catch (const Error& e) {
                problems.push_back(e.what());
                shardsReadable = false;
                continue;
            }
            for (const std::string& name : names)
                if (!shard->find(name)) problems.push_back(file.string() + ": " + name + ": listed in the index but not in this file");
            for (const TensorInfo& t : shard->tensors()) {
                tensorBytes += t.bytes();
                if (dir->hasIndex() && !names.count(t.name))
                    problems.push_back(file.string() + ": " + t.name + ": in the file but not in the index");
            }
            if (shard->unindexedBytes() > 0)
                problems.push_back(file.string() + ": " + std::to_string(shard->unindexedBytes()) +
                                   " bytes of data belong to no tensor (HF loaders reject such holes)");
        }
        if (dir->hasIndex() && shardsReadable) {
            const auto index = nlohmann::json::parse(readTextFile(where.modelDir / "model.safetensors.index.json"));
            if (index.contains("metadata") && index["metadata"].contains("total_size") &&
                index["metadata"]["total_size"].is_number_unsigned() && index["metadata"]["total_size"].get<uint64_t>() != tensorBytes)
                problems.push_back((where.modelDir / "model.safetensors.index.json").string() + ": metadata.total_size " +
                                   std::to_string(index["metadata"]["total_size"].get<uint64_t>()) + " differs from the tensors' " +
                                   std::to_string(tensorBytes) + " bytes");
        }
        // Coverage, shapes and dtypes against the config, once every shard could be read.
        if (shardsReadable) {
            const KeyMatchResult match = matchKeys(*dir, 0, dir->config().num_experts);
            problems.insert(problems.end(), match.problems.begin(), match.problems.end());
        }
    }
    if (where.checkpointDir) verifyMeta(*where.checkpointDir, problems);
    return problems;
}

}  // namespace hy3

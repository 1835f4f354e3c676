#include "checkpoint/model_dir.h"

#include "util/atomic_file.h"
#include "util/error.h"
#include "util/json_fields.h"

#include <nlohmann/json.hpp>

#include <set>

namespace hy3 {
namespace fs = std::filesystem;

ModelDirectory ModelDirectory::open(const fs::path& dir, bool requireShards) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) fail(dir.string(), "not a directory (expected an HF model directory)");
    return open(dir, loadModelConfig(dir), requireShards);
}

bool ModelDirectory::hasWeights(const fs::path& dir) {
    std::error_code ec;
    return !dir.empty() && (fs::exists(dir / "model.safetensors.index.json", ec) || fs::exists(dir / "model.safetensors", ec));
}

ModelDirectory ModelDirectory::open(const fs::path& dir, ModelConfig config, bool requireShards) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) fail(dir.string(), "not a directory (expected an HF model directory)");
    ModelDirectory md;
    md.dir_ = dir;
    md.config_ = std::move(config);
    const fs::path index = dir / "model.safetensors.index.json";
    const fs::path single = dir / "model.safetensors";
    if (fs::exists(index, ec)) {
        md.hasIndex_ = true;
        const nlohmann::json doc = readJsonFile(index);
        if (!doc.is_object() || !doc.contains("weight_map") || !doc["weight_map"].is_object())
            fail(index.string(), "weight_map: missing or not an object");
        for (auto it = doc["weight_map"].begin(); it != doc["weight_map"].end(); ++it) {
            if (!it.value().is_string()) fail(index.string(), "weight_map." + it.key() + ": expected a file name");
            const std::string name = it.value().get<std::string>();
            if (name.find('/') != std::string::npos || name == ".." )
                fail(index.string(), "weight_map." + it.key() + ": \"" + name + "\" is not a file in this directory");
            md.fileOfTensor_[it.key()] = dir / name;
        }
        for (const fs::path& file : md.shardFiles())
            if (requireShards && !fs::exists(file, ec)) fail(index.string(), "names shard " + file.filename().string() + ", which does not exist");
    } else if (fs::exists(single, ec)) {
        auto st = md.shard(single);
        for (const TensorInfo& t : st->tensors()) md.fileOfTensor_[t.name] = single;
    } else {
        fail(dir.string(), "no model.safetensors or model.safetensors.index.json");
    }
    return md;
}

std::vector<std::string> ModelDirectory::tensorNames() const {
    std::vector<std::string> names;
    for (const auto& [name, file] : fileOfTensor_) names.push_back(name);
    return names;
}

fs::path ModelDirectory::fileOf(const std::string& tensor) const {
    auto it = fileOfTensor_.find(tensor);
    if (it == fileOfTensor_.end()) fail(dir_.string() + ": " + tensor, "tensor not in this model directory");
    return it->second;
}

std::shared_ptr<SafetensorsFile> ModelDirectory::shard(const fs::path& file) {
    auto it = open_.find(file);
    if (it != open_.end()) return it->second;
    auto st = SafetensorsFile::open(file);
    open_[file] = st;
    return st;
}

std::pair<std::shared_ptr<SafetensorsFile>, const TensorInfo*> ModelDirectory::locate(const std::string& tensor) {
    auto st = shard(fileOf(tensor));
    const TensorInfo* info = st->find(tensor);
    if (!info)
        fail(st->path().string() + ": " + tensor,
             "the index lists this tensor in " + st->path().filename().string() + " but the file does not hold it");
    return {st, info};
}

std::vector<fs::path> ModelDirectory::shardFiles() const {
    std::set<fs::path> files;
    for (const auto& [name, file] : fileOfTensor_) files.insert(file);
    return {files.begin(), files.end()};
}

}  // namespace hy3

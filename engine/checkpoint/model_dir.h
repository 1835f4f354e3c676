#pragma once
// An HF model directory: config.json plus model.safetensors, or shards listed by
// model.safetensors.index.json. Shards are opened (memory-mapped) on first use. No torch here.
#include "checkpoint/safetensors.h"
#include "config/model_config.h"

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace hy3 {

class ModelDirectory {
public:
    // Reads config.json and the index (or finds the single file). Throws hy3::Error naming the file.
    // With requireShards false, shards the index names may be missing (verify reports them).
    static ModelDirectory open(const std::filesystem::path& dir, bool requireShards = true);
    // The same with the directory's config already parsed (config/model_source.h).
    static ModelDirectory open(const std::filesystem::path& dir, ModelConfig config, bool requireShards = true);
    // Whether `dir` has weights to open (model.safetensors.index.json or model.safetensors); a
    // directory with only config.json is a model initialised from a seed.
    static bool hasWeights(const std::filesystem::path& dir);

    const std::filesystem::path& path() const { return dir_; }
    const ModelConfig& config() const { return config_; }
    bool hasIndex() const { return hasIndex_; }

    // Every tensor name the directory holds (from the index, or from the single file), sorted.
    std::vector<std::string> tensorNames() const;
    // The shard file that holds a tensor; throws naming the directory when it is not listed.
    std::filesystem::path fileOf(const std::string& tensor) const;
    // The opened shard holding `tensor`, with the tensor's entry checked to exist in it.
    std::pair<std::shared_ptr<SafetensorsFile>, const TensorInfo*> locate(const std::string& tensor);
    std::shared_ptr<SafetensorsFile> shard(const std::filesystem::path& file);
    // The distinct shard files, sorted.
    std::vector<std::filesystem::path> shardFiles() const;

private:
    std::filesystem::path dir_;
    ModelConfig config_;
    bool hasIndex_ = false;
    std::map<std::string, std::filesystem::path> fileOfTensor_;
    std::map<std::filesystem::path, std::shared_ptr<SafetensorsFile>> open_;
};

}  // namespace hy3

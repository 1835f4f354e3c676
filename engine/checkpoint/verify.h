#pragma once
// `hy3 checkpoint inspect` and `hy3 checkpoint verify`: what a checkpoint or model directory holds,
// and every problem with it. No torch here.
#include "config/model_config.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hy3 {

// Accepts a checkpoint folder (meta.json + model/), a model directory (config.json), or a run's
// checkpoints folder (LATEST). Returns the model directory and, for a checkpoint, its folder.
struct CheckpointLocation {
    std::filesystem::path modelDir;
    std::optional<std::filesystem::path> checkpointDir;
};
CheckpointLocation locateCheckpoint(const std::filesystem::path& path);
// A LoRA checkpoint's adapter directory (CHECKPOINT/adapter) when `path` is such a checkpoint or a
// run's checkpoints folder whose LATEST names one; else nothing.
std::optional<std::filesystem::path> loraCheckpointAdapter(const std::filesystem::path& path);

struct TensorRow {
    std::string name;
    std::string file;
    std::string dtype;
    std::vector<int64_t> shape;
    uint64_t bytes = 0;
};

struct InspectReport {
    CheckpointLocation location;
    ModelConfig config;
    std::vector<TensorRow> tensors;  // by name
    std::vector<std::string> shards;
    uint64_t tensorBytes = 0;
    int64_t elements = 0;            // all tensors, MTP included
    int64_t mtpTensors = 0;
    std::optional<nlohmann::json> meta;
};

InspectReport inspectCheckpoint(const std::filesystem::path& path);

// Every problem, one line each ("<file>: <tensor>: <reason>"); empty when the checkpoint is sound.
std::vector<std::string> verifyCheckpoint(const std::filesystem::path& path);

}  // namespace hy3

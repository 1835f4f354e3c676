#pragma once
// The model part of a checkpoint that several ranks write together: each (pipeline stage, expert
// range) writes its shard of CHECKPOINT/model with a note of what it holds, and rank 0 then turns
// the notes into the index and the file hashes and completes the HF directory. One shard per stage
// and expert range; the replicated tensors of a stage come from its first replica.
#include "checkpoint/model_export.h"
#include "config/model_config.h"
#include "model/hy3_model.h"

#include <filesystem>
#include <map>
#include <string>

namespace hy3 {

// One rank's shard `shard` of `shards` into CHECKPOINT/model. `withReplicated`: this rank also
// writes its stage's replicated tensors (the first data-parallel replica does).
void writeModelShard(Hy3ModelImpl& model, const std::filesystem::path& checkpoint, int shard, int shards, torch::Dtype dtype,
                     bool withReplicated);

// Rank 0, once every shard is on disk: copies the source's MTP block, writes the index (several
// files), config.json and the tokenizer files, removes the notes, and returns every model file's SHA-256 ("model/<file>").
std::map<std::string, std::string> completeModelShards(const std::filesystem::path& checkpoint, int shards, const ModelConfig& config,
                                                       torch::Dtype dtype, const ExportSources& sources);

// The run's final model: the last checkpoint's model/ hard-linked (no second copy on disk) into
// RUN/model, or copied where links are not possible; built under a temporary name, then renamed.
std::filesystem::path linkFinalModel(const std::filesystem::path& checkpoint, const std::filesystem::path& runDir);
// A LoRA run's final adapter: the last checkpoint's adapter/ into RUN/adapter, the same way.
std::filesystem::path linkFinalAdapter(const std::filesystem::path& checkpoint, const std::filesystem::path& runDir);

}  // namespace hy3

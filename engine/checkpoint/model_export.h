#pragma once
// Writes a live model as an HF model directory in the released Hy3 layout: per-expert keys,
// mlp.router.gate.weight, mlp.expert_bias in F32, mlp.shared_mlp.*; safetensors shards up to a
// size limit with model.safetensors.index.json; config.json with every original field plus every
// field HF transformers, vLLM, SGLang and NeMo AutoModel read (README: "What an export holds");
// the source model's generation config and tokenizer files; and the source's MTP block copied
// byte for byte (it is not trained) so serving engines can still decode speculatively. Tensors
// are converted and written one at a time, so saving needs no second copy of the model in memory.
#include "checkpoint/key_names.h"
#include "checkpoint/safetensors.h"
#include "model/hy3_model.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace hy3 {

constexpr uint64_t kDefaultShardBytes = 5'000'000'000ull;

// Where an exported directory's files besides the trained weights come from (both optional).
struct ExportSources {
    std::filesystem::path companions;  // tokenizer and generation config files
    std::filesystem::path mtpFrom;     // a model directory whose MTP tensors are copied unchanged
    uint64_t mtpShardBytes = kDefaultShardBytes;  // the largest file the MTP tensors go to
};

struct ExportOptions {
    torch::Dtype dtype = torch::kBFloat16;     // weights (the expert bias is always F32)
    uint64_t shardBytes = kDefaultShardBytes;  // a shard holds tensors up to this many bytes
    ExportSources sources;
};

// The files the copied MTP tensors go to: "model-mtp.safetensors", or
// "model-mtp-00001-of-00002.safetensors", ... when they pass the shard size.
std::string mtpShardName(size_t index, size_t count);

struct ExportReport {
    std::map<std::string, std::string> sha256;  // file name -> SHA-256, for every file written
    uint64_t tensorBytes = 0;
    int64_t tensors = 0;
    int64_t shards = 0;
};

// `dir` must exist and be empty. Throws hy3::Error naming the file on failure.
ExportReport exportModel(Hy3ModelImpl& model, const std::filesystem::path& dir, const ExportOptions& options);
// The same into a new directory `destination` (refused when it exists and is not empty), written
// beside it under a temporary name and renamed into place, so a failed export leaves nothing.
ExportReport exportModelInto(Hy3ModelImpl& model, const std::filesystem::path& destination, const ExportOptions& options);
// Runs `write` on a new temporary directory beside `destination` and renames it into place;
// anything thrown leaves nothing behind.
ExportReport writeDirectoryInto(const std::filesystem::path& destination,
                                const std::function<ExportReport(const std::filesystem::path& dir)>& write);
// The refusal above on its own, to check before loading a model. Throws hy3::Error.
void checkExportDestination(const std::filesystem::path& destination);

// The keys of a full export in shards of at most `options.shardBytes` (in the output dtype), in
// key-table order, and the dtype each key is written in (the weights', F32 for what the model
// always holds in F32: the router and the expert bias).
std::vector<std::vector<const KeyBinding*>> planExportShards(const std::vector<KeyBinding>& bindings, const ExportOptions& options);
DType exportedDtype(const KeyBinding& binding, torch::Dtype weights);

// One rank's part of a model directory written by several ranks (pipeline stages, expert ranges):
// the tensors of its layers and experts in one shard file; the replicated tensors (everything but
// the routed experts) only when `withReplicated`, so each tensor is written once.
struct PartReport {
    std::string file;
    std::string sha256;
    uint64_t tensorBytes = 0;
    int64_t tensors = 0;
    std::map<std::string, std::string> weightMap;  // tensor key -> file
};
// The name of shard `index` of `count` in the released layout ("model-00001-of-00004.safetensors",
// or "model.safetensors" alone).
std::string shardName(size_t index, size_t count);

PartReport exportModelPart(Hy3ModelImpl& model, const std::filesystem::path& dir, const std::string& file, torch::Dtype dtype,
                           bool withReplicated);
// Completes a model directory whose shards are written (`weightMap`: every tensor written -> its
// file): the MTP tensors of `sources.mtpFrom`, the index when there is more than one file,
// config.json and the companion files. Returns the SHA-256 of the files it wrote.
std::map<std::string, std::string> finishModelDirectory(const ModelConfig& config, const std::filesystem::path& dir,
                                                        std::map<std::string, std::string> weightMap, uint64_t totalBytes,
                                                        torch::Dtype dtype, const ExportSources& sources);

// Copies the tokenizer and generation config files of a model directory (those present) into
// `dir`; returns their SHA-256 by file name.
std::map<std::string, std::string> copyCompanionFiles(const std::filesystem::path& from, const std::filesystem::path& dir);

// config.json of an export: every field of the source kept, and every field the readers above
// need written from the parsed config (mlp_layer_types and first_k_dense_replace consistent,
// num_nextn_predict_layers = the MTP blocks the directory holds).
nlohmann::json exportedConfig(const ModelConfig& config, torch::Dtype dtype, int64_t mtpLayers);

// "5GB", "500MB", "1.5GiB", "123456" -> bytes. Throws hy3::Error naming `what`.
uint64_t parseByteSize(const std::string& text, const std::string& what);

}  // namespace hy3

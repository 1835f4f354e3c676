#pragma once
// LoRA adapters on disk in PEFT's format, so PEFT, vLLM and SGLang load them: adapter_config.json
// (peft_type LORA, task_type CAUSAL_LM, r, lora_alpha, lora_dropout, use_rslora, target_modules,
// bias none, base_model_name_or_path) and adapter_model.safetensors with keys
// "base_model.model.<module>.lora_A.weight" [r, in] and ".lora_B.weight" [out, r], <module> the
// released on-disk module path. target_modules is PEFT's list of names when the adapters reach
// every group, else a regular expression matching exactly the adapted module paths. The routed
// experts are written fused through target_parameters, the layout PEFT loads on transformers' Hy3
// (checkpoint/peft_expert_layout.h); files with per-expert keys are read too.
#include "config/model_source.h"
#include "model/lora.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hy3 {

inline constexpr const char* kAdapterConfigFile = "adapter_config.json";
inline constexpr const char* kAdapterWeightsFile = "adapter_model.safetensors";

nlohmann::json adapterConfigJson(const LoraSettings& settings, const std::string& baseModel);

// Writes one rank's adapter tensors into a safetensors file; returns its SHA-256.
std::string writeAdapterTensors(const std::filesystem::path& file, const std::vector<std::pair<std::string, torch::Tensor>>& tensors);
// Rank 0 of a run: the parts (per-expert keys, each rank its stage and expert range) into
// dir/adapter_model.safetensors with the routed experts fused, and adapter_config.json. Returns
// the SHA-256 of both files.
std::map<std::string, std::string> completeAdapterDirectory(const std::filesystem::path& dir, const std::vector<std::filesystem::path>& parts,
                                                            const LoraSettings& settings, const std::string& baseModel);

struct AdapterDirectory {
    std::filesystem::path path;
    LoraSettings settings;           // r, alpha, dropout, rsLoRA, targets; groups from the keys present
    std::string baseModel;           // base_model_name_or_path
    std::map<std::string, torch::Tensor> tensors;  // by PEFT key, fp32, routed experts per expert
    std::string expertLayout;        // how the file holds routed experts: "fused" (PEFT target_parameters), "per expert", "" (none)
};
// Reads and checks an adapter directory. Throws hy3::Error naming the file and the field or key.
AdapterDirectory readAdapterDirectory(const std::filesystem::path& dir);
// The base an adapter was trained on, as the meta.json of its LoRA checkpoint records it: for
// CHECKPOINT/adapter that checkpoint's, for a run's final RUN/adapter the one its LATEST names.
// Nothing for an adapter directory from elsewhere.
struct AdapterOrigin {
    std::filesystem::path meta;   // the meta.json that says so
    std::string source;           // the base as the run named it: a model directory or a preset
    std::string identity;         // ModelSource::identity() of the base when it was trained (empty: not recorded)
    uint64_t seed = 42;           // training.seed: a preset base's weights are drawn from it
};
std::optional<AdapterOrigin> adapterOrigin(const std::filesystem::path& adapterDir);

// The adapters of a whole model `base` from an adapter directory, every key checked against its
// config and, where the adapter's checkpoint records it, the base's identity (`hy3 forward
// --adapter`, `hy3 generate`, `hy3 lora merge`). Throws hy3::Error naming the file and the key.
LoraAdapters loadAdapter(const std::filesystem::path& dir, const ModelSource& base, torch::Device device);
bool isAdapterDirectory(const std::filesystem::path& dir);

}  // namespace hy3

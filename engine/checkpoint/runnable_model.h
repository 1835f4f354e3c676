#pragma once
// What a user names to run (`hy3 generate`, `hy3 checkpoint compare`, Try it): a model directory
// or a full checkpoint; a LoRA checkpoint, whose adapter runs unmerged on the base its meta.json
// names; or any model (a preset too) with an adapter directory attached unmerged.
#include "config/model_source.h"
#include "model/hy3_model.h"

#include <filesystem>
#include <string>

namespace hy3 {

// Resolved, nothing loaded yet.
struct RunnableSpec {
    ModelSource base;                    // the model, or the adapter's base
    std::filesystem::path adapter;       // empty: none
    uint64_t seed = 42;                  // a preset base's weights (the run's training.seed)
    std::filesystem::path tokenizerDir;  // the model's own tokenizer files (a LoRA adapter's, a preset's bundled one)
    std::string description;             // the model directory, or "BASE + adapter ADAPTER"
    const ModelConfig& config() const { return base.config; }
};

// `model`: a checkpoint folder (LoRA ones too), a model directory, a run's checkpoints folder, or a
// preset; `adapter` (optional) a PEFT LoRA adapter directory. Throws hy3::Error naming the path.
RunnableSpec resolveRunnable(const std::string& model, const std::string& adapter);
// Loads the model and attaches the adapter, checked against the base first (keys, shapes, the base
// it was trained on).
Hy3Model openRunnable(const RunnableSpec& spec, const ModelOptions& options);

}  // namespace hy3

#pragma once
// Loads a Hy3 model's weights from an HF model directory, one tensor at a time from the memory
// mapped shards (peak memory stays near the model's own size). Accepts the released on-disk layout
// and HF transformers' layout, skips MTP layers, converts dtypes, and reads only the routed experts
// the model holds (its expert range).
#include "checkpoint/key_names.h"
#include "checkpoint/model_dir.h"
#include "config/model_source.h"
#include "model/hy3_model.h"

namespace hy3 {

struct LoadReport {
    int64_t tensorsLoaded = 0;
    int64_t tensorsSkipped = 0;   // MTP layers and experts outside the model's range
    uint64_t bytesRead = 0;
};

// Throws hy3::Error naming the file and the tensor for missing or unexpected tensors and shape or
// dtype mismatches.
LoadReport loadModelWeights(Hy3ModelImpl& model, ModelDirectory& dir);

// A model ready to run: an HF model directory with its weights loaded, or (a preset, a bare
// config.json, a directory without weights) initialised from `seed`.
Hy3Model openModel(const ModelSource& source, const ModelOptions& options, uint64_t seed);
// The same for a preset name or a path (resolved with resolveModelSource).
Hy3Model openModel(const std::string& source, const ModelOptions& options, uint64_t seed);

}  // namespace hy3

#pragma once
// `hy3 lora merge` from a model directory, streamed: each tensor of the base is read from its
// shard, merged when it has an adapter (W + s B A in fp32, rounded once into the output dtype, the
// arithmetic of Hy3ModelImpl::mergeAdapters) and written in the released layout before the next
// is read, so the peak memory is about the largest tensor, not the model. The MTP block, config
// and tokenizer files travel as an export writes them.
#include "checkpoint/model_export.h"
#include "config/model_source.h"
#include "model/lora.h"

#include <filesystem>

namespace hy3 {

// `base`: a model directory (its config parsed once) in the released or the transformers layout; `adapters` loaded for its
// config (loadAdapter). `destination` must not exist or be empty. Throws hy3::Error naming the file.
ExportReport mergeAdapterFiles(const ModelSource& base, const LoraAdaptersImpl& adapters, const std::filesystem::path& destination,
                               const ExportOptions& options);

}  // namespace hy3

#pragma once
// A batch given as a safetensors file (`hy3 forward --input`, `hy3 checkpoint compare --input`,
// `hy3 train --save-batches`): input_ids [batch, seq] and optionally labels, attention_mask,
// position_ids, cu_seqlens.
#include "config/model_config.h"
#include "model/hy3_model.h"

#include <filesystem>

namespace hy3 {

// Reads and checks the batch against the model (ids inside the vocabulary, shapes matching
// input_ids), so bad input is one error naming the file and the tensor.
Batch readBatchFile(const std::filesystem::path& file, const ModelConfig& config);

// Writes the batch's tensors that are set, under the names readBatchFile reads.
void writeBatchFile(const std::filesystem::path& file, const Batch& batch);

}  // namespace hy3

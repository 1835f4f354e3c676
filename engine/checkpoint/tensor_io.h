#pragma once
// The bridge between safetensors files and torch tensors.
#include "checkpoint/safetensors.h"

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace hy3 {

torch::Dtype torchDtype(DType dtype);
DType safetensorsDtype(torch::Dtype dtype);  // throws for dtypes safetensors cannot hold

// A CPU tensor viewing the bytes inside the mapping (no copy; valid while `file` lives).
torch::Tensor viewTensor(const SafetensorsFile& file, const TensorInfo& info);

// Reads a whole small safetensors file (inputs, outputs of `hy3 forward`) into owned tensors.
std::vector<std::pair<std::string, torch::Tensor>> readSafetensors(const std::filesystem::path& file);

// Writes tensors (moved to CPU one at a time) into one safetensors file.
void writeSafetensors(const std::filesystem::path& file, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace hy3

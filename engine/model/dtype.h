#pragma once
// Parameter dtypes by the names settings and flags use: "fp32" and "bf16".
#include <torch/torch.h>

#include <string>

namespace hy3 {

// Throws hy3::Error naming the dtype setting for any other name.
torch::Dtype parseDtype(const std::string& name);

}  // namespace hy3

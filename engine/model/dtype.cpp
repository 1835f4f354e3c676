#include "model/dtype.h"

#include "util/error.h"

namespace hy3 {

torch::Dtype parseDtype(const std::string& name) {
    if (name == "fp32") return torch::kFloat;
    if (name == "bf16") return torch::kBFloat16;
    fail("dtype", "expected fp32 or bf16, got \"" + name + "\"");
}

}  // namespace hy3

#pragma once
// The one place that knows LibTorch versions apart. Debian ships LibTorch 1.13 (CPU); GPU nodes use
// the LibTorch of a PyTorch 2.x install. Code elsewhere calls the helpers here and never tests
// TORCH_VERSION_* itself.
#include <torch/version.h>

#define HY3_TORCH_AT_LEAST(major, minor) \
    (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace hy3::compat {

inline const char* torchVersion() { return TORCH_VERSION; }

}  // namespace hy3::compat

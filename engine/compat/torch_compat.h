#pragma once
// The one place that knows LibTorch versions apart. Debian ships LibTorch 1.13 (CPU); GPU nodes use
// the LibTorch of a PyTorch 2.x install. Code elsewhere calls the helpers here and never tests
// TORCH_VERSION_* itself.
#include <torch/version.h>

#define HY3_TORCH_AT_LEAST(major, minor) \
    (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

// c10d: LibTorch 2.x turned ProcessGroup into a dispatcher over per-device backends;
// ProcessGroupGloo and ProcessGroupNCCL derive from c10d::Backend there, from c10d::ProcessGroup
// in 1.13. Code that holds one of them names the type HY3_C10D_BACKEND.
#if HY3_TORCH_AT_LEAST(2, 0)
#define HY3_C10D_BACKEND c10d::Backend
#else
#define HY3_C10D_BACKEND c10d::ProcessGroup
#endif

namespace hy3::compat {

inline const char* torchVersion() { return TORCH_VERSION; }

}  // namespace hy3::compat

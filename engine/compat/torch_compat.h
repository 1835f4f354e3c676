#pragma once
// The one place that knows LibTorch versions apart. The project builds against PyTorch 2.11's
// LibTorch (requirements.lock); what a later 2.x changes goes here, behind HY3_TORCH_AT_LEAST, and
// code elsewhere never tests TORCH_VERSION_* itself. Nothing differs yet.
#include <torch/version.h>

#define HY3_TORCH_AT_LEAST(major, minor) \
    (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

static_assert(HY3_TORCH_AT_LEAST(2, 11), "the engine needs LibTorch 2.11 or later (PyTorch 2.11's, see requirements.lock)");

namespace hy3::compat {

inline const char* torchVersion() { return TORCH_VERSION; }

}  // namespace hy3::compat

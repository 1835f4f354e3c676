// Precompiled header for the engine's LibTorch translation units: torch/torch.h alone costs about
// 20 s per file on this machine without it.
#include <torch/torch.h>

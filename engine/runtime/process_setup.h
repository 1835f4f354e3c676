#pragma once
// Process-wide settings for the engine's executables, applied once at start, and what the
// process itself measures about its memory.
#include <cstdint>

namespace hy3 {

// Keeps freed memory in the process for reuse instead of returning it to the kernel: a training
// step allocates and frees the same large buffers every time, and glibc's defaults (fresh mmap
// above a threshold, trimming the heap) made each step page-fault through tens of MB anew, about
// 10% of a CPU step. Peak resident size is unchanged; it just does not shrink between steps.
void keepFreedMemoryForReuse();

// A write past the file-size limit (RLIMIT_FSIZE, `ulimit -f`) then fails with EFBIG, which every
// writer reports as an error naming its file, instead of SIGXFSZ killing the process mid-save.
void reportFileSizeLimitAsError();

// Maximum resident set size of this process so far, in bytes.
uint64_t peakRssBytes();

}  // namespace hy3

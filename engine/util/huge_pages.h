#pragma once
// Huge pages for large, long-lived buffers (model parameters).
#include <cstdint>

namespace hy3 {

// Asks the kernel to back the 2 MiB-aligned part of [data, data + bytes) with huge pages
// (transparent huge pages in their "madvise" mode, the common default): a model of gigabytes then
// takes a few thousand page faults to fill instead of a million, and its weights fewer TLB misses.
// Call it before the memory is first touched; it changes nothing where huge pages are off.
void adviseHugePages(void* data, uint64_t bytes);

}  // namespace hy3

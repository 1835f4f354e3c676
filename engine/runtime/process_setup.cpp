#include "runtime/process_setup.h"

#include <sys/mman.h>

#include <malloc.h>
#include <sys/resource.h>

#include <csignal>

namespace hy3 {

void keepFreedMemoryForReuse() {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest glibc allows; bigger blocks still use mmap
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

void reportFileSizeLimitAsError() { std::signal(SIGXFSZ, SIG_IGN); }

void adviseHugePages(void* data, uint64_t bytes) {
    constexpr uintptr_t kHuge = uintptr_t(2) << 20;
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHuge - 1);
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

uint64_t peakRssBytes() {
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace hy3

#include "runtime/process_setup.h"

#include <malloc.h>
#include <sys/resource.h>

#include <csignal>

namespace hy3 {

void keepFreedMemoryForReuse() {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest glibc allows; bigger blocks still use mmap
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

void reportFileSizeLimitAsError() { std::signal(SIGXFSZ, SIG_IGN); }

uint64_t peakRssBytes() {
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace hy3

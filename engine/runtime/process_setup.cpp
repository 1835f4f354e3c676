#include "runtime/process_setup.h"

#include <malloc.h>

namespace hy3 {

void keepFreedMemoryForReuse() {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest glibc allows; bigger blocks still use mmap
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace hy3

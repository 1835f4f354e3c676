// The kernels for any x86-64 (or other) CPU.
#define HY3_KERNEL_NS baseline
#include "model/kernels/cpu_kernels_impl.h"

namespace hy3::kernels {
KernelTable baselineKernels() { return baseline::table("baseline"); }
}  // namespace hy3::kernels

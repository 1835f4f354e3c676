// The kernels compiled with -mavx2 -mfma (see engine/CMakeLists.txt); used only when the CPU has both.
#define HY3_KERNEL_NS avx2
#include "model/kernels/cpu_kernels_impl.h"

namespace hy3::kernels {
KernelTable avx2Kernels() { return avx2::table("avx2+fma"); }
}  // namespace hy3::kernels

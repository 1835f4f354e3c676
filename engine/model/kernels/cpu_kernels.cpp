#include "model/kernels/cpu_kernels.h"

namespace hy3::kernels {

KernelTable baselineKernels();
#ifdef HY3_HAVE_AVX2_KERNELS
KernelTable avx2Kernels();
#endif

const KernelTable& kernels() {
    static const KernelTable table = [] {
#ifdef HY3_HAVE_AVX2_KERNELS
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return avx2Kernels();
#endif
        return baselineKernels();
    }();
    return table;
}

}  // namespace hy3::kernels

#include "model/kernel_choice.h"

namespace hy3 {

KernelChoice chooseKernels(const torch::Device& device) {
    if (device.is_cpu()) return {ExpertKernel::HostLoop, AttentionKernel::CpuBlocked};
    return {ExpertKernel::GroupedMm, AttentionKernel::Sdpa};
}

}  // namespace hy3

#include "model/kernel_choice.h"

namespace hy3 {

KernelChoice chooseKernels(const torch::Device& device) {
    if (device.is_cpu()) return {ExpertKernel::HostLoop, AttentionKernel::CpuBlocked};
    return {ExpertKernel::GroupedMm, AttentionKernel::Sdpa};
}

std::string describe(const KernelChoice& choice) {
    const char* experts = choice.experts == ExpertKernel::GroupedMm ? "grouped_mm" : "per-expert loop";
    const char* attention = choice.attention == AttentionKernel::Sdpa       ? "sdpa"
                            : choice.attention == AttentionKernel::Reference ? "reference"
                                                                             : "cpu blocked";
    return std::string("experts ") + experts + ", attention " + attention;
}

}  // namespace hy3

#pragma once
// Which implementation runs each heavy op, chosen once per model from its device (not tested at
// every call). Every choice computes the same function; the tests hold each against the others.
#include <torch/torch.h>

namespace hy3 {

enum class ExpertKernel {
    HostLoop,   // one multiply per expert over offsets read on the host (CPU: raw sgemm on fp32)
    GroupedMm,  // one at::_grouped_mm over every expert, offsets computed on the device (no host wait)
};

enum class AttentionKernel {
    CpuBlocked,  // blocked causal attention on raw sgemm (CPU fp32); other dtypes a softmax over the
                 // full masked [S, S] scores in ATen ops
    Sdpa,        // at::scaled_dot_product_attention (flash / memory-efficient kernels on CUDA); packed or
                 // padded rows in bf16/fp16 on CUDA take the flash varlen kernel over cu_seqlens instead
};

struct KernelChoice {
    ExpertKernel experts = ExpertKernel::HostLoop;
    AttentionKernel attention = AttentionKernel::CpuBlocked;
};

// CPU: the host loop and the blocked attention (fastest here, and exact against the references);
// CUDA and any other device: grouped GEMM and SDPA, which never wait on the host.
KernelChoice chooseKernels(const torch::Device& device);

}  // namespace hy3

#pragma once
// Fused building blocks of the Hy3 forward pass, each a custom autograd function with a
// hand-written backward: fewer passes over memory than a chain of ATen ops, and for fp32 on the
// CPU a single vectorised loop per row (model/kernels). Every op also has a path made of plain ATen
// ops, used for other devices and dtypes and by the tests to cross-check the CPU loops.
#include <torch/torch.h>

namespace hy3::ops {

// Turns the hand-written CPU loops off (true by default). Tests run both ways.
void setFusedCpuKernels(bool enabled);
bool fusedCpuKernels();
// True when `t` takes the hand-written path: fp32 on the CPU with the loops enabled.
bool useFusedCpu(const torch::Tensor& t);

// A tensor built on the host, on `device` without the host waiting: staged through pinned memory and
// copied asynchronously (a plain copy from pageable memory waits for the device's queue). The
// tensor itself on the CPU.
torch::Tensor toDevice(const torch::Tensor& host, const torch::Device& device);

// y = w * x / sqrt(mean(x^2) + eps) over the last dimension, statistics in fp32.
torch::Tensor rmsNorm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

// x is [N, 2F] holding gate then up; returns silu(gate) * up, [N, F].
torch::Tensor swiglu(const torch::Tensor& gateUp);

// Sum over rows of the cross-entropy of (h @ weight^T) against `targets` (-100 = ignored), in fp32,
// computed `chunkRows` rows at a time so the [rows, vocab] fp32 logits never exist at once. When a
// gradient is needed, it is computed during the forward pass (the loss is the last op), so the
// backward only scales stored gradients. Returns a scalar fp32 tensor. `fp32Matmul`: the head
// matmuls in fp32 even when h and weight are bf16 (config `enable_lm_head_fp32`).
torch::Tensor linearCrossEntropySum(const torch::Tensor& h, const torch::Tensor& weight, const torch::Tensor& targets,
                                    int64_t chunkRows, bool fp32Matmul = false);

}  // namespace hy3::ops

#pragma once
// Where a process computes: `training.device` ("auto", "cpu", "cuda") and the launcher's
// LOCAL_RANK turned into a LibTorch device, and what each device reports about its memory.
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace hy3 {

// The settings' names of the devices a run may ask for.
inline constexpr const char* kDeviceChoices[] = {"auto", "cpu", "cuda"};

// "auto": CUDA when this build has it and a GPU is visible, else the CPU. "cuda": GPU
// `localRank` (each rank of a node takes its own), or hy3::Error naming what is missing (a
// CPU-only build, no visible GPU, fewer GPUs than ranks on the node). `field` names the setting in
// the message.
torch::Device resolveDevice(const std::string& choice, int localRank, const std::string& field = "training.device");

// The number of CUDA devices this process sees (0 in a CPU-only build).
int visibleGpuCount();

// Allocated, reserved and peak-allocated bytes of the caching allocator on `device` since the
// last resetPeakMemory; zeros on the CPU (LibTorch keeps no such count there).
struct DeviceMemory {
    int64_t allocated = 0, reserved = 0, peak = 0;
};
DeviceMemory deviceMemory(const torch::Device& device);
void resetPeakMemory(const torch::Device& device);

// The generator state of the current CUDA device (undefined when no GPU is in use), and back:
// dropout on a GPU draws from it, so an exact resume restores it with the CPU generator's.
torch::Tensor currentCudaRngState();
void setCurrentCudaRngState(const torch::Tensor& state);

// Waits until the device has finished its queued work (before reading a host clock); a no-op on the CPU.
void synchronize(const torch::Device& device);

// The matmul rate a benchmark's MFU is measured against, in FLOP/s, timed now: on the CPU an
// n = 2048 fp32 product on LibTorch's threads; on a GPU an n = 8192 product of `dtype` (bf16 for a
// bf16 model: the tensor cores' dense rate) on random data; the median of `reps` after a warm-up.
double measurePeakFlops(const torch::Device& device, torch::Dtype dtype, int reps = 1);

// Makes `device` current for this thread (CUDA) so that kernels and NCCL use it; a no-op on the CPU.
void useDevice(const torch::Device& device);

}  // namespace hy3

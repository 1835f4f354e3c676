#include "runtime/device.h"

#include "build_config.h"
#include "runtime/system_info.h"
#include "util/error.h"
#include "util/stats.h"

#include <ATen/Parallel.h>

#ifdef HY3_WITH_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

#include <algorithm>
#include <chrono>
#include <mutex>
#include <vector>

namespace hy3 {

int visibleGpuCount() {
#ifdef HY3_WITH_CUDA
    return static_cast<int>(torch::cuda::device_count());
#else
    return 0;
#endif
}

torch::Device resolveDevice(const std::string& choice, int localRank, const std::string& field) {
    if (choice == "cpu") return torch::kCPU;
    if (choice != "auto" && choice != "cuda") fail(field, "\"" + choice + "\" is not a device; use auto, cpu or cuda");
#ifndef HY3_WITH_CUDA
    if (choice == "cuda") fail(field, "cuda asked for, but this hy3 was built without CUDA");
    return torch::kCPU;
#else
    const int gpus = visibleGpuCount();
    if (gpus == 0) {
        if (choice == "auto") return torch::kCPU;
        fail(field, "cuda asked for, but no GPU is visible (no NVIDIA driver, or CUDA_VISIBLE_DEVICES hides them)");
    }
    if (localRank >= gpus)
        fail(field, "cuda asked for, but local rank " + std::to_string(localRank) + " has no GPU of its own: this node shows " +
                        std::to_string(gpus) + " GPU" + (gpus == 1 ? "" : "s") + " to its ranks");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(localRank));
#endif
}

DeviceMemory deviceMemory(const torch::Device& device) {
#ifdef HY3_WITH_CUDA
    if (device.is_cuda()) {
        using c10::CachingAllocator::StatType;
        const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
        const auto all = static_cast<size_t>(StatType::AGGREGATE);
        return {stats.allocated_bytes[all].current, stats.reserved_bytes[all].current, stats.allocated_bytes[all].peak};
    }
#endif
    (void)device;
    return {};
}

void resetPeakMemory(const torch::Device& device) {
#ifdef HY3_WITH_CUDA
    if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
#endif
    (void)device;
}

torch::Tensor currentCudaRngState() {
#ifdef HY3_WITH_CUDA
    if (visibleGpuCount() > 0) {
        at::Generator generator = at::cuda::detail::getDefaultCUDAGenerator(c10::cuda::current_device());
        std::lock_guard<std::mutex> lock(generator.mutex());
        return generator.get_state();
    }
#endif
    return {};
}

void setCurrentCudaRngState(const torch::Tensor& state) {
#ifdef HY3_WITH_CUDA
    if (visibleGpuCount() > 0) {
        at::Generator generator = at::cuda::detail::getDefaultCUDAGenerator(c10::cuda::current_device());
        std::lock_guard<std::mutex> lock(generator.mutex());
        generator.set_state(state);
        return;
    }
#endif
    (void)state;  // a GPU run resumed on the CPU: its dropout draws from the CPU generator from here on
}

void synchronize(const torch::Device& device) {
#ifdef HY3_WITH_CUDA
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
#endif
    (void)device;
}

double measurePeakFlops(const torch::Device& device, torch::Dtype dtype, int reps) {
    if (device.is_cpu()) return measureMatmulGflops(2048, at::get_num_threads(), reps) * 1e9;
    torch::NoGradGuard noGrad;
    const int64_t n = 8192;
    const auto options = torch::TensorOptions().dtype(dtype).device(device);
    const torch::Tensor a = torch::randn({n, n}, options), b = torch::randn({n, n}, options);
    torch::Tensor c = torch::mm(a, b);  // warm-up: cuBLAS handle and heuristics
    std::vector<double> seconds;
    for (int i = 0; i < std::max(reps, 1); ++i) {
        synchronize(device);
        const auto start = std::chrono::steady_clock::now();
        c = torch::mm(a, b);
        synchronize(device);
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return 2.0 * static_cast<double>(n) * n * n / median(seconds);
}

void useDevice(const torch::Device& device) {
#ifdef HY3_WITH_CUDA
    if (device.is_cuda()) c10::cuda::set_device(device.index());
#endif
    (void)device;
}

}  // namespace hy3

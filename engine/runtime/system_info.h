#pragma once
// What `hy3 info` reports: LibTorch build (its CUDA and NCCL versions), its BLAS with a measured
// matmul rate, CPU threads, CUDA devices, and which c10d backends this build has.
#include "runtime/gpu_health.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hy3 {

struct GpuInfo {
    int index = 0;
    std::string name;
    int64_t memory_bytes = 0;
    int compute_major = 0, compute_minor = 0;  // compute capability (9.0 on Hopper)
    std::string pci_bus_id;                    // "0000:1b:00.0"
    std::optional<GpuHealth> health;           // NVML's reading, when the driver's library loads
};

struct SystemInfo {
    std::string engine_version;
    std::string torch_version;
    std::string blas_library;   // the BLAS LibTorch was built with (PyTorch's wheels link MKL into it)
    std::string cpu_model;
    int hardware_threads = 0;   // logical CPUs
    int torch_threads = 0;      // LibTorch's intra-op threads
    double matmul_gflops_1thread = 0;   // 1024x1024 fp32 matmul, one thread
    double matmul_gflops_all = 0;       // the same with torch_threads threads
    bool cuda_built = false;
    std::string cuda_version;   // the CUDA runtime LibTorch was built with ("13.0"); empty without CUDA
    std::string nccl_version;   // the NCCL LibTorch loads ("2.28.9"); empty without NCCL
    std::vector<GpuInfo> gpus;
    std::string driver_version; // the NVIDIA driver's, through NVML; empty without it
    bool nccl_available = false;
    bool gloo_available = false;
};

// With `measureMatmul`, also LibTorch's CPU side: its thread count and the timed matmul rate
// (about a second). The timing changes LibTorch's process-wide thread count while it runs, so
// only a process doing nothing else with LibTorch may ask for it (`hy3 info`); the workbench lists
// its devices without it, and so runs no LibTorch CPU work on a pooled thread.
SystemInfo collectSystemInfo(bool measureMatmul = true);

// Achieved GFLOP/s of an n x n fp32 matmul on the CPU with `threads` threads (median of `reps`
// after a warm-up). A `threads` other than at::get_num_threads() sets the process-wide count for
// the measurement: no other thread may be running LibTorch work then.
double measureMatmulGflops(int64_t n, int threads, int reps = 7);

}  // namespace hy3

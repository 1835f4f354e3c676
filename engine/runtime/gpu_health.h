#pragma once
// GPU health through NVML, the NVIDIA driver's management library, loaded at run time
// (libnvidia-ml.so.1 comes with the driver, not with CUDA or LibTorch): utilisation, memory,
// temperature and power of a GPU, and the driver version. Without the library (no NVIDIA driver,
// as on a CPU machine) every call says "not available" and nothing is shown. No torch here.
#include <cstdint>
#include <optional>
#include <string>

namespace hy3 {

struct GpuHealth {
    int utilizationPercent = 0;   // share of the last sample period a kernel ran
    int64_t memoryUsedBytes = 0;  // by every process on the GPU, as nvidia-smi shows
    int64_t memoryTotalBytes = 0;
    int temperatureC = 0;
    double powerWatts = 0;
};

// Whether NVML loaded and initialised (once per process; thread-safe).
bool gpuHealthAvailable();
// The driver's version ("580.95.05"), or empty without NVML.
std::string nvidiaDriverVersion();
// A reading of the GPU at this PCI bus id ("0000:1b:00.0", as CUDA reports it: the only name both
// CUDA and NVML agree on when CUDA_VISIBLE_DEVICES renumbers the GPUs); nullopt without NVML or
// for an unknown id.
std::optional<GpuHealth> readGpuHealth(const std::string& pciBusId);

}  // namespace hy3

#include "runtime/gpu_health.h"

#include <dlfcn.h>

#include <mutex>

namespace hy3 {
namespace {

// The few NVML entry points used, declared from NVIDIA's stable C ABI (nvml.h is not installed on
// build machines without a driver). Every function returns 0 (NVML_SUCCESS) on success.
using NvmlDevice = void*;
struct NvmlUtilization {
    unsigned int gpu, memory;
};
struct NvmlMemory {
    unsigned long long total, free, used;
};
constexpr int kTemperatureGpu = 0;  // NVML_TEMPERATURE_GPU

struct Nvml {
    bool ok = false;
    int (*init)() = nullptr;
    int (*driverVersion)(char*, unsigned int) = nullptr;
    int (*byPciBusId)(const char*, NvmlDevice*) = nullptr;
    int (*utilization)(NvmlDevice, NvmlUtilization*) = nullptr;
    int (*memory)(NvmlDevice, NvmlMemory*) = nullptr;
    int (*temperature)(NvmlDevice, int, unsigned int*) = nullptr;
    int (*power)(NvmlDevice, unsigned int*) = nullptr;  // milliwatts
};

template <typename F>
bool bind(void* library, const char* name, F& into) {
    into = reinterpret_cast<F>(dlsym(library, name));
    return into != nullptr;
}

const Nvml& nvml() {
    static Nvml n;
    static std::once_flag once;
    std::call_once(once, [] {
        void* library = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!library) return;
        const bool bound = bind(library, "nvmlInit_v2", n.init) && bind(library, "nvmlSystemGetDriverVersion", n.driverVersion) &&
                           bind(library, "nvmlDeviceGetHandleByPciBusId_v2", n.byPciBusId) &&
                           bind(library, "nvmlDeviceGetUtilizationRates", n.utilization) &&
                           bind(library, "nvmlDeviceGetMemoryInfo", n.memory) &&
                           bind(library, "nvmlDeviceGetTemperature", n.temperature) &&
                           bind(library, "nvmlDeviceGetPowerUsage", n.power);
        n.ok = bound && n.init() == 0;  // the library stays loaded for the process's life
    });
    return n;
}

}  // namespace

bool gpuHealthAvailable() { return nvml().ok; }

std::string nvidiaDriverVersion() {
    const Nvml& n = nvml();
    if (!n.ok) return {};
    char version[96] = {};
    return n.driverVersion(version, sizeof version) == 0 ? std::string(version) : std::string();
}

std::optional<GpuHealth> readGpuHealth(const std::string& pciBusId) {
    const Nvml& n = nvml();
    NvmlDevice device = nullptr;
    if (!n.ok || n.byPciBusId(pciBusId.c_str(), &device) != 0) return std::nullopt;
    GpuHealth h;
    NvmlUtilization u{};
    if (n.utilization(device, &u) == 0) h.utilizationPercent = static_cast<int>(u.gpu);
    NvmlMemory m{};
    if (n.memory(device, &m) == 0) h.memoryUsedBytes = static_cast<int64_t>(m.used), h.memoryTotalBytes = static_cast<int64_t>(m.total);
    unsigned int celsius = 0, milliwatts = 0;
    if (n.temperature(device, kTemperatureGpu, &celsius) == 0) h.temperatureC = static_cast<int>(celsius);
    if (n.power(device, &milliwatts) == 0) h.powerWatts = milliwatts / 1000.0;
    return h;
}

}  // namespace hy3

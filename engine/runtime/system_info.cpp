#include "runtime/system_info.h"

#include "build_config.h"
#include "compat/torch_compat.h"

#include <cstdio>

#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/torch.h>

#ifdef HY3_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif
#ifdef HY3_WITH_NCCL
#include <torch/csrc/cuda/nccl.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

namespace hy3 {
namespace {

std::string cpuModel() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
        }
    }
    return "unknown";
}

// The BLAS LibTorch was built with, as its build configuration names it (PyTorch's wheels link
// MKL into libtorch_cpu).
std::string blasName() {
    const std::string config = at::show_config();
    const auto pos = config.find("BLAS_INFO=");
    if (pos == std::string::npos) return "unknown";
    const std::string name = config.substr(pos + 10, config.find_first_of(", \n", pos + 10) - pos - 10);
    return (name == "mkl" ? std::string("MKL") : name) + ", inside LibTorch";
}

// "13.0" from 13000: CUDART_VERSION's encoding.
std::string cudaVersionText(int version) { return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10); }

}  // namespace

double measureMatmulGflops(int64_t n, int threads, int reps) {
    torch::NoGradGuard noGrad;
    const int previous = at::get_num_threads();
    if (threads != previous) at::set_num_threads(threads);
    auto a = torch::randn({n, n});
    auto b = torch::randn({n, n});
    auto c = torch::empty({n, n});
    at::mm_out(c, a, b);  // warm-up: thread pool, page faults
    std::vector<double> seconds;
    for (int rep = 0; rep < std::max(1, reps); ++rep) {
        const auto start = std::chrono::steady_clock::now();
        at::mm_out(c, a, b);
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    if (threads != previous) at::set_num_threads(previous);
    std::nth_element(seconds.begin(), seconds.begin() + seconds.size() / 2, seconds.end());
    const double median = seconds[seconds.size() / 2];
    return 2.0 * static_cast<double>(n) * n * n / median / 1e9;
}

SystemInfo collectSystemInfo(bool measureMatmul) {
    SystemInfo info;
    info.engine_version = HY3_VERSION;
    info.torch_version = compat::torchVersion();
    info.cpu_model = cpuModel();
    info.hardware_threads = static_cast<int>(std::thread::hardware_concurrency());
    if (measureMatmul) {
        info.torch_threads = at::get_num_threads();
        info.matmul_gflops_1thread = measureMatmulGflops(1024, 1);
        info.matmul_gflops_all = measureMatmulGflops(1024, info.torch_threads);
    }
    info.blas_library = blasName();
#ifdef HY3_WITH_CUDA
    info.cuda_built = true;
    // The version LibTorch was compiled with: no driver or GPU is asked.
    info.cuda_version = cudaVersionText(static_cast<int>(at::detail::getCUDAHooks().versionCUDART()));
    for (int i = 0; i < static_cast<int>(torch::cuda::device_count()); ++i) {
        const auto* props = at::cuda::getDeviceProperties(i);
        GpuInfo g;
        g.index = i;
        g.name = props->name;
        g.memory_bytes = static_cast<int64_t>(props->totalGlobalMem);
        g.compute_major = props->major;
        g.compute_minor = props->minor;
        char bus[32];
        std::snprintf(bus, sizeof bus, "%04x:%02x:%02x.0", props->pciDomainID, props->pciBusID, props->pciDeviceID);
        g.pci_bus_id = bus;
        g.health = readGpuHealth(g.pci_bus_id);
        info.gpus.push_back(std::move(g));
    }
    info.driver_version = nvidiaDriverVersion();
#endif
#ifdef HY3_WITH_NCCL
    info.nccl_available = true;
    // LibTorch packs the NCCL it was built with as major << 32 | minor << 16 | patch.
    const std::uint64_t nccl = torch::cuda::nccl::version();
    info.nccl_version = std::to_string(nccl >> 32) + "." + std::to_string((nccl >> 16) & 0xFFFF) + "." + std::to_string(nccl & 0xFFFF);
#endif
#ifdef HY3_WITH_GLOO
    info.gloo_available = true;
#endif
    return info;
}

}  // namespace hy3

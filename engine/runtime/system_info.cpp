#include "runtime/system_info.h"

#include "build_config.h"
#include "compat/torch_compat.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#ifdef HY3_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <climits>
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

// Finds the shared library that provides the Fortran sgemm LibTorch calls. Debian's LibTorch links
// libblas.so.3, which update-alternatives points at OpenBLAS or the reference BLAS.
void detectBlas(SystemInfo& info) {
    void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
    Dl_info where{};
    if (sgemm && dladdr(sgemm, &where) && where.dli_fname) {
        char resolved[PATH_MAX];
        info.blas_library = realpath(where.dli_fname, resolved) ? resolved : where.dli_fname;
        using ConfigFn = char* (*)();
        if (auto config = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config")))
            info.blas_config = config();
        info.blas_is_reference = info.blas_library.find("openblas") == std::string::npos &&
                                 info.blas_library.find("mkl") == std::string::npos &&
                                 info.blas_library.find("blis") == std::string::npos;
        return;
    }
    // No dynamic sgemm: the BLAS is linked into LibTorch (PyTorch's builds bundle MKL).
    const std::string config = at::show_config();
    const auto pos = config.find("BLAS_INFO=");
    std::string name = pos == std::string::npos ? "unknown" : config.substr(pos + 10, config.find_first_of(", \n", pos + 10) - pos - 10);
    info.blas_library = "linked into LibTorch (" + name + ")";
}

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
    detectBlas(info);  // after the matmul: the BLAS library is loaded lazily by some builds
#ifdef HY3_WITH_CUDA
    info.cuda_built = true;
    for (int i = 0; i < static_cast<int>(torch::cuda::device_count()); ++i) {
        const auto* props = at::cuda::getDeviceProperties(i);
        info.gpus.push_back({i, props->name, static_cast<int64_t>(props->totalGlobalMem)});
    }
#endif
#ifdef HY3_WITH_NCCL
    info.nccl_available = true;
#endif
#ifdef HY3_WITH_GLOO
    info.gloo_available = true;
#endif
    return info;
}

}  // namespace hy3

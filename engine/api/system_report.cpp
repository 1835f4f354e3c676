#include "api/system_report.h"

#include "util/format.h"

#include <nlohmann/json.hpp>

#include <sstream>

namespace hy3::api {

SystemInfo systemInfo(bool measureMatmul) { return collectSystemInfo(measureMatmul); }

std::string formatSystemInfo(const SystemInfo& i) {
    std::ostringstream out;
    out << "hy3 engine   " << i.engine_version << "\n";
    out << "LibTorch     " << i.torch_version << (i.cuda_built ? " (CUDA)" : " (CPU only)") << "\n";
    out << "CPU          " << i.cpu_model << ", " << i.hardware_threads << " logical CPUs, LibTorch uses "
        << i.torch_threads << " threads\n";
    out << "BLAS         " << i.blas_library << "\n";
    if (!i.blas_config.empty()) out << "             " << i.blas_config << "\n";
    out << "Matmul fp32  " << fixed(i.matmul_gflops_1thread, 1) << " GFLOP/s on 1 thread";
    if (i.torch_threads > 1) out << ", " << fixed(i.matmul_gflops_all, 1) << " GFLOP/s on " << i.torch_threads;
    out << " (1024x1024, median of 7)\n";
    if (i.blas_is_reference)
        out << "WARNING      this is the slow reference BLAS; install libopenblas0-openmp "
               "(sudo apt-get install libopenblas0-openmp) for about 15x faster CPU training\n";
    if (i.gpus.empty()) {
        out << "GPUs         none" << (i.cuda_built ? " found" : " (this LibTorch has no CUDA)") << "\n";
    } else {
        for (const GpuInfo& g : i.gpus)
            out << "GPU " << g.index << "        " << g.name << ", " << shortBytes(static_cast<double>(g.memory_bytes)) << "\n";
    }
    out << "c10d         gloo " << (i.gloo_available ? "yes" : "no") << ", nccl " << (i.nccl_available ? "yes" : "no")
        << "\n";
    return out.str();
}

std::string systemInfoJson(const SystemInfo& i) {
    nlohmann::json gpus = nlohmann::json::array();
    for (const GpuInfo& g : i.gpus) gpus.push_back({{"index", g.index}, {"name", g.name}, {"memory_bytes", g.memory_bytes}});
    nlohmann::json out = {
        {"engine_version", i.engine_version},
        {"torch_version", i.torch_version},
        {"cuda_built", i.cuda_built},
        {"cpu_model", i.cpu_model},
        {"hardware_threads", i.hardware_threads},
        {"torch_threads", i.torch_threads},
        {"blas_library", i.blas_library},
        {"blas_config", i.blas_config},
        {"blas_is_reference", i.blas_is_reference},
        {"matmul_gflops_1thread", i.matmul_gflops_1thread},
        {"matmul_gflops", i.matmul_gflops_all},
        {"gpus", gpus},
        {"nccl", i.nccl_available},
        {"gloo", i.gloo_available},
    };
    return out.dump(2);
}

}  // namespace hy3::api

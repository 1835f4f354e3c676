// hy3 info and hy3 plan.
#include "cli/formats.h"

#include "api/common.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

namespace hy3::cli {
using namespace hy3::api;
namespace {

// Small devices (a CPU test, a tiny preset) read better in MiB.
struct Unit {
    double bytes;
    const char* name;
};
Unit unitFor(const PlanSettings& s) { return s.deviceMemoryBytes < 16.0 * 1073741824.0 ? Unit{1048576.0, "MiB"} : Unit{1073741824.0, "GiB"}; }

nlohmann::json memoryJson(const MemoryBreakdown& m) {
    return {{"weights", m.weights},     {"gradients", m.gradients}, {"optimizer", m.optimizer}, {"activations", m.activations},
            {"activations_checkpointed", m.activationsCheckpointed}, {"all_to_all", m.allToAll}, {"all_to_all_checkpointed", m.allToAllCheckpointed}, {"overhead", m.overhead},
            {"total", m.total(false)},  {"total_checkpointed", m.total(true)}};
}

}  // namespace

std::string formatSystemInfo(const SystemInfo& i) {
    std::ostringstream out;
    out << "hy3 engine   " << i.engine_version << "\n";
    out << "LibTorch     " << i.torch_version << (i.cuda_built ? ", CUDA " + i.cuda_version + " build" : ", CPU-only build")
        << (i.gpus.empty() ? ", no GPU visible" : "") << "\n";
    out << "CPU          " << i.cpu_model << ", " << i.hardware_threads << " logical CPUs, LibTorch uses "
        << i.torch_threads << " threads\n";
    out << "BLAS         " << i.blas_library << "\n";
    out << "Matmul fp32  " << fixed(i.matmul_gflops_1thread, 1) << " GFLOP/s on 1 thread";
    if (i.torch_threads > 1) out << ", " << fixed(i.matmul_gflops_all, 1) << " GFLOP/s on " << i.torch_threads;
    out << " (1024x1024, median of 7)\n";
    if (!i.driver_version.empty()) out << "Driver       NVIDIA " << i.driver_version << "\n";
    for (const GpuInfo& g : i.gpus) {
        out << "GPU " << g.index << "        " << g.name << ", " << shortBytes(static_cast<double>(g.memory_bytes)) << ", compute "
            << g.compute_major << "." << g.compute_minor << ", PCI " << g.pci_bus_id << "\n";
        if (g.health)
            out << "             now " << g.health->utilizationPercent << "% busy, "
                << shortBytes(static_cast<double>(g.health->memoryUsedBytes)) << " used, " << g.health->temperatureC << " C, "
                << fixed(g.health->powerWatts, 0) << " W\n";
    }
    out << "c10d         gloo " << (i.gloo_available ? "yes" : "no") << ", nccl "
        << (i.nccl_available ? "yes (NCCL " + i.nccl_version + ")" : std::string("no")) << "\n";
    return out.str();
}

std::string systemInfoJson(const SystemInfo& i) {
    nlohmann::json gpus = nlohmann::json::array();
    for (const GpuInfo& g : i.gpus) {
        nlohmann::json gpu = {{"index", g.index},
                              {"name", g.name},
                              {"memory_bytes", g.memory_bytes},
                              {"compute_capability", std::to_string(g.compute_major) + "." + std::to_string(g.compute_minor)},
                              {"pci_bus_id", g.pci_bus_id}};
        if (g.health)
            gpu["health"] = {{"utilization_percent", g.health->utilizationPercent},
                             {"memory_used_bytes", g.health->memoryUsedBytes},
                             {"temperature_c", g.health->temperatureC},
                             {"power_w", g.health->powerWatts}};
        gpus.push_back(std::move(gpu));
    }
    nlohmann::json out = {
        {"engine_version", i.engine_version},
        {"torch_version", i.torch_version},
        {"cuda_built", i.cuda_built},
        {"cuda_version", i.cuda_version},
        {"cpu_model", i.cpu_model},
        {"hardware_threads", i.hardware_threads},
        {"torch_threads", i.torch_threads},
        {"blas_library", i.blas_library},
        {"matmul_gflops_1thread", i.matmul_gflops_1thread},
        {"matmul_gflops", i.matmul_gflops_all},
        {"gpus", gpus},
        {"driver_version", i.driver_version},
        {"nccl", i.nccl_available},
        {"nccl_version", i.nccl_version},
        {"gloo", i.gloo_available},
    };
    return out.dump(2);
}

std::string formatLayoutPlan(const LayoutPlanResult& plan) {
    std::ostringstream o;
    const PlanSettings& s = plan.settings;
    const Unit unit = unitFor(s);
    auto gib = [&](double bytes) { return fixed(bytes / unit.bytes, unit.bytes > 1048576.0 ? 2 : 0); };
    o << s.devices << " x " << gib(s.deviceMemoryBytes) << " " << unit.name << " " << s.device << ", " << s.dtype << ", micro-batch " << s.microBatch << " x seq "
      << s.seqLen << "\n";
    o << "layout            memory per device, " << unit.name << "                                                 fits          step\n";
    o << "pp   dp   ep     weights    grads    optim    activ      a2a  overhead    total     ckpt   no ckpt  ckpt  relative\n";
    for (const LayoutEstimate& e : plan.layouts) {
        char head[64];
        std::snprintf(head, sizeof head, "%-4lld %-4lld %-4lld ", static_cast<long long>(e.layout.pp), static_cast<long long>(e.layout.dp),
                      static_cast<long long>(e.layout.ep));
        o << head;
        if (!e.valid()) {
            o << "invalid: " << e.problem << "\n";
            continue;
        }
        const MemoryBreakdown& m = e.memory;
        char line[256];
        std::snprintf(line, sizeof line, "%8s %8s %8s %8s %8s %9s %8s %8s   %-7s  %-4s  %s\n", gib(m.weights).c_str(),
                      gib(m.gradients).c_str(), gib(m.optimizer).c_str(), gib(m.activations).c_str(), gib(m.allToAll).c_str(),
                      gib(m.overhead).c_str(), gib(m.total(false)).c_str(), gib(m.total(true)).c_str(), e.fits ? "yes" : "no",
                      e.fitsCheckpointed ? "yes" : "no", (e.fits || e.fitsCheckpointed) ? fixed(e.relativeTime, 2).c_str() : "-");
        o << line;
    }
    o << plan.summary << "\n";
    return o.str();
}

std::string layoutPlanJson(const LayoutPlanResult& plan) {
    nlohmann::json layouts = nlohmann::json::array();
    for (const LayoutEstimate& e : plan.layouts) {
        nlohmann::json j = {{"pp", e.layout.pp}, {"dp", e.layout.dp}, {"ep", e.layout.ep}, {"valid", e.valid()}};
        if (!e.valid()) {
            j["problem"] = e.problem;
        } else {
            j["memory"] = memoryJson(e.memory);
            j["stage"] = e.stage;
            j["stage_layers"] = e.stageLayers;
            j["fits"] = e.fits;
            j["fits_checkpointed"] = e.fitsCheckpointed;
            j["step_seconds"] = e.stepSeconds;
            j["step_seconds_checkpointed"] = e.stepSecondsCheckpointed;
            j["relative_time"] = e.relativeTime;
            j["all_to_all_bytes_per_step"] = e.allToAllBytesPerStep;
        }
        layouts.push_back(j);
    }
    const PlanSettings& s = plan.settings;
    return nlohmann::json{{"devices", s.devices},
                          {"device_memory_bytes", s.deviceMemoryBytes},
                          {"device", s.device},
                          {"dtype", s.dtype},
                          {"seq_len", s.seqLen},
                          {"micro_batch", s.microBatch},
                          {"layouts", layouts},
                          {"recommended", plan.recommended},
                          {"recommend_checkpointing", plan.recommendCheckpointing},
                          {"summary", plan.summary}}
        .dump(2);
}

}  // namespace hy3::cli

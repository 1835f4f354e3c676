#pragma once
// The layout planner: for a model, a number of devices and their memory, every (pp, dp, ep) with
// its per-device memory (weights, gradients, optimizer state as sharded, activations with and
// without activation checkpointing, all-to-all buffers, runtime overhead) on its largest stage,
// whether it fits, and an estimated step time; invalid layouts carry the reason. `hy3 plan`, the
// workbench's layout page and `hy3 train`'s pre-flight all use these numbers. No torch here.
#include "config/model_config.h"
#include "config/project.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hy3 {

struct PlanSettings {
    int64_t devices = 1;
    double deviceMemoryBytes = 80e9;
    int64_t seqLen = 4096;
    int64_t microBatch = 1;
    int64_t globalBatch = 0;          // rows per step; 0: devices x microBatch x 4
    std::string device = "cuda";      // cuda or cpu
    std::string dtype = "bf16";       // parameter dtype: bf16 or fp32
    double overheadBytes = -1;        // per process; -1: 1 GiB on cuda (context, NCCL, allocator), 450 MiB on cpu (LibTorch loaded)
    double achievedFlopsPerSecond = 400e12;  // per device, for the time estimate
    double linkBytesPerSecond = 50e9;        // per device, collectives and all-to-all
    // What trains: frozen components hold their weights only (no gradients, master weights or
    // optimizer state). With `lora` the whole base is frozen (the router trains with
    // lora.train_router) and the adapters add fp32 weights, gradients and AdamW moments.
    FreezeSettings freeze;
    bool lora = false;
    LoraSpec loraSpec;
};

struct MemoryBreakdown {
    double weights = 0, gradients = 0, optimizer = 0;  // adapters included for LoRA
    double adapters = 0;                 // of which LoRA adapter weights, gradients and moments
    double activations = 0;              // without activation checkpointing
    double activationsCheckpointed = 0;  // with it
    double allToAll = 0;                 // expert-parallel receive buffers kept for backward
    double allToAllCheckpointed = 0;     // with checkpointing only the layer being recomputed keeps them
    double overhead = 0;
    double total(bool checkpointing) const {
        return weights + gradients + optimizer + (checkpointing ? activationsCheckpointed + allToAllCheckpointed : activations + allToAll) +
               overhead;
    }
};

struct LayoutEstimate {
    Layout layout;
    std::string problem;        // why the layout is invalid, or empty
    int64_t stage = 0;          // the stage with the largest memory
    int64_t stageLayers = 0;    // its layer count
    MemoryBreakdown memory;     // of that stage's ranks
    bool fits = false, fitsCheckpointed = false;
    double stepSeconds = 0, stepSecondsCheckpointed = 0;
    double allToAllBytesPerStep = 0;  // sent by one rank
    double relativeTime = 0;          // step time over the best fitting layout's (its choice of checkpointing)
    bool valid() const { return problem.empty(); }
};

struct LayoutPlanResult {
    PlanSettings settings;
    std::vector<LayoutEstimate> layouts;
    int recommended = -1;  // index, -1 when nothing fits
    bool recommendCheckpointing = false;
    std::string summary;   // one line: the recommendation, or why nothing fits
};

LayoutPlanResult planLayouts(const ModelConfig& config, const PlanSettings& settings);

// The memory of one rank of `stage` under a layout (the formula the planner sums).
MemoryBreakdown estimateRankMemory(const ModelConfig& config, const Layout& layout, int64_t stage, const PlanSettings& settings);
// The same with the layout's stage split (pipelineStages) already computed, as the planner has it.
MemoryBreakdown estimateRankMemory(const ModelConfig& config, const Layout& layout, const std::vector<std::pair<int64_t, int64_t>>& stages,
                                   int64_t stage, const PlanSettings& settings);

// Activation bytes one token leaves saved for backward in `layer` (the engine's own kernels).
double activationBytesPerToken(const ModelConfig& config, int64_t layer, double bytesPerValue);

}  // namespace hy3

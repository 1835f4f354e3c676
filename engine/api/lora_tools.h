#pragma once
// Engine facade for `hy3 lora inspect|merge` and adapters in `hy3 forward`. No torch headers.
#include "api/checkpoint_tools.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hy3::api {

struct AdapterReport {
    std::string path;
    std::string baseModel;            // base_model_name_or_path
    int64_t rank = 0;
    double alpha = 0, dropout = 0, scale = 0;
    bool useRslora = false;
    std::vector<std::string> targets;
    // Per layer, which modules have adapters: "layer 1: attention q/k/v/o; shared expert gate/up/down;
    // 8 of 8 experts x gate/up/down" (routed experts counted).
    std::vector<std::string> coverage;
    std::vector<std::string> coverageSummary;  // the same with runs of equal layers on one line ("layers 1-79: ...")
    int64_t parameters = 0;
    uint64_t bytes = 0;
    // How the file holds the routed experts: "fused" (PEFT's target_parameters on transformers'
    // fused experts, what hy3 writes), "per expert" (one module per expert: PEFT skips these on
    // transformers' Hy3), or "" (no routed experts).
    std::string expertLayout;
};
// Throws hy3::Error naming the file and the field or key.
AdapterReport inspectAdapter(const std::string& dir);

struct MergeRequest {
    std::string base;                 // a model directory, or a preset (its weights drawn from `seed`); empty: the
                                      // base (and seed) the meta.json of the adapter's LoRA checkpoint records
    std::string adapter;              // a PEFT LoRA adapter directory (a LoRA checkpoint's adapter/)
    std::string destination;          // a new directory
    std::string dtype = "bf16";
    std::string shardSize = "5GB";
    uint64_t seed = 42;               // training.seed of a preset-based run
};
// W += s B A for every adapted module, then the released layout (as checkpoint export writes it).
ExportSummary mergeAdapter(const MergeRequest& request);

}  // namespace hy3::api

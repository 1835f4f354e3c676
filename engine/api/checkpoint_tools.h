#pragma once
// Engine facade for `hy3 checkpoint inspect|verify|export` and the GUI's checkpoint pages.
// No torch headers.
#include "checkpoint/verify.h"

#include <cstdint>
#include <string>

namespace hy3::api {

struct ExportRequest {
    std::string source;        // checkpoint folder, model directory (either layout) or checkpoints folder
    std::string destination;   // a new directory (must not exist, or be empty)
    std::string dtype = "bf16";  // bf16 or fp32
    std::string shardSize = "5GB";
};

struct ExportSummary {
    std::string destination;
    int64_t tensors = 0;
    int64_t shards = 0;
    uint64_t tensorBytes = 0;
    int64_t mtpFiles = 0;              // files holding the source's MTP block, copied unchanged (not counted above)
    uint64_t modelBytesInMemory = 0;  // parameters and buffers as held while exporting
    uint64_t peakRssBytes = 0;        // of this process, at the end
};

ExportSummary exportCheckpoint(const ExportRequest& request);

// `hy3 checkpoint compare A B`: the same probe batch through two models, one loaded at a time (A's
// logits are kept, not A itself). Catches silent damage a file check cannot: a transposed expert,
// a wrong key map, a bad merge.
struct CompareRequest {
    std::string a, b;           // checkpoint folders (LoRA ones: their adapter on its base), model directories or presets
    std::string adapterA, adapterB;  // PEFT LoRA adapter directories run unmerged on A or B (optional)
    std::string input;          // safetensors batch (input_ids [+ labels, ...]); empty: the built-in probe
    std::string dtype = "fp32";  // parameters while comparing: fp32 or bf16
    double tolerance = 1e-3;    // largest |logit difference| that still counts as the same model
};

struct CompareReport {
    std::string a, b;           // what was compared: model directories, or "BASE + adapter DIR"
    std::string probe;          // "built-in probe: 4 x 64 tokens" or the input file
    int64_t positions = 0;      // logit rows compared
    double maxAbsDiff = 0;      // over every logit
    double meanAbsDiff = 0;
    double meanKl = 0;          // mean over positions of KL(softmax(A) || softmax(B)), in nats
    double top1Agreement = 0;   // fraction of positions where both models rank the same token first
    bool hasLoss = false;
    double lossA = 0, lossB = 0;  // mean cross-entropy over the label tokens
    int64_t expertsReached = 0;   // (layer, routed expert) pairs the probe sent tokens to in A
    int64_t expertsTotal = 0;
    double tolerance = 0;
    bool withinTolerance = false;  // maxAbsDiff <= tolerance
};

// Throws hy3::Error for bad input (a missing directory, models with different vocabularies).
CompareReport compareCheckpoints(const CompareRequest& request);
// The report as the CLI prints it and the Checkpoints page shows it.
std::string formatCompareReport(const CompareReport& report);

// `hy3 checkpoint verify`: every problem of a checkpoint or model directory (checkpoint/verify.h).
using hy3::verifyCheckpoint;


}  // namespace hy3::api

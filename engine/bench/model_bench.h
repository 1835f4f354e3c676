#pragma once
// `hy3 bench model`: forward and forward+backward time of a model shape, tokens/s and MFU against
// the matmul peak measured in the same run. A benchmark reports what it measured. No torch headers.
#include <cstdint>
#include <string>
#include <vector>

namespace hy3 {

struct ModelBenchRequest {
    std::string source;          // preset name or model directory (only its config is used)
    int64_t layers = 0;          // > 0: only the first N decoder layers of that config (a slice of a big model)
    std::string device = "auto"; // auto (a GPU when one is visible), cpu or cuda; each rank its LOCAL_RANK GPU
    int64_t seqLen = 256;
    int64_t batch = 4;
    int threads = 0;           // 0: LibTorch's default
    int warmup = 2;
    int iterations = 5;
    std::string dtype = "fp32";
    bool reference = false;    // time the plain eager reference instead of the engine's model
};

// Where a pass's time goes, from separate passes timed with the model's phase marks
// (model/phase_timer.h). The marks wait for the device at every boundary, so these passes are a
// little slower than the headline figures; their phases add up to `passMs`.
struct TimeSplit {
    double passMs = 0;  // mean of the split passes
    std::vector<std::pair<std::string, double>> phaseMs;  // attention, dispatch, routed experts, mlp, optimizer, other (mean ms)
};

struct ModelBenchResult {
    std::string source;
    std::string implementation;  // "engine" or "eager reference"
    int64_t seqLen = 0, batch = 0;
    int threads = 0;
    double forwardMs = 0;          // median
    double forwardBackwardMs = 0;  // median
    double tokensPerSecond = 0;    // forward + backward
    double flopsPerSecond = 0;     // forward + backward, model FLOPs (docs/hy3-model.md formula)
    std::string device;            // where it ran ("cpu", "cuda:0")
    std::string dtype;
    double peakFlopsPerSecond = 0; // measurePeakFlops between the steps (median): CPU fp32 on the same threads, GPU in the model's dtype
    double mfu = 0;                // median over steps of (model FLOPs / step time) / peak of that step
    double trainingFlopsPerToken = 0;
    TimeSplit split;               // forward+backward by phase (engine only; empty for the reference)
};

// Times `iterations` steps after `warmup`; the matmul peak is timed between them on the same threads.
ModelBenchResult benchModel(const ModelBenchRequest& request);

}  // namespace hy3

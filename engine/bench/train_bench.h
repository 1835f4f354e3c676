#pragma once
// `hy3 bench train`: whole training steps (forward, backward, clipping, AdamW, bias update) of a
// model shape on random full rows: step time, tokens/s and MFU against the matmul peak measured in
// the same run; with a layout, every rank's step time and all-to-all volume. No torch headers.
#include "bench/model_bench.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hy3 {

struct TrainBenchRequest {
    std::string source;          // preset name or model directory (only its config is used)
    int64_t layers = 0;          // > 0: only the first N decoder layers of that config (a slice of a big model)
    std::string device = "auto"; // auto (a GPU when one is visible), cpu or cuda; each rank its LOCAL_RANK GPU
    int64_t seqLen = 256;
    int64_t microBatch = 4;      // rows per forward/backward
    int64_t accumulation = 1;    // micro-batches per optimizer step
    int threads = 0;             // 0: LibTorch's default
    int warmup = 2;
    int steps = 5;
    std::string dtype = "fp32";
    bool activationCheckpointing = false;
    std::string layout;          // "pp=2,dp=2,ep=2" (any omitted: 1); run the ranks with hy3 launch
    int64_t loraRank = 0;        // > 0: LoRA of this rank on every module (routed experts included), the base frozen
    bool overlapGradientSync = true;  // false: the gradient sum waits for the end of the backward
};

// One rank's figures in a distributed benchmark.
struct RankBench {
    int rank = 0, stage = 0, dpRank = 0, epRank = 0;
    double stepMs = 0;                 // median
    double allToAllBytesPerStep = 0;   // sent to the other expert-parallel ranks
    double gradientSyncMs = 0;         // median of the gradient sum left after the backward (exposed)
    int buckets = 0, bucketsOverlapped = 0;  // gradient buckets, and those whose sum started during the backward (last step)
    double updateMs = 0;               // median: norm, clipping, AdamW, parameter sharing, bias update
    uint64_t peakRssBytes = 0;
};

struct TrainBenchResult {
    std::string source;
    int64_t seqLen = 0, microBatch = 0, accumulation = 0;
    int threads = 0;
    std::string dtype;
    int64_t loraRank = 0;          // 0: full fine-tuning
    bool overlapGradientSync = true;
    double stepMs = 0;             // median full step: forward, backward, clipping, AdamW, bias update
    double updateMs = 0;           // median of the update alone (rank 0's)
    double tokensPerSecond = 0;
    double flopsPerSecond = 0;     // model FLOPs (docs/hy3-model.md formula)
    std::string device;            // where rank 0 ran ("cpu", "cuda:0")
    double peakFlopsPerSecond = 0; // measurePeakFlops of every rank together, timed between steps (median)
    double mfu = 0;                // median over steps of the per-step ratio
    double trainingFlopsPerToken = 0;
    uint64_t peakRssBytes = 0;         // the largest of any rank
    int64_t pp = 1, dp = 1, ep = 1;
    std::vector<RankBench> ranks;      // every rank (one entry in a single process)
    bool printer = true;               // rank 0: the one that reports
    TimeSplit split;                   // rank 0's whole steps by phase, the optimizer included
};

// Runs `steps` timed training steps after `warmup` on every rank of the layout (under hy3 launch).
TrainBenchResult benchTrain(const TrainBenchRequest& request);

}  // namespace hy3

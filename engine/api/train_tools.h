#pragma once
// Engine facade for `hy3 train`, `hy3 bench train` and `hy3 generate`. No torch headers.
#include "job/stop_signal.h"
#include "job/trainer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hy3::api {

struct TrainBenchRequest {
    std::string source;          // preset name or model directory (only its config is used)
    int64_t seqLen = 256;
    int64_t microBatch = 4;      // rows per forward/backward
    int64_t accumulation = 1;    // micro-batches per optimizer step
    int threads = 0;             // 0: LibTorch's default
    int warmup = 2;
    int steps = 5;
    std::string dtype = "fp32";
    bool activationCheckpointing = false;
    std::string layout;          // "pp=2,dp=2,ep=2" (any omitted: 1); run the ranks with hy3 launch
};

// One rank's figures in a distributed benchmark.
struct RankBench {
    int rank = 0, stage = 0, dpRank = 0, epRank = 0;
    double stepMs = 0;                 // median
    double allToAllBytesPerStep = 0;   // sent to the other expert-parallel ranks
    uint64_t peakRssBytes = 0;
};

struct TrainBenchResult {
    std::string source;
    int64_t seqLen = 0, microBatch = 0, accumulation = 0;
    int threads = 0;
    std::string dtype;
    double stepMs = 0;             // median full step: forward, backward, clipping, AdamW, bias update
    double tokensPerSecond = 0;
    double flopsPerSecond = 0;     // model FLOPs (docs/hy3-model.md formula)
    double peakFlopsPerSecond = 0; // 2048^3 fp32 matmul, same threads, timed between steps (median)
    double mfu = 0;                // median over steps of the per-step ratio
    double trainingFlopsPerToken = 0;
    uint64_t peakRssBytes = 0;         // the largest of any rank
    int64_t pp = 1, dp = 1, ep = 1;
    std::vector<RankBench> ranks;      // every rank (one entry in a single process)
    bool printer = true;               // rank 0: the one that reports
};

TrainBenchResult benchTrain(const TrainBenchRequest& request);
std::string formatTrainBench(const TrainBenchResult& result);
std::string trainBenchJson(const TrainBenchResult& result);

struct GenerateRequest {
    std::string model;             // checkpoint folder, model directory, or a run's checkpoints folder
    std::string tokenizer;         // default: the model directory's tokenizer files
    std::vector<std::string> prompts;
    std::string system;            // an optional system message before each prompt
    std::string chatTemplate = "auto";
    std::string reasoningEffort = "no_think";
    int64_t maxNewTokens = 64;
    double temperature = 0;        // 0: greedy
    double topP = 1.0;
    uint64_t seed = 0;
    std::string dtype = "fp32";
    int threads = 0;
};

struct GenerateResult {
    std::string prompt;
    std::string text;              // the reply, special tokens and the reasoning block removed
    std::string reasoning;         // what stood between <think> and </think> at the start of the reply
    int64_t promptTokens = 0, newTokens = 0;
    double seconds = 0;
    bool stopped = false;          // ended at an end-of-turn token (else at max_new_tokens)
};

// One reply per prompt, each from a fresh KV cache.
std::vector<GenerateResult> generate(const GenerateRequest& request);

// A question file: one JSON object per line with "question" (or "prompt") and optionally "answer".
struct Question {
    std::string question, answer;
};
std::vector<Question> readQuestions(const std::string& file);

}  // namespace hy3::api

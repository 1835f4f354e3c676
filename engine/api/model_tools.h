#pragma once
// Engine facade for `hy3 forward` and `hy3 bench model`. No torch headers.
#include <cstdint>
#include <string>
#include <vector>

namespace hy3::api {

struct ForwardRequest {
    std::string modelDir;      // HF model directory
    std::string input;         // safetensors with input_ids [+ labels, attention_mask, position_ids, cu_seqlens]
    std::string output;        // safetensors to write
    std::string dtype = "fp32";  // fp32 or bf16
    bool grads = false;        // also write grad.<on-disk key> for every trainable tensor
    double biasUpdate = -1;    // >= 0: apply one aux-loss-free bias update and write the new biases
    bool activationCheckpointing = false;
};

struct ForwardSummary {
    bool hasLoss = false;
    double loss = 0;           // mean over label tokens (HF convention)
    int64_t labelTokens = 0;
    double gradNorm = 0;
    std::vector<std::string> written;  // tensor names in the output file
};

ForwardSummary runForward(const ForwardRequest& request);

struct ModelBenchRequest {
    std::string source;        // preset name or model directory (only its config is used)
    int64_t seqLen = 256;
    int64_t batch = 4;
    int threads = 0;           // 0: LibTorch's default
    int warmup = 2;
    int iterations = 5;
    std::string dtype = "fp32";
    bool reference = false;    // time the plain eager reference instead of the engine's model
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
    double peakFlopsPerSecond = 0; // a 2048x2048 fp32 matmul timed between the steps, same threads (median)
    double mfu = 0;                // median over steps of (model FLOPs / step time) / peak of that step
    double trainingFlopsPerToken = 0;
};

ModelBenchResult benchModel(const ModelBenchRequest& request);
std::string formatModelBench(const ModelBenchResult& result);
std::string modelBenchJson(const ModelBenchResult& result);

}  // namespace hy3::api

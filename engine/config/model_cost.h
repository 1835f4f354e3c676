#pragma once
// Parameter counts and training FLOPs of a Hy3 config. Every count or FLOP figure the product shows
// (model-info, the planner, MFU in training and benchmarks) comes from these functions.
#include "config/model_config.h"
#include "config/project.h"
#include "config/tensor_names.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hy3 {

// Parameters of one piece of one layer (no layer count applied).
int64_t attentionParams(const ModelConfig& c);     // q, k, v, o projections and the q/k norms
int64_t denseMlpParams(const ModelConfig& c);      // gate, up, down of the dense MLP
int64_t routedExpertParams(const ModelConfig& c);  // gate, up, down of ONE routed expert
int64_t sharedExpertParams(const ModelConfig& c);  // the shared MLP (all shared experts together)
int64_t routerParams(const ModelConfig& c);        // router gate [E, H]

struct ParameterRow {
    std::string component;  // componentName(kind): "embeddings", "attention", ...
    Component kind = Component::Norms;
    int64_t total = 0;      // parameters stored
    int64_t active = 0;     // parameters used for one token
};

struct ParameterCount {
    std::vector<ParameterRow> rows;  // per component, in model order
    int64_t total = 0;               // trainable parameters without the MTP block
    int64_t active = 0;              // of which used per token (top-k experts only)
    int64_t mtp = 0;                 // parameters of the MTP block(s) stored on disk, never trained here
    int64_t buffers = 0;             // non-trainable tensors (the expert-bias vectors)
};

ParameterCount countParameters(const ModelConfig& c);

// The parameters that train under the freeze settings (the workbench's live count).
int64_t trainableParameters(const ParameterCount& count, const FreezeSettings& freeze);

// LoRA adapter parameters, r * (in + out) per adapted module (the one formula the trainer and the
// planner use): of one layer, split into those every replica holds and the routed experts' (all
// experts of the layer); and of the whole model.
struct LoraLayerParameters {
    int64_t replicated = 0, experts = 0;
};
LoraLayerParameters loraLayerParameters(const ModelConfig& c, const LoraSpec& lora, int64_t layer);
int64_t loraParameterCount(const ModelConfig& c, const LoraSpec& lora);

// Training FLOPs per token (forward + backward = 3x forward, causal attention halved; the Megatron
// convention of docs/hy3-model.md) at sequence length `seqLen`.
double trainingFlopsPerToken(const ModelConfig& c, int64_t seqLen);
// The same for LoRA on a frozen base: the base's matmuls run forward and back to their inputs but
// compute no weight gradients (2x forward instead of 3x; attention scores stay 3x), and the
// adapters add 3x their own forward (2 FLOPs per adapter parameter, the routed experts' for the
// k experts a token visits).
double loraTrainingFlopsPerToken(const ModelConfig& c, int64_t seqLen, const LoraSpec& lora);

// Forward-only FLOPs per token (a third of the training figure): the sum of every layer's and the head's.
double forwardFlopsPerToken(const ModelConfig& c, int64_t seqLen);
double layerForwardFlopsPerToken(const ModelConfig& c, int64_t layer, int64_t seqLen);
double headForwardFlopsPerToken(const ModelConfig& c);

// The layers [first, last) of each pipeline stage: contiguous, balanced by forward FLOPs (the head
// counts on the last stage), the largest stage as small as it can be. Throws when stages > layers.
std::vector<std::pair<int64_t, int64_t>> pipelineStages(const ModelConfig& c, int64_t stages, int64_t seqLen);

// Model FLOPs utilisation: `flopsPerToken` for `tokens` tokens (rows x seq_len, padding included,
// since the model computes it) done in `seconds`, as a share of `peakFlopsPerSecond`.
double modelFlopsUtilization(double flopsPerToken, int64_t tokens, double seconds, double peakFlopsPerSecond);

}  // namespace hy3

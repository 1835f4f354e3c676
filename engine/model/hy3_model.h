#pragma once
// HYV3ForCausalLM as docs/hy3-model.md defines it. The model is single-device code: it never
// mentions process groups; engine/dist wraps it. Parameters are held fused (q/k/v as one
// projection, gate+up as one, each layer's routed experts as two grouped tensors); the checkpoint
// key table (checkpoint/key_names.h) maps them to on-disk names.
#include "config/model_config.h"
#include "model/attention.h"
#include "model/expert_exchange.h"
#include "model/lora.h"
#include "model/moe.h"
#include "model/phase_timer.h"
#include "model/phase_timer.h"

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace hy3 {

struct ModelOptions {
    torch::Dtype dtype = torch::kFloat;        // parameters: kFloat or kBFloat16 (router and bias stay fp32)
    torch::Device device = torch::kCPU;
    int64_t expertFirst = 0;                   // routed experts held: [expertFirst, expertLast)
    int64_t expertLast = -1;                   // -1: all experts
    int64_t layerFirst = 0;                    // decoder layers held: [layerFirst, layerLast) (a pipeline stage);
    int64_t layerLast = -1;                    // -1: to the end. The embedding is held with layer 0, norm and head with the last
    std::shared_ptr<ExpertExchange> expertExchange;  // expert parallelism: slots of other ranks' experts travel through it
    std::optional<KernelChoice> kernels;       // unset: chooseKernels(device); tests force one
    bool activationCheckpointing = false;      // recompute each block in backward
    double auxLossCoef = 0.0;                  // sequence-level balance loss coefficient
    int64_t lossChunkRows = 1024;              // rows of logits computed at once for the loss
};

// One micro-batch. Either padded rows (attention_mask) or packed rows (position_ids restarting at 0
// per document, and/or cu_seqlens over the flattened rows), each document attending only to itself.
struct Batch {
    torch::Tensor input_ids;       // [B, S] int64
    torch::Tensor labels;          // [B, S] int64, -100 = ignored; position t predicts labels[t+1]
    torch::Tensor attention_mask;  // [B, S], 1 = real token (optional)
    torch::Tensor position_ids;    // [B, S] (optional; default 0..S-1 per row)
    torch::Tensor cu_seqlens;      // [docs+1] int32/int64 over the flattened B*S tokens (optional)
};

struct ForwardOptions {
    int64_t logitsToKeep = -1;     // -1: no logits; 0: all positions; n > 0: the last n per row
    bool recordRouting = false;    // keep router logits and selected experts per MoE layer
    torch::Tensor hiddenIn;        // a later pipeline stage: the previous stage's hidden states [B*S, H]
    PhaseTimer* phases = nullptr;  // benchmarks: split the time into attention, dispatch, experts, ...
};

struct LayerRouting {
    int64_t layer = 0;
    torch::Tensor logits_TE;       // fp32 router logits of the routed tokens
    torch::Tensor experts_TK;      // selected experts, sorted ascending per token
    torch::Tensor load_E;          // token-slots per expert in this forward (int64)
};

struct ForwardOutput {
    torch::Tensor lossSum;         // fp32 scalar: summed cross-entropy over label tokens (undefined without labels)
    int64_t labelTokens = 0;       // how many positions counted
    torch::Tensor auxLoss;         // coefficient * balance loss, when the coefficient is > 0
    torch::Tensor logits;          // [B, S', V] fp32 when asked for
    std::vector<LayerRouting> routing;  // when asked for
    torch::Tensor hidden;          // a stage before the last: its output hidden states [B*S, H]
};

// Keys and values of every layer for incremental decoding: [K, positions, D] each.
struct KvCache {
    std::vector<torch::Tensor> keys, values;
    int64_t length = 0;
};

class Hy3ModelImpl : public torch::nn::Module {
public:
    Hy3ModelImpl(const ModelConfig& config, const ModelOptions& options);

    ForwardOutput forward(const Batch& batch, const ForwardOptions& options = {});

    // Inference with a KV cache: runs `ids` [1, n] after the cache's positions, appends their keys
    // and values, and returns the fp32 logits of the last position [vocab]. No gradients.
    torch::Tensor decode(const torch::Tensor& ids, KvCache& cache);

    // Initialisation for training from scratch: norms 1, matrices truncated normal
    // (std = initializer_range, default 0.02, cut at 2 std), expert bias 0. Same seed, same weights.
    void initializeWeights(uint64_t seed);

    // Aux-loss-free balancing: bias += factor * sign(mean(load) - load), with the load accumulated
    // since the last call (then reset). Factor 0 leaves the bias as it is.
    void updateExpertBias(double factor);
    // Token-slots per expert since the last update, per MoE layer (for metrics and the bias update).
    std::vector<torch::Tensor> loadSinceUpdate() const;
    // Replaces the accumulated load (after it was summed over the ranks sharing a router).
    void setLoadSinceUpdate(const std::vector<torch::Tensor>& load);

    const ModelConfig& config() const { return config_; }
    int64_t layerFirst() const { return layerFirst_; }
    int64_t layerLast() const { return layerLast_; }
    bool holdsEmbedding() const { return layerFirst_ == 0; }
    bool holdsHead() const { return layerLast_ == config_.num_hidden_layers; }
    // Whether this model holds the parameter or buffer with this internal name.
    bool holds(const std::string& name) const;
    const ModelOptions& options() const { return options_; }
    int64_t localExperts() const { return expertLast_ - expertFirst_; }
    int64_t expertFirst() const { return expertFirst_; }
    std::vector<int64_t> moeLayers() const;  // the MoE layers held here

    // The parameter or buffer registered under an internal name ("layers.1.experts_gate_up").
    torch::Tensor tensor(const std::string& name) const;

    // LoRA: forward adds the adapters' terms to the modules they cover (null: none). The adapters
    // must match this model's layers and experts.
    void attachAdapters(LoraAdapters adapters);
    const LoraAdapters& adapters() const { return adapters_; }
    // Folds the attached adapters into the base weights (W += s B A in fp32, rounded once) and
    // detaches them.
    void mergeAdapters();

private:
    struct Step;  // per-forward state shared by the blocks (mask, rope, routing records)
    torch::Tensor block(int64_t layer, const torch::Tensor& h, Step& step, bool record);
    // The block's second half on the residual after attention: the dense MLP or the MoE.
    torch::Tensor feedForward(int64_t layer, const torch::Tensor& h, Step& step, bool record);
    torch::Tensor moe(int64_t layer, const torch::Tensor& h, const torch::Tensor& normed, Step& step, bool record);
    torch::Tensor checkpointedBlock(int64_t layer, const torch::Tensor& h, Step& step);
    torch::Tensor headLogits(const torch::Tensor& rows) const;
    // The projections with their LoRA terms, shared by forward and decode.
    torch::Tensor qkvProjection(int64_t layer, const torch::Tensor& a) const;
    torch::Tensor outProjection(int64_t layer, const torch::Tensor& residual, const torch::Tensor& attn) const;
    torch::Tensor gateUpProjection(int64_t layer, LoraGroup group, const torch::Tensor& m, const torch::Tensor& weight) const;
    torch::Tensor withDelta(torch::Tensor out, int64_t layer, LoraGroup group, const char* module, const torch::Tensor& x) const;
    // down(silu(gate m) * up m), added to `residual` when it is defined (the dense MLP, the shared expert).
    torch::Tensor swigluMlp(int64_t layer, LoraGroup group, const torch::Tensor& m, const torch::Tensor& gateUp,
                            const torch::Tensor& down, const torch::Tensor& residual) const;
    torch::Tensor routedExperts(int64_t layer, const torch::Tensor& xs, const torch::Tensor& ws, const torch::Tensor& counts) const;

    ModelConfig config_;
    ModelOptions options_;
    KernelChoice kernels_;
    int64_t expertFirst_ = 0, expertLast_ = 0;
    int64_t layerFirst_ = 0, layerLast_ = 0;
    torch::Tensor embed_, norm_, lmHead_;
    struct Layer {
        torch::Tensor inputNorm, qkv, qNorm, kNorm, o, postNorm;
        torch::Tensor gateUp, down;                             // dense layers
        torch::Tensor router, bias, expertsGateUp, expertsDown;  // MoE layers
        torch::Tensor sharedGateUp, sharedDown;
        torch::Tensor loadSinceUpdate;                          // int64 [E], on the model's device
    };
    std::vector<Layer> layers_;  // every layer of the config; only those held have tensors
    LoraAdapters adapters_{nullptr};
    // The MoE layer's output: residual + shared expert + routed expert rows added at their tokens.
    torch::Tensor combineExperts(int64_t layer, const Step& step, const torch::Tensor& h, const torch::Tensor& m, const torch::Tensor& ys,
                                 const torch::Tensor& rows);
};
TORCH_MODULE(Hy3Model);

// The label positions a batch contributes to the loss: labels shifted left by one, -100 at the end
// of each row and wherever the next token starts another document.
torch::Tensor shiftedTargets(const Batch& batch, const AttentionMask& mask);
// How many of them count (the loss's divisor); the same number forward() reports as labelTokens.
int64_t countLossTokens(const Batch& batch);

}  // namespace hy3

#pragma once
// LoRA adapters for Hy3 (PEFT's LoRA): y = x W^T + s * dropout(x) A^T B^T with A [r, in], B [out, r],
// s = alpha / r (or alpha / sqrt(r) with rsLoRA). A starts as PEFT's default (Kaiming-uniform with
// a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in))), B at zero, so an untrained adapter changes
// nothing. Adapters are fp32 whatever the base dtype. The routed experts' adapters are held grouped
// like the experts ([E, r, in] and [E, out, r]) and run on the expert-sorted token slots.
//
// The adapters are their own module, attached to a model (Hy3ModelImpl::attachAdapters): the base
// model's parameters, loader and export do not change, and only the adapters train.
#include "config/model_config.h"
#include "config/project.h"
#include "model/moe.h"

#include <torch/torch.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace hy3 {

struct LoraSettings {
    int64_t rank = 16;
    double alpha = 32;
    double dropout = 0;
    bool useRslora = false;
    std::set<std::string> targets{std::begin(kLoraModules), std::end(kLoraModules)};  // config/project.h
    // Which groups the targets reach (the router never gets an adapter).
    bool attention = true, denseMlp = true, sharedExpert = true, routedExperts = true;
    double scale() const;
};

// Throws hy3::Error naming the field for rank < 1, alpha <= 0, dropout outside [0, 1), an unknown
// target, or no target at all.
void checkLoraSettings(const LoraSettings& settings);

enum class LoraGroup { Attention, DenseMlp, SharedExpert, RoutedExperts };

// One adapted module of one layer. Routed experts: A [E, r, in], B [E, out, r] for this rank's
// experts; the others A [r, in], B [out, r].
struct LoraPair {
    int64_t layer = 0;
    LoraGroup group = LoraGroup::Attention;
    std::string module;  // q_proj, ..., down_proj
    torch::Tensor A, B;
    // The released on-disk module path, as PEFT names it ("model.layers.1.self_attn.q_proj";
    // routed experts: "model.layers.1.mlp.experts.7.gate_proj" for global expert 7).
    std::string modulePath(int64_t expert = -1) const;
};

class LoraAdaptersImpl : public torch::nn::Module {
public:
    // Adapters for the layers [layerFirst, layerLast) and routed experts [expertFirst, expertLast)
    // of `config`, initialised from `seed` (each tensor, each expert, from its own generator, so the
    // values do not depend on the layout).
    LoraAdaptersImpl(const ModelConfig& config, const LoraSettings& settings, int64_t layerFirst, int64_t layerLast,
                     int64_t expertFirst, int64_t expertLast, torch::Device device, uint64_t seed);

    const LoraSettings& settings() const { return settings_; }
    double scale() const { return scale_; }
    int64_t expertFirst() const { return expertFirst_; }
    // The adapter of a module of a layer, or nullptr.
    const LoraPair* find(int64_t layer, LoraGroup group, const std::string& module) const;
    const std::vector<LoraPair>& pairs() const { return pairs_; }

    // s * dropout(x) A^T B^T in x's dtype (computed in fp32); undefined without an adapter.
    torch::Tensor delta(int64_t layer, LoraGroup group, const std::string& module, const torch::Tensor& x, bool training) const;
    // The same for expert-sorted rows (`rows` per local expert).
    torch::Tensor expertDelta(int64_t layer, const std::string& module, const torch::Tensor& x_N, const ExpertRows& rows,
                              bool training) const;

    // Every adapted module, routed experts one by one: its released on-disk path
    // ("model.layers.1.mlp.experts.7.gate_proj", global expert index), A [r, in] and B [out, r] (or,
    // with `gradients`, their gradients: zeros where none was computed).
    struct Module {
        std::string path;
        torch::Tensor A, B;
    };
    std::vector<Module> modules(bool gradients = false) const;
    // Every adapter tensor under its PEFT key ("base_model.model.<module>.lora_A.weight"), routed
    // experts split per expert with global expert indices.
    // With `gradients`, the same keys with the tensors' gradients (zeros where none was computed).
    std::vector<std::pair<std::string, torch::Tensor>> peftTensors(bool gradients = false) const;
    // Loads tensors by PEFT key (every adapter of this model must be there, with its shape). Keys
    // this model does not have are an error, unless `othersAllowed` (this model is one pipeline
    // stage or expert range of the one that wrote them). Throws hy3::Error naming the key;
    // `source` names the file.
    void loadPeftTensors(const std::map<std::string, torch::Tensor>& tensors, const std::string& source, bool othersAllowed = false);

    int64_t parameterCount() const;  // every adapter element this module holds

private:
    torch::Tensor adapterInput(const torch::Tensor& x, bool training) const;

    LoraSettings settings_;
    double scale_ = 1;
    int64_t expertFirst_ = 0;
    std::vector<LoraPair> pairs_;
    std::map<std::string, size_t> index_;  // "layer/group/module" -> pairs_
};
TORCH_MODULE(LoraAdapters);

const char* loraGroupName(LoraGroup group);  // attention, dense MLP, shared expert, routed experts

}  // namespace hy3

#pragma once
// The model's internal tensors in one table: each name with the component it belongs to, whether
// it is a buffer, and how it is sharded. The model registers its tensors under these names, the
// checkpoint key table (checkpoint/key_names.h) maps them to on-disk keys, and freezing, ZeRO
// sharding, gradient groups, export and the "what trains" report ask here instead of matching
// names. No torch here.
//
// Names: "embed_tokens", "norm", "lm_head" for the whole model; "layers.<L>.<tensor>" for a layer.
#include "config/project.h"

#include <cstdint>
#include <string>

namespace hy3 {

// The parts a user sees in `hy3 model-info`, the Model page and the trainer's "what trains" map.
enum class Component { Embeddings, Norms, Attention, DenseMlp, Router, RoutedExperts, SharedExpert, LmHead };
constexpr int kComponentCount = 8;

// One vocabulary for them: "embeddings", "norms", "attention", "dense MLP", "router",
// "routed experts", "shared expert", "lm_head".
const char* componentName(Component component);

// Whether the freeze settings keep a component fixed (norms and the dense MLP always train).
bool isFrozen(const FreezeSettings& freeze, Component component);

// The tensors of one layer, as registered under "layers.<L>.".
namespace layer_tensor {
inline constexpr const char* kInputNorm = "input_norm";
inline constexpr const char* kPostNorm = "post_norm";
inline constexpr const char* kQkvProj = "qkv_proj";      // q, k, v rows stacked
inline constexpr const char* kQNorm = "q_norm";
inline constexpr const char* kKNorm = "k_norm";
inline constexpr const char* kOProj = "o_proj";
inline constexpr const char* kGateUpProj = "gate_up_proj";  // dense layers: gate and up rows stacked
inline constexpr const char* kDownProj = "down_proj";
inline constexpr const char* kRouter = "router";            // fp32
inline constexpr const char* kExpertBias = "expert_bias";   // fp32 buffer: the aux-loss-free balance bias
inline constexpr const char* kExpertsGateUp = "experts_gate_up";  // [E, 2F, H]: the layer's routed experts
inline constexpr const char* kExpertsDown = "experts_down";       // [E, H, F]
inline constexpr const char* kSharedGateUp = "shared_gate_up";
inline constexpr const char* kSharedDown = "shared_down";
}  // namespace layer_tensor
inline constexpr const char* kEmbedTokens = "embed_tokens";
inline constexpr const char* kFinalNorm = "norm";
inline constexpr const char* kLmHead = "lm_head";

// "layers.3.qkv_proj"
std::string layerTensorName(int64_t layer, const char* tensor);

struct TensorSpec {
    Component component = Component::Norms;
    int64_t layer = -1;         // the decoder layer, or -1 for embed_tokens, norm and lm_head
    bool buffer = false;        // never trained (the expert bias)
    bool expertSliced = false;  // dim 0 indexes routed experts: split over the expert-parallel group
                                // (everything else is replicated over the data-parallel replicas of its stage)
    bool normWeight = false;    // an RMSNorm weight (initialised to 1), q/k norms included
    bool adapter = false;       // a LoRA adapter tensor; `component` is the part it adapts
};

// LoRA adapter tensors, as the trainer names them: "lora.layers.<L>.<group>_<module>_<A|B>" with
// group attn, mlp, shared or experts ("lora.layers.1.experts_gate_proj_A").
inline constexpr const char* kLoraPrefix = "lora.";

// The spec of an internal name. Throws hy3::Error for a name the table does not know.
TensorSpec tensorSpec(const std::string& name);
// Shorthands for the two questions asked most.
bool isRoutedExpert(const std::string& name);
bool trainsUnder(const FreezeSettings& freeze, const std::string& name);

}  // namespace hy3

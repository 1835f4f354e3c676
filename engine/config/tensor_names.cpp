#include "config/tensor_names.h"

#include "util/error.h"

#include <cstdlib>
#include <cstring>

namespace hy3 {
namespace {

struct LayerTensorRow {
    const char* name;
    Component component;
    bool buffer;
    bool expertSliced;
    bool normWeight;
};

// Every tensor a decoder layer may hold.
constexpr LayerTensorRow kLayerTensors[] = {
    // name, component, buffer, expert-sliced, norm weight
    {layer_tensor::kInputNorm, Component::Norms, false, false, true},
    {layer_tensor::kPostNorm, Component::Norms, false, false, true},
    {layer_tensor::kQkvProj, Component::Attention, false, false, false},
    {layer_tensor::kQNorm, Component::Attention, false, false, true},
    {layer_tensor::kKNorm, Component::Attention, false, false, true},
    {layer_tensor::kOProj, Component::Attention, false, false, false},
    {layer_tensor::kGateUpProj, Component::DenseMlp, false, false, false},
    {layer_tensor::kDownProj, Component::DenseMlp, false, false, false},
    {layer_tensor::kRouter, Component::Router, false, false, false},
    {layer_tensor::kExpertBias, Component::Router, true, false, false},
    {layer_tensor::kExpertsGateUp, Component::RoutedExperts, false, true, false},
    {layer_tensor::kExpertsDown, Component::RoutedExperts, false, true, false},
    {layer_tensor::kSharedGateUp, Component::SharedExpert, false, false, false},
    {layer_tensor::kSharedDown, Component::SharedExpert, false, false, false},
};

}  // namespace

const char* componentName(Component c) {
    switch (c) {
        case Component::Embeddings: return "embeddings";
        case Component::Norms: return "norms";
        case Component::Attention: return "attention";
        case Component::DenseMlp: return "dense MLP";
        case Component::Router: return "router";
        case Component::RoutedExperts: return "routed experts";
        case Component::SharedExpert: return "shared expert";
        case Component::LmHead: return "lm_head";
    }
    return "?";
}

bool isFrozen(const FreezeSettings& f, Component c) {
    switch (c) {
        case Component::Embeddings: return f.embeddings;
        case Component::Attention: return f.attention;
        case Component::Router: return f.router;
        case Component::RoutedExperts: return f.experts;
        case Component::SharedExpert: return f.shared_expert;
        case Component::LmHead: return f.lm_head;
        case Component::Norms:
        case Component::DenseMlp: return false;
    }
    return false;
}

std::string layerTensorName(int64_t layer, const char* tensor) { return "layers." + std::to_string(layer) + "." + tensor; }

namespace {

// "lora.layers.3.experts_down_proj_B": the adapted component, the layer, expert-sliced or not.
bool adapterSpec(const std::string& name, TensorSpec& spec) {
    static const std::string prefix = std::string(kLoraPrefix) + "layers.";
    if (name.compare(0, prefix.size(), prefix) != 0) return false;
    const size_t dot = name.find('.', prefix.size());
    if (dot == std::string::npos) return false;
    const std::string number = name.substr(prefix.size(), dot - prefix.size()), tensor = name.substr(dot + 1);
    if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos) return false;
    const std::pair<const char*, Component> groups[] = {{"attn_", Component::Attention}, {"mlp_", Component::DenseMlp},
                                                        {"shared_", Component::SharedExpert}, {"experts_", Component::RoutedExperts}};
    for (const auto& [group, component] : groups)
        if (tensor.rfind(group, 0) == 0) {
            spec.component = component;
            spec.layer = std::atoll(number.c_str());
            spec.expertSliced = component == Component::RoutedExperts;
            spec.adapter = true;
            return true;
        }
    return false;
}

}  // namespace

TensorSpec tensorSpec(const std::string& name) {
    TensorSpec spec;
    if (adapterSpec(name, spec)) return spec;
    if (name == kEmbedTokens) return spec.component = Component::Embeddings, spec;
    if (name == kFinalNorm) return spec.component = Component::Norms, spec.normWeight = true, spec;
    if (name == kLmHead) return spec.component = Component::LmHead, spec;
    static const std::string prefix = "layers.";
    const size_t dot = name.find('.', prefix.size());
    if (name.compare(0, prefix.size(), prefix) == 0 && dot != std::string::npos && dot > prefix.size()) {
        const std::string number = name.substr(prefix.size(), dot - prefix.size());
        const char* tensor = name.c_str() + dot + 1;
        if (number.find_first_not_of("0123456789") == std::string::npos)
            for (const LayerTensorRow& row : kLayerTensors)
                if (std::strcmp(row.name, tensor) == 0) {
                    spec.component = row.component;
                    spec.layer = std::atoll(number.c_str());
                    spec.buffer = row.buffer;
                    spec.expertSliced = row.expertSliced;
                    spec.normWeight = row.normWeight;
                    return spec;
                }
    }
    fail("model", "no tensor named " + name + " in the model's tensor table");
}

bool isRoutedExpert(const std::string& name) { return tensorSpec(name).expertSliced; }

bool trainsUnder(const FreezeSettings& freeze, const std::string& name) {
    const TensorSpec spec = tensorSpec(name);
    return !spec.buffer && !isFrozen(freeze, spec.component);
}

}  // namespace hy3

#include "model/lora.h"

#include "model/moe.h"
#include "model/seeded_generator.h"
#include "util/error.h"

#include <cmath>

namespace hy3 {

namespace {

std::string keyOf(int64_t layer, LoraGroup group, const std::string& module) {
    return std::to_string(layer) + "/" + loraGroupName(group) + "/" + module;
}

// PEFT's default A: kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Drawn on
// the CPU from a generator seeded by the seed and the tensor's name (and expert).
void initialiseA(torch::Tensor A, const std::string& name, int64_t expert, uint64_t seed) {
    auto gen = namedGenerator(seed, 0x4C6F52417E3779B9ull, name, expert);
    const double bound = 1.0 / std::sqrt(static_cast<double>(A.size(-1)));
    torch::Tensor values = torch::empty(A.sizes(), torch::kFloat);
    values.uniform_(-bound, bound, gen);
    A.copy_(values);
}

}  // namespace

const char* loraGroupName(LoraGroup group) {
    switch (group) {
    case LoraGroup::Attention: return "attention";
    case LoraGroup::DenseMlp: return "dense MLP";
    case LoraGroup::SharedExpert: return "shared expert";
    case LoraGroup::RoutedExperts: return "routed experts";
    }
    return "?";
}

double LoraSettings::scale() const { return useRslora ? alpha / std::sqrt(static_cast<double>(rank)) : alpha / static_cast<double>(rank); }

void checkLoraSettings(const LoraSettings& s) {
    if (s.rank < 1) fail("lora.rank", "must be at least 1, got " + std::to_string(s.rank));
    if (!(s.alpha > 0)) fail("lora.alpha", "must be positive");
    if (!(s.dropout >= 0 && s.dropout < 1)) fail("lora.dropout", "must be in [0, 1)");
    if (s.targets.empty()) fail("lora.targets", "names no module (use " + loraModuleList() + ")");
    for (const std::string& t : s.targets)
        if (std::find(std::begin(kLoraModules), std::end(kLoraModules), t) == std::end(kLoraModules))
            fail("lora.targets", "unknown module \"" + t + "\" (" + loraModuleList() + ")");
    if (!s.attention && !s.denseMlp && !s.sharedExpert && !s.routedExperts) fail("lora.groups", "reach no group of modules");
}

std::string LoraPair::modulePath(int64_t expert) const {
    const std::string layerPath = "model.layers." + std::to_string(layer) + ".";
    switch (group) {
    case LoraGroup::Attention: return layerPath + "self_attn." + module;
    case LoraGroup::DenseMlp: return layerPath + "mlp." + module;
    case LoraGroup::SharedExpert: return layerPath + "mlp.shared_mlp." + module;
    case LoraGroup::RoutedExperts: return layerPath + "mlp.experts." + std::to_string(expert) + "." + module;
    }
    return "";
}

LoraAdaptersImpl::LoraAdaptersImpl(const ModelConfig& c, const LoraSettings& settings, int64_t layerFirst, int64_t layerLast,
                                   int64_t expertFirst, int64_t expertLast, torch::Device device, uint64_t seed)
    : settings_(settings), scale_(settings.scale()), expertFirst_(expertFirst) {
    checkLoraSettings(settings);
    torch::NoGradGuard noGrad;
    const int64_t r = settings.rank, H = c.hidden_size, D = c.head_dim;
    const int64_t E = expertLast - expertFirst, F = c.moe_intermediate_size, Fs = F * c.num_shared_experts;
    const auto fp32 = torch::TensorOptions().dtype(torch::kFloat).device(device);
    auto list = register_module("layers", std::make_shared<torch::nn::Module>());
    for (int64_t layer = layerFirst; layer < layerLast; ++layer) {
        auto holder = std::make_shared<torch::nn::Module>();
        auto add = [&](LoraGroup group, const std::string& module, int64_t in, int64_t out, int64_t experts) {
            if (!settings.targets.count(module)) return;
            LoraPair p;
            p.layer = layer;
            p.group = group;
            p.module = module;
            const std::string name = std::string(group == LoraGroup::Attention      ? "attn_"
                                                 : group == LoraGroup::DenseMlp     ? "mlp_"
                                                 : group == LoraGroup::SharedExpert ? "shared_"
                                                                                    : "experts_") + module;
            const std::vector<int64_t> shapeA = experts > 0 ? std::vector<int64_t>{experts, r, in} : std::vector<int64_t>{r, in};
            const std::vector<int64_t> shapeB = experts > 0 ? std::vector<int64_t>{experts, out, r} : std::vector<int64_t>{out, r};
            p.A = holder->register_parameter(name + "_A", torch::zeros(shapeA, fp32));
            p.B = holder->register_parameter(name + "_B", torch::zeros(shapeB, fp32));
            const std::string seedName = "layers." + std::to_string(layer) + "." + name;
            if (experts > 0)
                for (int64_t e = 0; e < experts; ++e) initialiseA(p.A.select(0, e), seedName, expertFirst + e, seed);
            else
                initialiseA(p.A, seedName, -1, seed);
            index_[keyOf(layer, group, module)] = pairs_.size();
            pairs_.push_back(p);
        };
        if (settings.attention) {
            add(LoraGroup::Attention, "q_proj", H, c.num_attention_heads * D, 0);
            add(LoraGroup::Attention, "k_proj", H, c.num_key_value_heads * D, 0);
            add(LoraGroup::Attention, "v_proj", H, c.num_key_value_heads * D, 0);
            add(LoraGroup::Attention, "o_proj", c.num_attention_heads * D, H, 0);
        }
        if (!c.isMoeLayer(layer)) {
            if (settings.denseMlp) {
                add(LoraGroup::DenseMlp, "gate_proj", H, c.intermediate_size, 0);
                add(LoraGroup::DenseMlp, "up_proj", H, c.intermediate_size, 0);
                add(LoraGroup::DenseMlp, "down_proj", c.intermediate_size, H, 0);
            }
        } else {
            if (settings.sharedExpert && Fs > 0) {
                add(LoraGroup::SharedExpert, "gate_proj", H, Fs, 0);
                add(LoraGroup::SharedExpert, "up_proj", H, Fs, 0);
                add(LoraGroup::SharedExpert, "down_proj", Fs, H, 0);
            }
            if (settings.routedExperts && E > 0) {
                add(LoraGroup::RoutedExperts, "gate_proj", H, F, E);
                add(LoraGroup::RoutedExperts, "up_proj", H, F, E);
                add(LoraGroup::RoutedExperts, "down_proj", F, H, E);
            }
        }
        list->register_module(std::to_string(layer), holder);
    }
}

const LoraPair* LoraAdaptersImpl::find(int64_t layer, LoraGroup group, const std::string& module) const {
    const auto it = index_.find(keyOf(layer, group, module));
    return it == index_.end() ? nullptr : &pairs_[it->second];
}

// What the adapters read: x in fp32, with dropout while training.
torch::Tensor LoraAdaptersImpl::adapterInput(const torch::Tensor& x, bool training) const {
    const torch::Tensor xf = x.to(torch::kFloat);
    return training && settings_.dropout > 0 ? torch::dropout(xf, settings_.dropout, true) : xf;
}

torch::Tensor LoraAdaptersImpl::delta(int64_t layer, LoraGroup group, const std::string& module, const torch::Tensor& x,
                                      bool training) const {
    const LoraPair* p = find(layer, group, module);
    if (!p) return {};
    return (torch::mm(torch::mm(adapterInput(x, training), p->A.t()), p->B.t()) * scale_).to(x.scalar_type());
}

torch::Tensor LoraAdaptersImpl::expertDelta(int64_t layer, const std::string& module, const torch::Tensor& x_N,
                                            const ExpertRows& rows, bool training) const {
    const LoraPair* p = find(layer, LoraGroup::RoutedExperts, module);
    if (!p) return {};
    return (groupedLinear(groupedLinear(adapterInput(x_N, training), rows, p->A), rows, p->B) * scale_).to(x_N.scalar_type());
}

std::vector<LoraAdaptersImpl::Module> LoraAdaptersImpl::modules(bool gradients) const {
    std::vector<Module> out;
    const auto of = [gradients](const torch::Tensor& t) {
        if (!gradients) return t;
        return t.grad().defined() ? t.grad() : torch::zeros_like(t);
    };
    for (const LoraPair& p : pairs_) {
        const torch::Tensor A = of(p.A), B = of(p.B);
        if (p.group != LoraGroup::RoutedExperts) {
            out.push_back({p.modulePath(), A, B});
            continue;
        }
        for (int64_t e = 0; e < A.size(0); ++e) out.push_back({p.modulePath(expertFirst_ + e), A.select(0, e), B.select(0, e)});
    }
    return out;
}

std::vector<std::pair<std::string, torch::Tensor>> LoraAdaptersImpl::peftTensors(bool gradients) const {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const Module& m : modules(gradients)) {
        out.emplace_back("base_model.model." + m.path + ".lora_A.weight", m.A);
        out.emplace_back("base_model.model." + m.path + ".lora_B.weight", m.B);
    }
    return out;
}

void LoraAdaptersImpl::loadPeftTensors(const std::map<std::string, torch::Tensor>& tensors, const std::string& source, bool othersAllowed) {
    torch::NoGradGuard noGrad;
    const auto mine = peftTensors();
    std::set<std::string> expected;
    for (const auto& [key, target] : mine) expected.insert(key);
    for (const auto& [key, t] : tensors)
        if (!othersAllowed && !expected.count(key))
            fail(source + ": " + key, "is not an adapter of this model (other targets, groups or layers than the adapter settings say)");
    for (auto& [key, target] : mine) {
        const auto it = tensors.find(key);
        if (it == tensors.end()) fail(source + ": " + key, "missing (the adapter does not cover this module of the model)");
        if (it->second.sizes() != target.sizes())
            fail(source + ": " + key, "shape " + std::string(c10::str(it->second.sizes())) + " does not fit the model's " +
                                          std::string(c10::str(target.sizes())));
        torch::Tensor view = target;  // a view into the adapter parameter (or one expert's slice)
        view.copy_(it->second);
    }
}

int64_t LoraAdaptersImpl::parameterCount() const {
    int64_t n = 0;
    for (const LoraPair& p : pairs_) n += p.A.numel() + p.B.numel();
    return n;
}

}  // namespace hy3

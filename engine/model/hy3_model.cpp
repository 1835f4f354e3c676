#include "model/hy3_model.h"

#include "config/tensor_names.h"
#include "model/ops.h"
#include "model/seeded_generator.h"
#include "util/error.h"
#include "util/huge_pages.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace hy3 {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Truncated normal in [-2 std, 2 std] by inverse-CDF sampling, drawn on the CPU from `gen` so the
// weights depend only on the seed (not on the device or on other users of the global generator).
void truncatedNormal(torch::Tensor& target, double stdDev, at::Generator& gen) {
    auto normCdf = [](double x) { return (1.0 + std::erf(x / std::sqrt(2.0))) / 2.0; };
    const double lo = normCdf(-2.0), hi = normCdf(2.0);
    auto values = torch::empty(target.sizes(), torch::kFloat);
    values.uniform_(2 * lo - 1, 2 * hi - 1, gen);
    values.erfinv_().mul_(stdDev * std::sqrt(2.0)).clamp_(-2 * stdDev, 2 * stdDev);
    torch::NoGradGuard noGrad;
    target.copy_(values);
}

// A zero parameter whose CPU memory is backed by huge pages where the kernel allows (see
// adviseHugePages): filling a model of gigabytes from a checkpoint then faults in thousands of
// pages, not millions.
torch::Tensor parameterZeros(at::IntArrayRef shape, const torch::TensorOptions& options) {
    torch::Tensor t = torch::empty(shape, options);
    if (t.device().is_cpu()) adviseHugePages(t.data_ptr(), static_cast<uint64_t>(t.nbytes()));
    return t.zero_();
}

}  // namespace

// State of one forward pass that every block reads.
struct Hy3ModelImpl::Step {
    AttentionGeometry geometry;
    AttentionMask mask;
    RopeTable rope;
    torch::Tensor routedRows;      // rows of real tokens (int64) when the batch has padding
    torch::Tensor sequenceOfRow;   // batch row of each routed token (for the balance loss)
    torch::Tensor auxLoss;         // accumulates coefficient * balance loss
    bool recordRouting = false;
    std::vector<LayerRouting> routing;
    PhaseTimer* phases = nullptr;
};

namespace {

// Activation checkpointing of one block: the forward runs without a graph; the backward runs the
// block again with one and back-propagates through it (parameters accumulate their .grad there).
struct BlockRerun : torch::CustomClassHolder {
    std::function<std::pair<torch::Tensor, torch::Tensor>(const torch::Tensor&)> run;  // h -> (h', aux)
};

struct CheckpointFunction : torch::autograd::Function<CheckpointFunction> {
    static variable_list forward(AutogradContext* ctx, const torch::Tensor& h, c10::intrusive_ptr<BlockRerun> rerun,
                                 std::function<std::pair<torch::Tensor, torch::Tensor>(const torch::Tensor&)> firstRun) {
        auto [out, aux] = firstRun(h);
        ctx->save_for_backward({h});
        ctx->saved_data["rerun"] = c10::IValue::make_capsule(rerun);
        return {out, aux};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const torch::Tensor h = ctx->get_saved_variables()[0].detach().requires_grad_(true);
        auto rerun = c10::static_intrusive_pointer_cast<BlockRerun>(ctx->saved_data["rerun"].toCapsule());
        torch::AutoGradMode enable(true);
        auto [out, aux] = rerun->run(h);
        std::vector<torch::Tensor> outputs{out}, outGrads{grads[0]};
        if (aux.requires_grad() && grads[1].defined()) {
            outputs.push_back(aux);
            outGrads.push_back(grads[1]);
        }
        torch::autograd::backward(outputs, outGrads);
        return {h.grad(), torch::Tensor(), torch::Tensor()};
    }
};

}  // namespace

Hy3ModelImpl::Hy3ModelImpl(const ModelConfig& config, const ModelOptions& options) : config_(config), options_(options) {
    const ModelConfig& c = config_;
    kernels_ = options.kernels.value_or(chooseKernels(options.device));
    expertFirst_ = options.expertFirst;
    expertLast_ = options.expertLast < 0 ? c.num_experts : options.expertLast;
    if (expertFirst_ < 0 || expertLast_ > c.num_experts || expertFirst_ > expertLast_)
        fail("expert range", "[" + std::to_string(expertFirst_) + ", " + std::to_string(expertLast_) +
                                  ") is outside the model's " + std::to_string(c.num_experts) + " experts");
    layerFirst_ = options.layerFirst;
    layerLast_ = options.layerLast < 0 ? c.num_hidden_layers : options.layerLast;
    if (layerFirst_ < 0 || layerLast_ > c.num_hidden_layers || layerFirst_ >= layerLast_)
        fail("layer range", "[" + std::to_string(layerFirst_) + ", " + std::to_string(layerLast_) + ") is not a range of the model's " +
                                std::to_string(c.num_hidden_layers) + " layers");
    if (c.tie_word_embeddings && !(holdsEmbedding() && holdsHead()))
        fail("layout.pp", "a model with tied embeddings cannot be split into pipeline stages");
    const auto opts = torch::TensorOptions().dtype(options.dtype).device(options.device);
    const auto fp32 = opts.dtype(torch::kFloat);
    const int64_t H = c.hidden_size, D = c.head_dim;
    const int64_t qkvRows = (c.num_attention_heads + 2 * c.num_key_value_heads) * D;
    const int64_t F = c.moe_intermediate_size, E = localExperts(), Fs = F * c.num_shared_experts;

    if (holdsEmbedding()) embed_ = register_parameter(kEmbedTokens, parameterZeros({c.vocab_size, H}, opts));
    // Layers register under their model-wide index ("layers.7.qkv_proj") whichever stage holds them.
    auto list = register_module("layers", std::make_shared<torch::nn::Module>());
    layers_.resize(static_cast<size_t>(c.num_hidden_layers));
    for (int64_t i = layerFirst_; i < layerLast_; ++i) {
        auto holder = std::make_shared<torch::nn::Module>();
        Layer& L = layers_[static_cast<size_t>(i)];
        L.inputNorm = holder->register_parameter(layer_tensor::kInputNorm, torch::ones({H}, opts));
        L.qkv = holder->register_parameter(layer_tensor::kQkvProj, parameterZeros({qkvRows, H}, opts));
        L.qNorm = holder->register_parameter(layer_tensor::kQNorm, torch::ones({D}, opts));
        L.kNorm = holder->register_parameter(layer_tensor::kKNorm, torch::ones({D}, opts));
        L.o = holder->register_parameter(layer_tensor::kOProj, parameterZeros({H, c.num_attention_heads * D}, opts));
        L.postNorm = holder->register_parameter(layer_tensor::kPostNorm, torch::ones({H}, opts));
        if (!c.isMoeLayer(i)) {
            L.gateUp = holder->register_parameter(layer_tensor::kGateUpProj, parameterZeros({2 * c.intermediate_size, H}, opts));
            L.down = holder->register_parameter(layer_tensor::kDownProj, parameterZeros({H, c.intermediate_size}, opts));
        } else {
            L.router = holder->register_parameter(layer_tensor::kRouter, parameterZeros({c.num_experts, H}, fp32));
            if (c.moe_router_enable_expert_bias)
                L.bias = holder->register_buffer(layer_tensor::kExpertBias, torch::zeros({c.num_experts}, fp32));
            L.expertsGateUp = holder->register_parameter(layer_tensor::kExpertsGateUp, parameterZeros({E, 2 * F, H}, opts));
            L.expertsDown = holder->register_parameter(layer_tensor::kExpertsDown, parameterZeros({E, H, F}, opts));
            if (Fs > 0) {
                L.sharedGateUp = holder->register_parameter(layer_tensor::kSharedGateUp, parameterZeros({2 * Fs, H}, opts));
                L.sharedDown = holder->register_parameter(layer_tensor::kSharedDown, parameterZeros({H, Fs}, opts));
            }
            L.loadSinceUpdate = torch::zeros({c.num_experts}, torch::TensorOptions().dtype(torch::kLong).device(options.device));
        }
        list->register_module(std::to_string(i), holder);
    }
    if (holdsHead()) {
        norm_ = register_parameter(kFinalNorm, torch::ones({H}, opts));
        lmHead_ = c.tie_word_embeddings ? embed_ : register_parameter(kLmHead, parameterZeros({c.vocab_size, H}, opts));
    }
}

std::vector<int64_t> Hy3ModelImpl::moeLayers() const {
    std::vector<int64_t> out;
    for (int64_t i = layerFirst_; i < layerLast_; ++i)
        if (config_.isMoeLayer(i)) out.push_back(i);
    return out;
}

bool Hy3ModelImpl::holds(const std::string& name) const {
    return named_parameters(true).find(name) != nullptr || named_buffers(true).find(name) != nullptr;
}

torch::Tensor Hy3ModelImpl::tensor(const std::string& name) const {
    // find() points into the dictionary: it must outlive the copy of the tensor.
    const auto parameters = named_parameters(true);
    if (const torch::Tensor* p = parameters.find(name)) return *p;
    const auto buffers = named_buffers(true);
    if (const torch::Tensor* b = buffers.find(name)) return *b;
    fail("model", "no tensor named " + name);
}

void Hy3ModelImpl::initializeWeights(uint64_t seed) {
    // Each tensor (each expert of a grouped tensor) draws from its own generator seeded by the seed
    // and its name, so a pipeline stage or an expert range gets exactly the weights the whole
    // model would have: the same seed gives the same model whatever the layout.
    const double stdDev = config_.initializer_range;
    torch::NoGradGuard noGrad;
    auto generatorFor = [seed](const std::string& name, int64_t expert) { return namedGenerator(seed, 0x9E3779B97F4A7C15ull, name, expert); };
    for (auto& item : named_parameters(true)) {
        torch::Tensor p = item.value();
        const std::string& name = item.key();
        const TensorSpec spec = tensorSpec(name);
        if (spec.normWeight) {
            p.fill_(1.0);
        } else if (spec.expertSliced) {
            for (int64_t e = 0; e < p.size(0); ++e) {
                auto gen = generatorFor(name, expertFirst_ + e);
                torch::Tensor slice = p.select(0, e);
                truncatedNormal(slice, stdDev, gen);
            }
        } else {
            auto gen = generatorFor(name, -1);
            truncatedNormal(p, stdDev, gen);
        }
    }
    for (auto& item : named_buffers(true)) item.value().zero_();
}

torch::Tensor shiftedTargets(const Batch& batch, const AttentionMask& mask) {
    const int64_t B = batch.input_ids.size(0), S = batch.input_ids.size(1);
    torch::Tensor targets = torch::full({B, S}, -100, torch::kLong);
    if (S > 1) targets.narrow(1, 0, S - 1).copy_(batch.labels.to(torch::kCPU, torch::kLong).narrow(1, 1, S - 1));
    // The next token starts another document (or is padding): nothing to predict across that edge.
    const torch::Tensor next = torch::arange(1, S + 1, torch::kLong).unsqueeze(0).expand({B, S});
    torch::Tensor edge = torch::zeros({B, S}, torch::kBool);
    if (S > 1) edge.narrow(1, 0, S - 1).copy_(mask.start.narrow(1, 1, S - 1).eq(next.narrow(1, 0, S - 1)));
    return targets.masked_fill(edge, -100);
}

int64_t countLossTokens(const Batch& batch) {
    const int64_t B = batch.input_ids.size(0), S = batch.input_ids.size(1);
    const AttentionMask mask = buildAttentionMask(B, S, batch.attention_mask, batch.position_ids, batch.cu_seqlens);
    return shiftedTargets(batch, mask).ne(-100).sum().item<int64_t>();
}

ForwardOutput Hy3ModelImpl::forward(const Batch& batch, const ForwardOptions& fo) {
    const ModelConfig& c = config_;
    const torch::Tensor ids = batch.input_ids;
    if (!ids.defined() || ids.dim() != 2) fail("input_ids", "expected a [batch, seq] tensor");
    const int64_t B = ids.size(0), S = ids.size(1);
    const torch::Device device = options_.device;

    Step step;
    step.geometry = {B, S, c.num_attention_heads, c.num_key_value_heads, c.head_dim};
    step.mask = buildAttentionMask(B, S, batch.attention_mask, batch.position_ids, batch.cu_seqlens);
    const torch::Tensor positions =
        batch.position_ids.defined() ? batch.position_ids : torch::arange(S, torch::kLong).unsqueeze(0).expand({B, S});
    step.rope = buildRopeTable(positions, c.head_dim, c.rope_theta, device);
    step.recordRouting = fo.recordRouting;
    step.phases = fo.phases;
    torch::Tensor rowOfToken = torch::arange(B, torch::kLong).unsqueeze(1).expand({B, S}).reshape({B * S});
    if (batch.attention_mask.defined()) {
        // Padding tokens are not routed.
        // The batch lives on the host: the rows are found there and copied over, never read back.
        const torch::Tensor routed = batch.attention_mask.to(torch::kCPU).reshape({B * S}).nonzero().squeeze(1);
        step.routedRows = ops::toDevice(routed, device);
        step.sequenceOfRow = ops::toDevice(rowOfToken.index_select(0, routed), device);
    } else {
        step.sequenceOfRow = ops::toDevice(rowOfToken, device);
    }
    step.auxLoss = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat).device(device));

    torch::Tensor h;
    if (holdsEmbedding()) {
        h = torch::embedding(embed_, ops::toDevice(ids, device).reshape({B * S}), c.paddingIndex());  // the pad row gets no gradient, as in HF
    } else {
        if (!fo.hiddenIn.defined() || fo.hiddenIn.size(0) != B * S)
            fail("pipeline stage", "a stage after the first needs the previous stage's hidden states [" + std::to_string(B * S) + ", H]");
        h = fo.hiddenIn;
    }
    for (int64_t i = layerFirst_; i < layerLast_; ++i)
        h = options_.activationCheckpointing && is_training() ? checkpointedBlock(i, h, step) : block(i, h, step, true);

    ForwardOutput out;
    if (options_.auxLossCoef > 0) out.auxLoss = step.auxLoss;
    out.routing = std::move(step.routing);
    if (!holdsHead()) {
        out.hidden = h;
        return out;
    }
    h = ops::rmsNorm(h, norm_, c.rms_norm_eps);

    if (batch.labels.defined()) {
        const torch::Tensor targets = shiftedTargets(batch, step.mask).reshape({B * S});
        out.labelTokens = targets.ne(-100).sum().item<int64_t>();  // CPU targets: no device wait
        out.lossSum = ops::linearCrossEntropySum(h, lmHead_, ops::toDevice(targets, device), options_.lossChunkRows, c.enable_lm_head_fp32);
    }
    if (fo.logitsToKeep >= 0) {
        torch::NoGradGuard noGrad;
        const int64_t keep = fo.logitsToKeep == 0 ? S : std::min(fo.logitsToKeep, S);
        const torch::Tensor rows = h.detach().reshape({B, S, -1}).narrow(1, S - keep, keep).reshape({B * keep, -1});
        out.logits = headLogits(rows).reshape({B, keep, c.vocab_size});
    }
    return out;
}

// fp32 logits of final hidden rows; the matmul itself in fp32 when the config asks for it
// (enable_lm_head_fp32) and the parameters are bf16.
torch::Tensor Hy3ModelImpl::headLogits(const torch::Tensor& rows) const {
    if (config_.enable_lm_head_fp32 && lmHead_.scalar_type() != torch::kFloat)
        return torch::mm(rows.to(torch::kFloat), lmHead_.to(torch::kFloat).t());
    return torch::mm(rows, lmHead_.t()).to(torch::kFloat);
}

// ----- LoRA: each projection with its adapter's term added (exact when B is zero) -------------------

torch::Tensor Hy3ModelImpl::withDelta(torch::Tensor out, int64_t layer, LoraGroup group, const char* module, const torch::Tensor& x) const {
    if (!adapters_) return out;
    const torch::Tensor d = adapters_->delta(layer, group, module, x, is_training());
    return d.defined() ? out + d : out;
}

// The pieces of a fused output ([q | k | v] or [gate | up]), each module's term or zeros.
static torch::Tensor fusedDelta(const std::vector<torch::Tensor>& parts, const std::vector<int64_t>& widths, const torch::Tensor& like) {
    bool any = false;
    for (const torch::Tensor& p : parts) any = any || p.defined();
    if (!any) return {};
    std::vector<torch::Tensor> filled;
    for (size_t i = 0; i < parts.size(); ++i)
        filled.push_back(parts[i].defined() ? parts[i] : torch::zeros({like.size(0), widths[i]}, like.options()));
    return torch::cat(filled, 1);
}

torch::Tensor Hy3ModelImpl::qkvProjection(int64_t layer, const torch::Tensor& a) const {
    const Layer& L = layers_[static_cast<size_t>(layer)];
    const torch::Tensor qkv = torch::mm(a, L.qkv.t());
    if (!adapters_) return qkv;
    const ModelConfig& c = config_;
    const bool training = is_training();
    const torch::Tensor d = fusedDelta({adapters_->delta(layer, LoraGroup::Attention, "q_proj", a, training),
                                        adapters_->delta(layer, LoraGroup::Attention, "k_proj", a, training),
                                        adapters_->delta(layer, LoraGroup::Attention, "v_proj", a, training)},
                                       {c.num_attention_heads * c.head_dim, c.num_key_value_heads * c.head_dim, c.num_key_value_heads * c.head_dim},
                                       qkv);
    return d.defined() ? qkv + d : qkv;
}

torch::Tensor Hy3ModelImpl::outProjection(int64_t layer, const torch::Tensor& residual, const torch::Tensor& attn) const {
    return withDelta(torch::addmm(residual, attn, layers_[static_cast<size_t>(layer)].o.t()), layer, LoraGroup::Attention, "o_proj", attn);
}

torch::Tensor Hy3ModelImpl::gateUpProjection(int64_t layer, LoraGroup group, const torch::Tensor& m, const torch::Tensor& weight) const {
    const torch::Tensor gu = torch::mm(m, weight.t());
    if (!adapters_) return gu;
    const bool training = is_training();
    const int64_t width = weight.size(0) / 2;
    const torch::Tensor d = fusedDelta({adapters_->delta(layer, group, "gate_proj", m, training), adapters_->delta(layer, group, "up_proj", m, training)},
                                       {width, width}, gu);
    return d.defined() ? gu + d : gu;
}

torch::Tensor Hy3ModelImpl::swigluMlp(int64_t layer, LoraGroup group, const torch::Tensor& m, const torch::Tensor& gateUp,
                                      const torch::Tensor& down, const torch::Tensor& residual) const {
    const torch::Tensor act = ops::swiglu(gateUpProjection(layer, group, m, gateUp));
    const torch::Tensor out = residual.defined() ? torch::addmm(residual, act, down.t()) : torch::mm(act, down.t());
    return withDelta(out, layer, group, "down_proj", act);
}

torch::Tensor Hy3ModelImpl::routedExperts(int64_t layer, const torch::Tensor& xs, const torch::Tensor& ws, const torch::Tensor& counts) const {
    const Layer& L = layers_[static_cast<size_t>(layer)];
    const ExpertRows rows = expertRows(counts, kernels_.experts, xs.device());
    if (!adapters_) return groupedExperts(xs, ws, rows, L.expertsGateUp, L.expertsDown);
    // Without expert adapters in this layer the delta is undefined and this is groupedExperts.
    const bool training = is_training();
    const int64_t F = L.expertsDown.size(2);
    const torch::Tensor deltaH = fusedDelta({adapters_->expertDelta(layer, "gate_proj", xs, rows, training),
                                             adapters_->expertDelta(layer, "up_proj", xs, rows, training)},
                                            {F, F}, xs);
    const auto [y, activation] = groupedExpertsWithDelta(xs, ws, rows, L.expertsGateUp, L.expertsDown, deltaH);
    const torch::Tensor d = adapters_->expertDelta(layer, "down_proj", activation, rows, training);
    return d.defined() ? y + d : y;
}

void Hy3ModelImpl::attachAdapters(LoraAdapters adapters) { adapters_ = std::move(adapters); }

void Hy3ModelImpl::mergeAdapters() {
    if (!adapters_) return;
    torch::NoGradGuard noGrad;
    const ModelConfig& c = config_;
    const double s = adapters_->scale();
    // rows [first, first + count) of `weight` += s * B A (per expert for grouped tensors).
    auto fold = [s](torch::Tensor weight, int64_t first, int64_t count, const LoraPair& p) {
        torch::Tensor rows = weight.narrow(weight.dim() - 2, first, count);
        const torch::Tensor update = p.A.dim() == 3 ? torch::bmm(p.B, p.A) : torch::mm(p.B, p.A);
        rows.copy_((rows.to(torch::kFloat) + s * update).to(rows.scalar_type()));
    };
    const int64_t qRows = c.num_attention_heads * c.head_dim, kvRows = c.num_key_value_heads * c.head_dim;
    for (const LoraPair& p : adapters_->pairs()) {
        Layer& L = layers_[static_cast<size_t>(p.layer)];
        const bool gate = p.module == "gate_proj", up = p.module == "up_proj";
        switch (p.group) {
        case LoraGroup::Attention:
            if (p.module == "q_proj") fold(L.qkv, 0, qRows, p);
            if (p.module == "k_proj") fold(L.qkv, qRows, kvRows, p);
            if (p.module == "v_proj") fold(L.qkv, qRows + kvRows, kvRows, p);
            if (p.module == "o_proj") fold(L.o, 0, L.o.size(0), p);
            break;
        case LoraGroup::DenseMlp:
        case LoraGroup::SharedExpert: {
            torch::Tensor gateUp = p.group == LoraGroup::DenseMlp ? L.gateUp : L.sharedGateUp;
            torch::Tensor down = p.group == LoraGroup::DenseMlp ? L.down : L.sharedDown;
            const int64_t width = gateUp.size(0) / 2;
            if (gate || up) fold(gateUp, gate ? 0 : width, width, p);
            else fold(down, 0, down.size(0), p);
            break;
        }
        case LoraGroup::RoutedExperts: {
            const int64_t F = L.expertsDown.size(2);
            if (gate || up) fold(L.expertsGateUp, gate ? 0 : F, F, p);
            else fold(L.expertsDown, 0, L.expertsDown.size(1), p);
            break;
        }
        }
    }
    adapters_ = nullptr;
}

torch::Tensor Hy3ModelImpl::block(int64_t layer, const torch::Tensor& hIn, Step& step, bool record) {
    const ModelConfig& c = config_;
    const Layer& L = layers_[static_cast<size_t>(layer)];
    const torch::Tensor h = markPhase(step.phases, hIn, Phase::Other, Phase::Attention);
    const torch::Tensor a = ops::rmsNorm(h, L.inputNorm, c.rms_norm_eps);
    const QKV heads = qkNormRope(qkvProjection(layer, a), L.qNorm, L.kNorm, step.rope, step.geometry, c.rms_norm_eps);
    const torch::Tensor attended = outProjection(layer, h, attention(heads, step.mask, step.geometry, kernels_.attention));
    return feedForward(layer, markPhase(step.phases, attended, Phase::Attention, Phase::Other), step, record);
}

torch::Tensor Hy3ModelImpl::feedForward(int64_t layer, const torch::Tensor& h, Step& step, bool record) {
    const ModelConfig& c = config_;
    const Layer& L = layers_[static_cast<size_t>(layer)];
    const torch::Tensor m = ops::rmsNorm(h, L.postNorm, c.rms_norm_eps);
    if (c.isMoeLayer(layer)) return moe(layer, h, m, step, record);
    const torch::Tensor out = swigluMlp(layer, LoraGroup::DenseMlp, markPhase(step.phases, m, Phase::Other, Phase::Mlp), L.gateUp, L.down, h);
    return markPhase(step.phases, out, Phase::Mlp, Phase::Other);
}

torch::Tensor Hy3ModelImpl::moe(int64_t layer, const torch::Tensor& h, const torch::Tensor& normed, Step& step, bool record) {
    const ModelConfig& c = config_;
    Layer& L = layers_[static_cast<size_t>(layer)];
    const torch::Tensor m = markPhase(step.phases, normed, Phase::Other, Phase::Dispatch);
    const int64_t K = c.num_experts_per_tok;
    const torch::Tensor x = step.routedRows.defined() ? m.index_select(0, step.routedRows) : m;
    const Routing r = route(x, L.router, L.bias, c);
    if (record) {
        L.loadSinceUpdate += r.load_E;
        if (step.recordRouting)
            step.routing.push_back({layer, r.logits_TE.detach(), std::get<0>(r.experts_TK.sort(1)), r.load_E});
    }
    if (options_.auxLossCoef > 0 && torch::GradMode::is_enabled())
        step.auxLoss = step.auxLoss + options_.auxLossCoef * sequenceBalanceLoss(r, step.sequenceOfRow, step.geometry.batch, K);

    PhaseTimer* phases = step.phases;
    const auto runExperts = [this, layer, phases](const torch::Tensor& xs, const torch::Tensor& ws, const torch::Tensor& counts) {
        const torch::Tensor ys = routedExperts(layer, markPhase(phases, xs, Phase::Dispatch, Phase::RoutedExperts),
                                               markPhase(phases, ws, Phase::Dispatch, Phase::RoutedExperts), counts);
        return markPhase(phases, ys, Phase::RoutedExperts, Phase::Dispatch);
    };
    if (options_.expertExchange && options_.expertExchange->ranks() > 1) {
        // Every slot, sorted by expert; the exchange brings each expert's slots to its rank and back.
        const auto sorted = r.experts_TK.flatten().sort(/*stable=*/true, /*dim=*/0, /*descending=*/false);
        const torch::Tensor slotOfRow = std::get<1>(sorted);
        const torch::Tensor tokenOfRow = slotOfRow.div(K, "floor");
        // The exchange's split sizes are host numbers (c10d's all-to-all takes them so): one wait.
        const torch::Tensor perExpert = countIds(std::get<0>(sorted), c.num_experts).cpu().contiguous();
        const torch::Tensor ys = options_.expertExchange->run(
            x.index_select(0, tokenOfRow), r.weights_TK.flatten().index_select(0, slotOfRow),
            std::vector<int64_t>(perExpert.data_ptr<int64_t>(), perExpert.data_ptr<int64_t>() + c.num_experts), runExperts);
        const torch::Tensor rows = step.routedRows.defined() ? step.routedRows.index_select(0, tokenOfRow) : tokenOfRow;
        return markPhase(step.phases, combineExperts(layer, step, h, m, ys, rows), Phase::Dispatch, Phase::Other);
    }

    // Token-slots of the experts held here, sorted by expert so each expert's rows are contiguous.
    torch::Tensor slots = r.experts_TK.flatten();
    torch::Tensor slotIndex = torch::arange(slots.numel(), slots.options());
    if (localExperts() != c.num_experts) {
        slotIndex = slots.ge(expertFirst_).logical_and(slots.lt(expertLast_)).nonzero().squeeze(1);
        slots = slots.index_select(0, slotIndex);
    }
    const auto sorted = slots.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false);
    const torch::Tensor order = std::get<1>(sorted);
    const torch::Tensor slotOfRow = slotIndex.index_select(0, order);
    const torch::Tensor tokenOfRow = slotOfRow.div(K, "floor");
    const torch::Tensor counts = countIds(std::get<0>(sorted) - expertFirst_, localExperts());  // stays on the device
    const torch::Tensor ys = runExperts(x.index_select(0, tokenOfRow), r.weights_TK.flatten().index_select(0, slotOfRow), counts);
    const torch::Tensor rows = step.routedRows.defined() ? step.routedRows.index_select(0, tokenOfRow) : tokenOfRow;
    return markPhase(step.phases, combineExperts(layer, step, h, m, ys, rows), Phase::Dispatch, Phase::Other);
}

torch::Tensor Hy3ModelImpl::combineExperts(int64_t layer, const Step& step, const torch::Tensor& h, const torch::Tensor& m,
                                           const torch::Tensor& ys, const torch::Tensor& rows) {
    const ModelConfig& c = config_;
    const Layer& L = layers_[static_cast<size_t>(layer)];
    // The shared expert, timed as an MLP; with a residual it adds it itself.
    const auto shared = [&](const torch::Tensor& residual) {
        const torch::Tensor out = swigluMlp(layer, LoraGroup::SharedExpert, markPhase(step.phases, m, Phase::Dispatch, Phase::Mlp),
                                            L.sharedGateUp, L.sharedDown, residual);
        return markPhase(step.phases, out, Phase::Mlp, Phase::Dispatch);
    };
    if (c.enable_moe_fp32_combine && h.scalar_type() != torch::kFloat) {
        // Shared and routed outputs are added in fp32, then rounded once onto the residual.
        torch::Tensor mlp = torch::zeros(h.sizes(), h.options().dtype(torch::kFloat));
        if (L.sharedGateUp.defined()) mlp = shared(torch::Tensor()).to(torch::kFloat);
        return h + mlp.index_add(0, rows, ys.to(torch::kFloat)).to(h.scalar_type());
    }
    const torch::Tensor withShared = L.sharedGateUp.defined() ? shared(h) : h;
    return withShared.index_add(0, rows, ys);
}

torch::Tensor Hy3ModelImpl::checkpointedBlock(int64_t layer, const torch::Tensor& h, Step& step) {
    // The block's closure owns copies of the per-step tensors so the backward can run it again.
    auto shared = std::make_shared<Step>();
    shared->geometry = step.geometry;
    shared->mask = step.mask;
    shared->rope = step.rope;
    shared->routedRows = step.routedRows;
    shared->sequenceOfRow = step.sequenceOfRow;
    shared->phases = step.phases;
    auto runBlock = [this, layer, shared](const torch::Tensor& input, bool record, Step* recordInto) {
        Step local = *shared;
        local.recordRouting = recordInto && recordInto->recordRouting;
        local.auxLoss = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat).device(input.device()));
        torch::Tensor out = block(layer, input, local, record);
        if (recordInto)
            for (auto& r : local.routing) recordInto->routing.push_back(std::move(r));
        return std::make_pair(out, local.auxLoss);
    };
    auto rerun = c10::make_intrusive<BlockRerun>();
    rerun->run = [runBlock](const torch::Tensor& input) { return runBlock(input, false, nullptr); };
    auto outputs = CheckpointFunction::apply(h, rerun, std::function<std::pair<torch::Tensor, torch::Tensor>(const torch::Tensor&)>(
                                                           [&](const torch::Tensor& input) { return runBlock(input, true, &step); }));
    if (options_.auxLossCoef > 0) step.auxLoss = step.auxLoss + outputs[1];
    return outputs[0];
}

torch::Tensor Hy3ModelImpl::decode(const torch::Tensor& idsIn, KvCache& cache) {
    if (!holdsEmbedding() || !holdsHead()) fail("decode", "needs the whole model (this one is a pipeline stage)");
    torch::NoGradGuard noGrad;
    const ModelConfig& c = config_;
    const torch::Tensor ids = idsIn.to(options_.device).reshape({1, -1});
    const int64_t n = ids.size(1), past = cache.length, N = c.num_attention_heads, K = c.num_key_value_heads, D = c.head_dim;
    if (cache.keys.empty()) cache.keys.resize(static_cast<size_t>(c.num_hidden_layers)), cache.values.resize(static_cast<size_t>(c.num_hidden_layers));
    const torch::Tensor positions = torch::arange(past, past + n, torch::kLong).unsqueeze(0);

    // The same block as forward()'s, with attention over the cached keys and values.
    Step step;
    step.geometry = {1, n, N, K, D};
    step.rope = buildRopeTable(positions, D, c.rope_theta, options_.device);
    step.sequenceOfRow = torch::zeros({n}, torch::TensorOptions().dtype(torch::kLong).device(options_.device));
    step.auxLoss = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat).device(options_.device));
    torch::Tensor h = torch::embedding(embed_, ids.reshape({n}));
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
        const Layer& L = layers_[static_cast<size_t>(i)];
        const torch::Tensor a = ops::rmsNorm(h, L.inputNorm, c.rms_norm_eps);
        const QKV heads = qkNormRope(qkvProjection(i, a), L.qNorm, L.kNorm, step.rope, step.geometry, c.rms_norm_eps);
        auto& keys = cache.keys[static_cast<size_t>(i)];
        auto& values = cache.values[static_cast<size_t>(i)];
        keys = keys.defined() ? torch::cat({keys, heads.k}, 1) : heads.k.contiguous();
        values = values.defined() ? torch::cat({values, heads.v}, 1) : heads.v.contiguous();
        h = feedForward(i, outProjection(i, h, cachedAttention(heads.q, keys, values, past, step.geometry)), step, false);
    }
    cache.length += n;
    h = ops::rmsNorm(h.narrow(0, n - 1, 1), norm_, c.rms_norm_eps);
    return headLogits(h).reshape({c.vocab_size});
}

void Hy3ModelImpl::updateExpertBias(double factor) {
    torch::NoGradGuard noGrad;
    for (Layer& L : layers_) {
        if (!L.loadSinceUpdate.defined()) continue;
        if (factor != 0 && L.bias.defined()) {
            const torch::Tensor load = L.loadSinceUpdate.to(torch::kFloat);
            L.bias.add_((load.mean() - load).sign().to(L.bias.device()), factor);
        }
        L.loadSinceUpdate.zero_();
    }
}

std::vector<torch::Tensor> Hy3ModelImpl::loadSinceUpdate() const {
    std::vector<torch::Tensor> out;
    for (const Layer& L : layers_)
        if (L.loadSinceUpdate.defined()) out.push_back(L.loadSinceUpdate.clone());
    return out;
}

void Hy3ModelImpl::setLoadSinceUpdate(const std::vector<torch::Tensor>& load) {
    size_t next = 0;
    for (Layer& L : layers_)
        if (L.loadSinceUpdate.defined()) L.loadSinceUpdate.copy_(load.at(next++));
}

}  // namespace hy3

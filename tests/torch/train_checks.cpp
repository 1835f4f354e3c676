#include "train_checks.h"

#include "checkpoint/model_loader.h"
#include "data/packing.h"
#include "model/generate.h"
#include "train/adamw.h"
#include "train/step.h"
#include "train/train_state.h"

#include <ATen/CPUGeneratorImpl.h>

#include <random>

namespace hy3::checks {
namespace {

double maxAbs(const torch::Tensor& t) { return t.numel() ? t.abs().max().item<double>() : 0.0; }
double maxDiff(const torch::Tensor& a, const torch::Tensor& b) { return maxAbs(a.to(torch::kFloat) - b.to(torch::kFloat)); }

// Documents of random length and tokens, each with a prompt (mask 0) and a reply (mask 1).
class RandomDocuments : public DocumentSource {
public:
    RandomDocuments(int64_t count, int64_t vocab, uint64_t seed) {
        std::mt19937_64 rng(seed);
        for (int64_t d = 0; d < count; ++d) {
            const int64_t length = 8 + static_cast<int64_t>(rng() % 40);
            std::vector<int32_t> ids;
            std::vector<uint8_t> mask;
            for (int64_t t = 0; t < length; ++t) {
                ids.push_back(static_cast<int32_t>(rng() % static_cast<uint64_t>(vocab)));
                mask.push_back(t >= length / 2);
            }
            ids_.push_back(ids);
            mask_.push_back(mask);
        }
    }
    int64_t length(int64_t doc) const override { return static_cast<int64_t>(ids_[static_cast<size_t>(doc)].size()); }
    const int32_t* ids(int64_t doc) const override { return ids_[static_cast<size_t>(doc)].data(); }
    const uint8_t* mask(int64_t doc) const override { return mask_[static_cast<size_t>(doc)].data(); }
    std::vector<int64_t> lengths() const {
        std::vector<int64_t> out;
        for (const auto& d : ids_) out.push_back(static_cast<int64_t>(d.size()));
        return out;
    }

private:
    std::vector<std::vector<int32_t>> ids_;
    std::vector<std::vector<uint8_t>> mask_;
};

// The rows of a packed global batch, cut into micro-batches of `micro` rows.
std::vector<MicroBatch> packedBatches(const ModelConfig& c, int64_t rows, int64_t seqLen, int64_t micro) {
    RandomDocuments docs(4 * rows, c.vocab_size, 77);
    std::vector<PackedRow> plan = packBestFit(docs.lengths(), seqLen, 5);
    plan.resize(static_cast<size_t>(rows));
    std::vector<MicroBatch> out;
    for (int64_t first = 0; first < rows; first += micro)
        out.push_back(toMicroBatch(assembleRows(docs, plan, static_cast<size_t>(first), static_cast<size_t>(micro), seqLen,
                                                static_cast<int32_t>(c.pad_token_id))));
    return out;
}

Hy3Model presetModel(const std::string& preset, torch::Dtype dtype = torch::kFloat) {
    ModelOptions options;
    options.dtype = dtype;
    return openModel(preset, options, 11);
}

std::vector<std::pair<std::string, torch::Tensor>> allParameters(Hy3ModelImpl& model) {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (auto& item : model.named_parameters(true)) out.emplace_back(item.key(), item.value());
    return out;
}

// The gradient the last AdamW step used, recovered from the first moment after one step from zero
// state: exp_avg = (1 - beta1) * g.
std::map<std::string, torch::Tensor> usedGradients(const AdamW& optimizer, double beta1) {
    std::map<std::string, torch::Tensor> out;
    for (const auto& [name, t] : optimizer.state())
        if (name.rfind("exp_avg.", 0) == 0) out[name.substr(8)] = t / (1.0 - beta1);
    return out;
}

double globalNorm(const std::map<std::string, torch::Tensor>& grads) {
    double sq = 0;
    for (const auto& [name, g] : grads) sq += g.to(torch::kDouble).pow(2).sum().item<double>();
    return std::sqrt(sq);
}

// A model with its gradients, optimizer and the single-process StepComm: what trainStep works on.
struct Trainee {
    Hy3Model model;
    GradientBuffers gradients;
    AdamW optimizer;
    StepComm comm;
    StepContext context;
    Trainee(const std::string& preset, const AdamWOptions& o)
        : model(presetModel(preset)),
          gradients(allParameters(*model)),
          optimizer(gradients, o),
          context{*model, gradients, optimizer, comm, comm.ownedParameters(gradients)} {}
    StepResult step(const std::vector<MicroBatch>& batches, const StepSettings& s) { return trainStep(context, batches, s); }
};

StepSettings zeroRateStep() {
    StepSettings s;
    s.lr = 0.0;  // the optimizer state still records the gradient; the weights stay put
    return s;
}

}  // namespace

namespace {

// torch::optim::AdamW over `tensors` with our grouping: weight decay only where AdamW::decays says.
struct TorchAdamW {
    std::vector<torch::Tensor> tensors;
    std::unique_ptr<torch::optim::AdamW> optimizer;

    TorchAdamW(const std::vector<std::pair<std::string, torch::Tensor>>& named, const AdamWOptions& o) {
        std::vector<torch::Tensor> decay, noDecay;
        for (const auto& [name, t] : named) {
            tensors.push_back(t);
            (AdamW::decays(name, t) ? decay : noDecay).push_back(t);
        }
        auto options = [&](double wd) {
            return std::make_unique<torch::optim::AdamWOptions>(
                torch::optim::AdamWOptions(1e-3).betas({o.beta1, o.beta2}).eps(o.eps).weight_decay(wd));
        };
        std::vector<torch::optim::OptimizerParamGroup> groups;
        groups.emplace_back(decay, options(o.weightDecay));
        groups.emplace_back(noDecay, options(0.0));
        optimizer = std::make_unique<torch::optim::AdamW>(groups);
    }
    void step(double lr) {
        for (auto& group : optimizer->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
        optimizer->step();
    }
};

}  // namespace

Figures adamwVersusTorch(int steps, bool fused) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
    const std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
        {"layers.0.qkv_proj", {6, 4}}, {"layers.0.input_norm", {4}}, {"layers.1.experts_down", {3, 4, 5}}, {"lm_head", {7, 4}}};
    // Ours in fp32 and in bf16; torch's on fp32 copies, and on fp32 copies of the bf16 values (the
    // reference for our fp32 master weights, which start from the bf16 parameters).
    std::vector<std::pair<std::string, torch::Tensor>> ours, oursBf16, theirs, theirsFromBf16;
    std::vector<torch::Tensor> start;
    for (const auto& [name, shape] : shapes) {
        const torch::Tensor init = torch::randn(shape, gen);
        start.push_back(init);
        ours.emplace_back(name, init.clone().requires_grad_(true));
        oursBf16.emplace_back(name, init.to(torch::kBFloat16).requires_grad_(true));
        theirs.emplace_back(name, init.clone().requires_grad_(true));
        theirsFromBf16.emplace_back(name, init.to(torch::kBFloat16).to(torch::kFloat).requires_grad_(true));
    }
    AdamWOptions o{0.9, 0.95, 1e-8, 0.1};
    if (fused) o.kernel = AdamWKernel::Fused;
    GradientBuffers grads(ours), gradsBf16(oursBf16);
    AdamW adam(grads, o), adamBf16(gradsBf16, o);
    // The same updates with a clipping factor, through both kernels.
    std::vector<std::pair<std::string, torch::Tensor>> scaledLoop, scaledFused;
    for (size_t i = 0; i < shapes.size(); ++i) {
        scaledLoop.emplace_back(shapes[i].first, start[i].clone().requires_grad_(true));
        scaledFused.emplace_back(shapes[i].first, start[i].clone().requires_grad_(true));
    }
    AdamWOptions loopOptions = o, fusedOptions = o;
    loopOptions.kernel = AdamWKernel::CpuLoop;
    fusedOptions.kernel = AdamWKernel::Fused;
    GradientBuffers gradsLoop(scaledLoop), gradsFused(scaledFused);
    AdamW adamLoop(gradsLoop, loopOptions), adamFused(gradsFused, fusedOptions);
    TorchAdamW torchAdam(theirs, o), torchAdamBf16(theirsFromBf16, o);

    for (int s = 0; s < steps; ++s) {
        const double lr = 1e-3 * (1.0 + 0.5 * s);
        for (size_t i = 0; i < shapes.size(); ++i) {
            const torch::Tensor g = torch::randn(shapes[i].second, gen);
            ours[i].second.mutable_grad() = g.clone();
            theirs[i].second.mutable_grad() = g.clone();
            oursBf16[i].second.mutable_grad() = g.to(torch::kBFloat16);
            theirsFromBf16[i].second.mutable_grad() = g.to(torch::kBFloat16).to(torch::kFloat);
            scaledLoop[i].second.mutable_grad() = g.clone();
            scaledFused[i].second.mutable_grad() = g.clone();
        }
        adamLoop.step(lr, gradsLoop, 0.37);
        adamFused.step(lr, gradsFused, 0.37);
        gradsLoop.zero();
        gradsFused.zero();
        adam.step(lr, grads);
        grads.zero();
        gradsBf16.accumulate();
        adamBf16.step(lr, gradsBf16);
        gradsBf16.zero();
        torchAdam.step(lr);
        torchAdamBf16.step(lr);
    }

    Figures f{{"fp32", 0.0}, {"bf16_master", 0.0}, {"moved", 0.0}, {"bf16_param_is_master", 0.0}, {"scaled_vs_loop", 0.0}};
    for (size_t i = 0; i < shapes.size(); ++i) f["scaled_vs_loop"] = std::max(f["scaled_vs_loop"], maxDiff(scaledLoop[i].second, scaledFused[i].second));
    const auto loopState = adamLoop.state(), fusedState = adamFused.state();
    for (size_t i = 0; i < loopState.size(); ++i)
        f["scaled_vs_loop"] = std::max(f["scaled_vs_loop"], maxDiff(loopState[i].second, fusedState[i].second));
    std::map<std::string, torch::Tensor> masters;
    for (const auto& [name, t] : adamBf16.state())
        if (name.rfind("master.", 0) == 0) masters[name.substr(7)] = t;
    for (size_t i = 0; i < shapes.size(); ++i) {
        const torch::Tensor& master = masters.at(shapes[i].first);
        f["fp32"] = std::max(f["fp32"], maxDiff(ours[i].second, theirs[i].second));
        f["moved"] = std::max(f["moved"], maxDiff(ours[i].second, start[i]));
        f["bf16_master"] = std::max(f["bf16_master"], maxDiff(master, theirsFromBf16[i].second));
        f["bf16_param_is_master"] = std::max(f["bf16_param_is_master"], maxDiff(oursBf16[i].second, master.to(torch::kBFloat16)));
    }
    return f;
}

double foreachSquaresVersusCpuPass(uint64_t seed) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    std::vector<torch::Tensor> flat, strided;
    for (const int64_t n : {int64_t(5), int64_t(70000), int64_t(1) << 17}) {
        const torch::Tensor t = torch::randn({2, n}, gen);
        flat.push_back(t.contiguous());
        strided.push_back(t.t());  // the same values, not contiguous
    }
    const double cpu = sumOfSquares(flat).item<double>(), foreach = sumOfSquares(strided).item<double>();
    return std::abs(cpu - foreach) / cpu;
}

Figures accumulationVersusOneBatch(const std::string& preset) {
    const AdamWOptions o{0.9, 0.95, 1e-8, 0.0};
    Trainee a(preset, o), b(preset, o);
    const ModelConfig& c = a.model->config();
    const StepResult ra = a.step(packedBatches(c, 8, 64, 2), zeroRateStep());
    const StepResult rb = b.step(packedBatches(c, 8, 64, 8), zeroRateStep());
    const auto ga = usedGradients(a.optimizer, o.beta1), gb = usedGradients(b.optimizer, o.beta1);
    double worst = 0;
    for (const auto& [name, g] : ga) worst = std::max(worst, maxDiff(g, gb.at(name)) / std::max(maxAbs(g), 1e-12));
    return {{"loss", std::abs(ra.loss - rb.loss)},
            {"grad_norm", std::abs(ra.gradNorm - rb.gradNorm) / rb.gradNorm},
            {"grads", worst},
            {"label_tokens", static_cast<double>(std::abs(ra.labelTokens - rb.labelTokens))},
            {"loss_value", rb.loss},
            {"micro_batches", 4}};
}

Figures clipping(const std::string& preset) {
    const AdamWOptions o{0.9, 0.95, 1e-8, 0.0};
    Figures f;
    auto usedNorm = [&](double clip) {
        Trainee t(preset, o);
        StepSettings s = zeroRateStep();
        s.gradClip = clip;
        const StepResult r = t.step(packedBatches(t.model->config(), 4, 64, 2), s);
        f["norm"] = r.gradNorm;
        return globalNorm(usedGradients(t.optimizer, o.beta1));
    };
    const double norm = usedNorm(0.0);
    f["unclipped"] = norm;
    f["clipped_half"] = usedNorm(f["norm"] / 2);
    f["clipped_double"] = usedNorm(f["norm"] * 2);
    return f;
}

Figures nanStepIsSkipped(const std::string& preset) {
    Trainee t(preset, AdamWOptions{});
    Hy3Model& model = t.model;
    AdamW& opt = t.optimizer;
    const auto batches = packedBatches(model->config(), 4, 64, 2);
    StepSettings s;
    s.lr = 1e-3;
    s.expertBiasUpdate = 1e-3;
    t.step(batches, s);
    const auto weightsBefore = allParameters(*model);
    std::vector<torch::Tensor> snapshot, stateBefore;
    for (const auto& [name, t] : weightsBefore) snapshot.push_back(t.detach().clone());
    for (const auto& [name, t] : opt.state()) stateBefore.push_back(t.clone());
    const int64_t stepsBefore = opt.stepCount();

    s.injectNan = true;
    const StepResult r = t.step(batches, s);
    Figures f{{"skipped", r.skipped ? 1.0 : 0.0}, {"weights_changed", 0.0}, {"state_changed", 0.0}};
    const auto weightsAfter = allParameters(*model);
    for (size_t i = 0; i < snapshot.size(); ++i) f["weights_changed"] = std::max(f["weights_changed"], maxDiff(weightsAfter[i].second, snapshot[i]));
    const auto stateAfter = opt.state();
    for (size_t i = 0; i < stateBefore.size(); ++i) f["state_changed"] = std::max(f["state_changed"], maxDiff(stateAfter[i].second, stateBefore[i]));
    f["optimizer_steps_before"] = static_cast<double>(stepsBefore);
    f["optimizer_steps_after"] = static_cast<double>(opt.stepCount());
    double load = 0;
    for (const torch::Tensor& l : model->loadSinceUpdate()) load += l.sum().item<double>();
    f["load_after"] = load;
    f["reason_is_loss"] = r.skipReason == "non-finite loss" ? 1.0 : 0.0;
    return f;
}

double kvCacheVersusFullForward(const std::string& fixtureDir) {
    ModelDirectory md = ModelDirectory::open(fixtureDir + "/checkpoint");
    Hy3Model model(md.config(), ModelOptions{});
    loadModelWeights(*model, md);
    model->eval();
    auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
    const torch::Tensor ids = torch::randint(model->config().vocab_size, {1, 14}, gen, torch::kLong);
    torch::NoGradGuard noGrad;
    Batch batch;
    batch.input_ids = ids;
    ForwardOptions fo;
    fo.logitsToKeep = 0;
    const torch::Tensor full = model->forward(batch, fo).logits[0];
    KvCache cache;
    double worst = maxDiff(model->decode(ids.narrow(1, 0, 5), cache), full[4]);
    for (int64_t t = 5; t < ids.size(1); ++t) worst = std::max(worst, maxDiff(model->decode(ids.narrow(1, t, 1), cache), full[t]));
    return worst;
}

Figures trainStateRoundTrip(const std::string& dir) {
    TrainState s;
    s.step = 12;
    s.optimizerSteps = 11;
    s.epoch = 1;
    s.rowInEpoch = 40;
    s.bestEvalLoss = 1.25;
    s.fingerprint = {{"seq_len", 64}};
    const std::vector<std::pair<std::string, torch::Tensor>> tensors = {{"exp_avg.w", torch::randn({3, 4})},
                                                                        {"exp_avg_sq.w", torch::rand({3, 4})}};
    saveTrainState(dir, s, tensors);
    const double expected = torch::rand({1}).item<double>();  // the draw right after the save
    torch::rand({5});                                          // move the generator on
    std::map<std::string, torch::Tensor> loaded;
    const TrainState back = loadTrainState(dir, loaded);
    const double drawn = torch::rand({1}).item<double>();
    bool equal = loaded.size() == tensors.size();
    for (const auto& [name, t] : tensors) equal = equal && loaded.count(name) && torch::equal(loaded[name], t);
    return {{"tensors_equal", equal ? 1.0 : 0.0},
            {"rng_restored", drawn == expected ? 1.0 : 0.0},
            {"step", static_cast<double>(back.step)},
            {"optimizer_steps", static_cast<double>(back.optimizerSteps)},
            {"epoch", static_cast<double>(back.epoch)},
            {"row", static_cast<double>(back.rowInEpoch)},
            {"best_eval_loss", back.bestEvalLoss}};
}

}  // namespace hy3::checks

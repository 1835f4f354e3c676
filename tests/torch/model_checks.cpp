#include "model_checks.h"

#include "checkpoint/key_names.h"
#include "checkpoint/model_loader.h"
#include "checkpoint/tensor_io.h"
#include "config/resources.h"
#include "model/eager_reference.h"
#include "model/hy3_model.h"
#include "model/moe.h"
#include "model/ops.h"
#include "model/phase_timer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace hy3::checks {
namespace {

Hy3Model fixtureModel(const std::string& dir, ModelOptions options = {}) {
    ModelDirectory md = ModelDirectory::open(dir + "/checkpoint");
    Hy3Model model(md.config(), options);
    loadModelWeights(*model, md);
    return model;
}

std::map<std::string, torch::Tensor> readAll(const std::string& file) {
    std::map<std::string, torch::Tensor> out;
    for (auto& [name, t] : readSafetensors(file)) out[name] = t;
    return out;
}

Batch fixtureBatch(const std::string& dir) {
    auto in = readAll(dir + "/case_batch.safetensors");
    Batch b;
    b.input_ids = in["input_ids"];
    b.labels = in["labels"];
    return b;
}

double maxAbs(const torch::Tensor& t) { return t.numel() ? t.abs().max().item<double>() : 0.0; }
double maxDiff(const torch::Tensor& a, const torch::Tensor& b) { return maxAbs(a.to(torch::kFloat) - b.to(torch::kFloat)); }

// Largest over parameters of max|g1 - g2| / max|g1| (the fixture's gradient tolerance form).
double gradientDifference(Hy3ModelImpl& a, Hy3ModelImpl& b) {
    double worst = 0;
    const auto pb = b.named_parameters(true);
    for (const auto& item : a.named_parameters(true)) {
        const torch::Tensor ga = item.value().grad(), gb = pb[item.key()].grad();
        if (!ga.defined() || !gb.defined()) continue;
        worst = std::max(worst, maxDiff(ga, gb) / std::max(maxAbs(ga), 1e-12));
    }
    return worst;
}

ForwardOutput lossAndBackward(Hy3ModelImpl& model, const Batch& batch, bool logits = true) {
    ForwardOptions fo;
    fo.logitsToKeep = logits ? 0 : -1;
    ForwardOutput out = model.forward(batch, fo);
    (out.lossSum / static_cast<double>(out.labelTokens)).backward();
    return out;
}

}  // namespace

Differences groupedExpertsVersusLoop(uint64_t seed, bool groupedMm) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const int64_t E = 6, H = 24, F = 16;
    const torch::Tensor counts = torch::tensor({5, 0, 3, 9, 0, 2}, torch::kLong);  // two experts get nothing
    const int64_t N = counts.sum().item<int64_t>();
    auto leaf = [&](std::vector<int64_t> shape, double scale) {
        return (torch::randn(shape, gen, torch::kFloat) * scale).requires_grad_(true);
    };
    const torch::Tensor x1 = leaf({N, H}, 1.0), w1 = leaf({N}, 0.5), gu1 = leaf({E, 2 * F, H}, 0.2), d1 = leaf({E, H, F}, 0.2);
    const torch::Tensor x2 = x1.detach().clone().requires_grad_(true), w2 = w1.detach().clone().requires_grad_(true);
    const torch::Tensor gu2 = gu1.detach().clone().requires_grad_(true), d2 = d1.detach().clone().requires_grad_(true);
    const torch::Tensor dy = torch::randn({N, H}, gen, torch::kFloat);
    const ExpertKernel kernel = groupedMm ? ExpertKernel::GroupedMm : ExpertKernel::HostLoop;
    const ExpertRows rows = expertRows(counts, kernel, x1.device());
    const torch::Tensor y1 = groupedExperts(x1, w1, rows, gu1, d1);
    const torch::Tensor y2 = expertsReferenceLoop(x2, w2, counts, gu2, d2);
    (y1 * dy).sum().backward();
    (y2 * dy).sum().backward();
    Differences out{{"output", maxDiff(y1, y2)},       {"grad_x", maxDiff(x1.grad(), x2.grad())},
                    {"grad_w", maxDiff(w1.grad(), w2.grad())}, {"grad_gate_up", maxDiff(gu1.grad(), gu2.grad())},
                    {"grad_down", maxDiff(d1.grad(), d2.grad())},
                    {"empty_expert_grad", maxAbs(gu1.grad()[1]) + maxAbs(d1.grad()[4])}};
    if (!groupedMm) return out;
    // LoRA's rank-8 expert adapter A [E, 8, H] through both kernels.
    const torch::Tensor A1 = leaf({E, 8, H}, 0.3), A2 = A1.detach().clone().requires_grad_(true);
    const torch::Tensor xa = x1.detach().clone().requires_grad_(true), xb = x1.detach().clone().requires_grad_(true);
    const torch::Tensor za = groupedLinear(xa, rows, A1);
    const torch::Tensor zb = groupedLinear(xb, expertRows(counts, ExpertKernel::HostLoop, x1.device()), A2);
    const torch::Tensor dz = torch::randn({N, 8}, gen, torch::kFloat);
    (za * dz).sum().backward();
    (zb * dz).sum().backward();
    out["lora_output"] = maxDiff(za, zb);
    out["lora_grad_x"] = maxDiff(xa.grad(), xb.grad());
    out["lora_grad_A"] = maxDiff(A1.grad(), A2.grad());
    return out;
}

Differences deviceKernelsVersusCpuKernels(const std::string& dir) {
    ModelOptions device;
    device.kernels = KernelChoice{ExpertKernel::GroupedMm, AttentionKernel::Sdpa};
    std::map<std::string, Batch> cases;
    cases["batch"] = fixtureBatch(dir);
    auto packedIn = readAll(dir + "/case_packed.safetensors");
    Batch packed;
    packed.input_ids = packedIn["input_ids"];
    packed.labels = packedIn["input_ids"];
    packed.position_ids = packedIn["position_ids"];
    packed.cu_seqlens = packedIn["cu_seqlens"];
    cases["packed"] = packed;
    Batch padded = fixtureBatch(dir);
    const int64_t B = padded.input_ids.size(0), S = padded.input_ids.size(1);
    padded.attention_mask = torch::ones({B, S}, torch::kLong);
    padded.attention_mask.narrow(1, S - 4, 4).zero_();  // the last 4 positions of each row are padding
    padded.labels = padded.labels.masked_fill(padded.attention_mask.eq(0), -100);
    cases["padded"] = padded;
    Differences out;
    for (const auto& [name, batch] : cases) {
        Hy3Model cpu = fixtureModel(dir), other = fixtureModel(dir, device);
        const ForwardOutput a = lossAndBackward(*cpu, batch);
        const ForwardOutput b = lossAndBackward(*other, batch);
        out[name + "_logits"] = maxDiff(a.logits, b.logits);
        out[name + "_loss"] = std::abs(a.lossSum.item<double>() - b.lossSum.item<double>());
        out[name + "_grads"] = gradientDifference(*cpu, *other);
    }
    return out;
}

Differences fusedVersusAten(const std::string& dir) {
    Hy3Model fused = fixtureModel(dir), plain = fixtureModel(dir);
    const Batch batch = fixtureBatch(dir);
    const ForwardOutput a = lossAndBackward(*fused, batch);
    ops::setFusedCpuKernels(false);
    ForwardOutput b;
    try {
        b = lossAndBackward(*plain, batch);
    } catch (...) {
        ops::setFusedCpuKernels(true);
        throw;
    }
    ops::setFusedCpuKernels(true);
    return {{"logits", maxDiff(a.logits, b.logits)},
            {"loss", std::abs(a.lossSum.item<double>() - b.lossSum.item<double>())},
            {"grads", gradientDifference(*fused, *plain)}};
}

Differences modelVersusEagerReference(const std::string& dir) {
    Hy3Model model = fixtureModel(dir), other = fixtureModel(dir);
    const Batch batch = fixtureBatch(dir);
    const ForwardOutput a = lossAndBackward(*model, batch);
    const ForwardOutput b = eagerReferenceForward(*other, batch);
    (b.lossSum / static_cast<double>(b.labelTokens)).backward();
    return {{"logits", maxDiff(a.logits, b.logits)},
            {"loss", std::abs(a.lossSum.item<double>() - b.lossSum.item<double>())},
            {"label_tokens", static_cast<double>(std::abs(a.labelTokens - b.labelTokens))},
            {"grads", gradientDifference(*model, *other)}};
}

Differences checkpointingVersusPlain(const std::string& dir) {
    ModelOptions withCheckpointing;
    withCheckpointing.activationCheckpointing = true;
    Hy3Model plain = fixtureModel(dir), checkpointed = fixtureModel(dir, withCheckpointing);
    checkpointed->train();
    const Batch batch = fixtureBatch(dir);
    const ForwardOutput a = lossAndBackward(*plain, batch, false);
    const ForwardOutput b = lossAndBackward(*checkpointed, batch, false);
    return {{"loss", std::abs(a.lossSum.item<double>() - b.lossSum.item<double>())},
            {"grads", gradientDifference(*plain, *checkpointed)}};
}

Differences phaseMarksVersusPlain(const std::string& dir) {
    Hy3Model plain = fixtureModel(dir), marked = fixtureModel(dir);
    const Batch batch = fixtureBatch(dir);
    const ForwardOutput a = lossAndBackward(*plain, batch, false);
    int waits = 0;
    PhaseTimer timer([&] { ++waits; });
    timer.start();
    ForwardOptions fo;
    fo.phases = &timer;
    const ForwardOutput b = marked->forward(batch, fo);
    (b.lossSum / static_cast<double>(b.labelTokens)).backward();
    timer.stop();
    Differences d{{"loss", std::abs(a.lossSum.item<double>() - b.lossSum.item<double>())},
                  {"grads", gradientDifference(*plain, *marked)},
                  {"waits", waits}};
    for (Phase p : {Phase::Attention, Phase::Dispatch, Phase::RoutedExperts, Phase::Mlp, Phase::Optimizer, Phase::Other})
        d[std::string("phase ") + phaseName(p)] = timer.seconds(p);
    return d;
}

double packedVersusSeparate(const std::string& dir) {
    torch::NoGradGuard noGrad;
    Hy3Model model = fixtureModel(dir);
    auto in = readAll(dir + "/case_packed.safetensors");
    Batch packed;
    packed.input_ids = in["input_ids"];
    packed.position_ids = in["position_ids"];
    packed.cu_seqlens = in["cu_seqlens"];
    ForwardOptions fo;
    fo.logitsToKeep = 0;
    const torch::Tensor all = model->forward(packed, fo).logits;
    const torch::Tensor cu = in["cu_seqlens"].to(torch::kLong);
    double worst = 0;
    for (int64_t d = 0; d + 1 < cu.numel(); ++d) {
        const int64_t from = cu[d].item<int64_t>(), len = cu[d + 1].item<int64_t>() - from;
        Batch alone;
        alone.input_ids = packed.input_ids.narrow(1, from, len);
        const torch::Tensor logits = model->forward(alone, fo).logits;
        worst = std::max(worst, maxDiff(logits, all.narrow(1, from, len)));
    }
    return worst;
}

Differences paddingInvariance(const std::string& dir) {
    torch::NoGradGuard noGrad;
    Hy3Model model = fixtureModel(dir);
    const Batch batch = fixtureBatch(dir);
    ForwardOptions fo;
    fo.logitsToKeep = 0;
    const ForwardOutput plain = model->forward(batch, fo);
    const int64_t B = batch.input_ids.size(0), S = batch.input_ids.size(1), pad = 5;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
    Differences out;
    for (const bool left : {false, true}) {
        // Random ids in the padding, so a leak would show.
        const torch::Tensor noise = torch::randint(model->config().vocab_size, {B, pad}, gen, torch::kLong);
        Batch padded;
        const auto cat = [&](const torch::Tensor& real, const torch::Tensor& filler) {
            return left ? torch::cat({filler, real}, 1) : torch::cat({real, filler}, 1);
        };
        padded.input_ids = cat(batch.input_ids, noise);
        padded.labels = cat(batch.labels, torch::full({B, pad}, -100, torch::kLong));
        padded.attention_mask = cat(torch::ones({B, S}, torch::kLong), torch::zeros({B, pad}, torch::kLong));
        // Positions count real tokens only, as a tokenizer's padding would give them.
        padded.position_ids = cat(torch::arange(S).unsqueeze(0).expand({B, S}), torch::zeros({B, pad}, torch::kLong));
        const ForwardOutput p = model->forward(padded, fo);
        const torch::Tensor real = p.logits.narrow(1, left ? pad : 0, S);
        const std::string side = left ? "left" : "right";
        out["logits_" + side] = maxDiff(real, plain.logits);
        out["loss_" + side] = std::abs(p.lossSum.item<double>() - plain.lossSum.item<double>());
        out["label_tokens_" + side] = static_cast<double>(std::abs(p.labelTokens - plain.labelTokens));
    }
    return out;
}

Differences bf16VersusFp32(const std::string& dir) {
    torch::NoGradGuard noGrad;
    ModelOptions bf16;
    bf16.dtype = torch::kBFloat16;
    Hy3Model a = fixtureModel(dir), b = fixtureModel(dir, bf16);
    const Batch batch = fixtureBatch(dir);
    ForwardOptions fo;
    fo.logitsToKeep = 0;
    fo.recordRouting = true;
    const ForwardOutput x = a->forward(batch, fo), y = b->forward(batch, fo);
    const double lx = x.lossSum.item<double>(), ly = y.lossSum.item<double>();
    // Rounding can flip a near-tie in the top-k choice; count the tokens whose experts changed.
    double flipped = 0;
    for (size_t i = 0; i < x.routing.size(); ++i)
        flipped += x.routing[i].experts_TK.ne(y.routing[i].experts_TK).any(1).sum().item<double>();
    return {{"logits_max", maxDiff(x.logits, y.logits)},
            {"logits_mean", (x.logits - y.logits).abs().mean().item<double>()},
            {"loss_relative", std::abs(lx - ly) / std::abs(lx)},
            {"logits_scale", maxAbs(x.logits)},
            {"routing_flips", flipped}};
}

Differences fp32HeadVersusReference(uint64_t seed) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const int64_t rows = 29, H = 64, V = 300;
    const torch::Tensor h0 = torch::randn({rows, H}, gen, torch::kFloat).to(torch::kBFloat16);
    const torch::Tensor w0 = (torch::randn({V, H}, gen, torch::kFloat) * 0.5).to(torch::kBFloat16);
    const torch::Tensor targets = torch::randint(V, {rows}, gen, torch::kLong);
    // The reference: the same bf16 values, everything in fp32.
    const torch::Tensor hRef = h0.to(torch::kFloat).requires_grad_(true), wRef = w0.to(torch::kFloat).requires_grad_(true);
    const torch::Tensor ref = torch::nn::functional::cross_entropy(
        torch::mm(hRef, wRef.t()), targets, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    ref.backward();
    Differences d;
    for (bool fp32 : {true, false}) {
        const torch::Tensor h = h0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
        const torch::Tensor loss = ops::linearCrossEntropySum(h, w, targets, 8, fp32);
        loss.backward();
        const std::string p = fp32 ? "fp32_" : "bf16_";
        d[p + "loss"] = std::abs(loss.item<double>() - ref.item<double>()) / std::abs(ref.item<double>());
        d[p + "grad_h"] = maxDiff(h.grad(), hRef.grad()) / maxAbs(hRef.grad());
        d[p + "grad_w"] = maxDiff(w.grad(), wRef.grad()) / maxAbs(wRef.grad());
    }
    return d;
}

Differences loraVersusMerged(const std::string& dir) {
    const Batch batch = fixtureBatch(dir);
    Hy3Model base = fixtureModel(dir);
    const ModelConfig& c = base->config();
    LoraSettings settings;
    settings.rank = 4;
    settings.alpha = 8;
    const LoraAdapters adapters(c, settings, 0, c.num_hidden_layers, 0, c.num_experts, torch::kCPU, 7);
    for (const auto& p : base->named_parameters(true)) p.value().set_requires_grad(false);  // the base is frozen

    Differences d;
    ForwardOptions logits;
    logits.logitsToKeep = 0;
    const ForwardOutput plain = base->forward(batch, logits);
    base->attachAdapters(adapters);
    const ForwardOutput zeroB = base->forward(batch, logits);
    d["zero_b_logits"] = maxDiff(plain.logits, zeroB.logits);
    d["zero_b_loss"] = std::abs(plain.lossSum.item<double>() - zeroB.lossSum.item<double>());

    // Random B, then the adapter model's loss and gradients.
    {
        torch::NoGradGuard noGrad;
        auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
        for (const LoraPair& p : adapters->pairs()) p.B.copy_(torch::randn(p.B.sizes(), gen, torch::kFloat) * 0.2);
    }
    for (const auto& p : adapters->parameters()) p.mutable_grad() = torch::Tensor();
    const ForwardOutput withAdapters = lossAndBackward(*base, batch);

    // The merged model: W + s B A, the base weights now trainable, the same loss and its dW.
    Hy3Model merged = fixtureModel(dir);
    merged->attachAdapters(adapters);
    merged->mergeAdapters();
    const ForwardOutput reference = lossAndBackward(*merged, batch);
    d["merged_logits"] = maxDiff(withAdapters.logits, reference.logits);
    d["merged_loss"] = std::abs(withAdapters.lossSum.item<double>() - reference.lossSum.item<double>()) / std::abs(reference.lossSum.item<double>());

    // dA = s B^T dW and dB = s dW A^T, dW being the merged model's gradient of the module's on-disk
    // weight (found through the checkpoint key table, not through the LoRA code).
    std::map<std::string, KeyBinding> bindings;
    for (const KeyBinding& b : keyBindings(c, KeyLayout::Released, 0, c.num_experts)) bindings[b.key] = b;
    const double s = adapters->scale();
    double gradA = 0, gradB = 0;
    int64_t pairs = 0;
    for (const LoraPair& p : adapters->pairs()) {
        const int64_t experts = p.A.dim() == 3 ? p.A.size(0) : 1;
        for (int64_t e = 0; e < experts; ++e) {
            const KeyBinding& b = bindings.at(p.modulePath(e) + ".weight");
            torch::Tensor dW = merged->tensor(b.param).grad();
            if (b.expert >= 0) dW = dW.select(0, b.expert);
            if (b.rowCount >= 0) dW = dW.narrow(0, b.rowStart, b.rowCount);
            const torch::Tensor A = p.A.dim() == 3 ? p.A[e] : p.A, B = p.B.dim() == 3 ? p.B[e] : p.B;
            const torch::Tensor gA = p.A.dim() == 3 ? p.A.grad()[e] : p.A.grad(), gB = p.B.dim() == 3 ? p.B.grad()[e] : p.B.grad();
            const torch::Tensor expectA = s * torch::mm(B.t(), dW), expectB = s * torch::mm(dW, A.t());
            gradA = std::max(gradA, maxDiff(gA, expectA) / std::max(maxAbs(expectA), 1e-12));
            gradB = std::max(gradB, maxDiff(gB, expectB) / std::max(maxAbs(expectB), 1e-12));
            ++pairs;
        }
    }
    d["grad_A"] = gradA;
    d["grad_B"] = gradB;
    d["adapters"] = static_cast<double>(pairs);
    return d;
}

Differences paddingRowGradient(const std::string& dir) {
    Hy3Model model = fixtureModel(dir);
    const int64_t pad = model->config().pad_token_id;
    Batch batch = fixtureBatch(dir);
    batch.input_ids = batch.input_ids.clone();
    batch.input_ids.index_put_({0, 3}, pad);  // the pad token as an input the loss sees
    lossAndBackward(*model, batch, false);
    const torch::Tensor g = model->tensor("embed_tokens").grad();
    const int64_t used = batch.input_ids[0][4].item<int64_t>();
    return {{"pad_row", maxAbs(g[pad])}, {"used_row", maxAbs(g[used])}};
}

Differences chunkedLossVersusFull(uint64_t seed) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const int64_t rows = 37, H = 16, V = 50;
    const torch::Tensor h0 = torch::randn({rows, H}, gen, torch::kFloat);
    const torch::Tensor w0 = torch::randn({V, H}, gen, torch::kFloat) * 0.3;
    torch::Tensor targets = torch::randint(V, {rows}, gen, torch::kLong);
    targets.index_put_({torch::tensor({0, 5, 6, 36})}, -100);
    const torch::Tensor hRef = h0.clone().requires_grad_(true), wRef = w0.clone().requires_grad_(true);
    const torch::Tensor full = torch::nn::functional::cross_entropy(
        torch::mm(hRef, wRef.t()), targets, torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kSum));
    (full * 0.5).backward();
    Differences out;
    for (const int64_t chunk : {1, 7, 64}) {
        for (const bool fused : {true, false}) {
            ops::setFusedCpuKernels(fused);
            const torch::Tensor h = h0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
            const torch::Tensor loss = ops::linearCrossEntropySum(h, w, targets, chunk);
            (loss * 0.5).backward();
            const std::string name = "chunk" + std::to_string(chunk) + (fused ? "_fused" : "_aten");
            out[name + "_loss"] = std::abs(loss.item<double>() - full.item<double>());
            out[name + "_grad_h"] = maxDiff(h.grad(), hRef.grad());
            out[name + "_grad_w"] = maxDiff(w.grad(), wRef.grad());
        }
    }
    ops::setFusedCpuKernels(true);
    return out;
}

double logitsToKeepVersusFull(const std::string& dir, int64_t keep) {
    torch::NoGradGuard noGrad;
    Hy3Model model = fixtureModel(dir);
    const Batch batch = fixtureBatch(dir);
    ForwardOptions all, last;
    all.logitsToKeep = 0;
    last.logitsToKeep = keep;
    const torch::Tensor full = model->forward(batch, all).logits;
    const torch::Tensor part = model->forward(batch, last).logits;
    if (part.size(1) != keep) return INFINITY;
    return maxDiff(part, full.narrow(1, full.size(1) - keep, keep));
}

InitFacts initialisation(const std::string& preset) {
    const ModelConfig config = loadModelConfig(presetConfigPath(preset));
    const ModelOptions options;
    Hy3Model a(config, options), b(config, options), c(config, options);
    a->initializeWeights(11);
    b->initializeWeights(11);
    c->initializeWeights(12);
    InitFacts facts;
    facts.sameSeedIdentical = facts.otherSeedDifferent = facts.normsAreOne = facts.biasIsZero = true;
    bool anyDifferent = false;
    double sum = 0, sumSq = 0, count = 0;
    const auto pb = b->named_parameters(true), pc = c->named_parameters(true);
    for (const auto& item : a->named_parameters(true)) {
        const torch::Tensor& p = item.value();
        facts.sameSeedIdentical = facts.sameSeedIdentical && torch::equal(p, pb[item.key()]);
        anyDifferent = anyDifferent || !torch::equal(p, pc[item.key()]);
        if (item.key().find("norm") != std::string::npos) {
            facts.normsAreOne = facts.normsAreOne && torch::all(p.eq(1)).item<bool>();
        } else {
            sum += p.sum().item<double>();
            sumSq += p.pow(2).sum().item<double>();
            count += static_cast<double>(p.numel());
            facts.matrixMaxAbs = std::max(facts.matrixMaxAbs, maxAbs(p));
        }
    }
    for (const auto& item : a->named_buffers(true)) facts.biasIsZero = facts.biasIsZero && maxAbs(item.value()) == 0;
    facts.otherSeedDifferent = anyDifferent;
    facts.matrixStd = std::sqrt(sumSq / count - std::pow(sum / count, 2));
    return facts;
}

BiasFacts expertBiasUpdates(const std::string& dir, double factor) {
    torch::NoGradGuard noGrad;
    Hy3Model model = fixtureModel(dir);
    const Batch batch = fixtureBatch(dir);
    const std::string biasName = "layers.1.expert_bias";
    auto toFloats = [](const torch::Tensor& t) {
        const torch::Tensor c = t.to(torch::kFloat).contiguous();
        return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    };
    auto toInts = [](const torch::Tensor& t) {
        const torch::Tensor c = t.to(torch::kLong).contiguous();
        return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
    };
    BiasFacts f;
    f.biasBefore = toFloats(model->tensor(biasName));
    model->forward(batch);
    f.loadOfOneForward = toInts(model->loadSinceUpdate()[0]);
    model->updateExpertBias(0.0);  // frozen: the bias stays, the accumulated load is consumed
    f.biasAfterZeroFactor = toFloats(model->tensor(biasName));
    model->forward(batch);
    model->forward(batch);
    f.loadAfterTwoForwards = toInts(model->loadSinceUpdate()[0]);
    model->updateExpertBias(factor);
    f.biasAfterUpdate = toFloats(model->tensor(biasName));
    f.loadAfterUpdate = toInts(model->loadSinceUpdate()[0]);
    return f;
}

AuxLossFacts auxiliaryLoss(const std::string& dir, double coefficient) {
    ModelOptions options;
    options.auxLossCoef = coefficient;
    Hy3Model model = fixtureModel(dir, options);
    const Batch batch = fixtureBatch(dir);
    ForwardOptions fo;
    fo.recordRouting = true;
    const ForwardOutput out = model->forward(batch, fo);
    AuxLossFacts facts;
    facts.auxLoss = out.auxLoss.item<double>();
    // The formula evaluated directly from the recorded router logits, one sequence at a time.
    const ModelConfig& c = model->config();
    const int64_t B = batch.input_ids.size(0), S = batch.input_ids.size(1), E = c.num_experts, K = c.num_experts_per_tok;
    double expected = 0;
    for (const LayerRouting& r : out.routing) {
        const torch::Tensor s = torch::sigmoid(r.logits_TE);
        for (int64_t b = 0; b < B; ++b) {
            const torch::Tensor sb = s.narrow(0, b * S, S), eb = r.experts_TK.narrow(0, b * S, S);
            const torch::Tensor P = (sb / sb.sum(1, true)).mean(0);
            const torch::Tensor f = torch::bincount(eb.flatten(), {}, E).to(torch::kDouble) * (double(E) / double(K * S));
            expected += (f * P.to(torch::kDouble)).sum().item<double>();
        }
    }
    facts.expected = coefficient * expected;
    out.auxLoss.backward();
    double sq = 0;
    for (int64_t layer : model->moeLayers()) sq += model->tensor("layers." + std::to_string(layer) + ".router").grad().pow(2).sum().item<double>();
    facts.routerGradNorm = std::sqrt(sq);
    return facts;
}

double expertRangeLoad(const std::string& dir, int64_t first, int64_t last) {
    Hy3Model full = fixtureModel(dir);
    ModelOptions part;
    part.expertFirst = first;
    part.expertLast = last;
    Hy3Model slice = fixtureModel(dir, part);
    double worst = 0;
    for (int64_t layer : full->moeLayers()) {
        for (const char* name : {"experts_gate_up", "experts_down"}) {
            const std::string key = "layers." + std::to_string(layer) + "." + name;
            const torch::Tensor held = slice->tensor(key);
            if (held.size(0) != last - first) return INFINITY;
            worst = std::max(worst, maxDiff(held, full->tensor(key).narrow(0, first, last - first)));
        }
    }
    return worst;
}

}  // namespace hy3::checks

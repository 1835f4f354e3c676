#include "api/model_tools.h"

#include "checkpoint/key_names.h"
#include "checkpoint/model_loader.h"
#include "checkpoint/tensor_io.h"
#include "model/eager_reference.h"
#include "config/model_cost.h"
#include "runtime/system_info.h"
#include "util/error.h"
#include "util/format.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <sstream>

namespace hy3::api {
namespace {

torch::Dtype parseDtype(const std::string& name) {
    if (name == "fp32") return torch::kFloat;
    if (name == "bf16") return torch::kBFloat16;
    fail("--dtype", "expected fp32 or bf16, got \"" + name + "\"");
}

// The batch tensors of an input file, checked against the model so bad input is one clear error.
Batch batchFromFile(const std::string& file, const ModelConfig& c) {
    std::map<std::string, torch::Tensor> in;
    for (auto& [name, t] : readSafetensors(file)) in[name] = t;
    auto take = [&](const char* name) { return in.count(name) ? in[name] : torch::Tensor(); };
    Batch b;
    b.input_ids = take("input_ids");
    if (!b.input_ids.defined()) fail(file + ": input_ids", "missing (an int64 [batch, seq] tensor is required)");
    if (b.input_ids.dim() == 1) b.input_ids = b.input_ids.unsqueeze(0);
    if (b.input_ids.dim() != 2 || b.input_ids.is_floating_point())
        fail(file + ": input_ids", "expected integer ids of shape [batch, seq]");
    b.input_ids = b.input_ids.to(torch::kLong);
    const int64_t lo = b.input_ids.min().item<int64_t>(), hi = b.input_ids.max().item<int64_t>();
    if (lo < 0 || hi >= c.vocab_size)
        fail(file + ": input_ids", "ids must lie in [0, " + std::to_string(c.vocab_size) + "), found " +
                                       std::to_string(lo < 0 ? lo : hi));
    const auto shape = b.input_ids.sizes();
    auto sameShape = [&](const char* name, torch::Tensor t) {
        if (!t.defined()) return t;
        if (t.dim() == 1 && shape[0] == 1) t = t.unsqueeze(0);
        if (t.sizes() != shape) fail(file + ": " + name, "shape does not match input_ids");
        return t.to(torch::kLong);
    };
    b.labels = sameShape("labels", take("labels"));
    b.attention_mask = sameShape("attention_mask", take("attention_mask"));
    b.position_ids = sameShape("position_ids", take("position_ids"));
    b.cu_seqlens = take("cu_seqlens");
    return b;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double secondsOf(const std::function<void()>& fn) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

ForwardSummary runForward(const ForwardRequest& r) {
    ModelOptions options;
    options.dtype = parseDtype(r.dtype);
    options.activationCheckpointing = r.activationCheckpointing;
    ModelDirectory dir = ModelDirectory::open(r.modelDir);
    Hy3Model model(dir.config(), options);
    loadModelWeights(*model, dir);
    const ModelConfig& c = model->config();
    const Batch batch = batchFromFile(r.input, c);

    ForwardOptions fo;
    fo.logitsToKeep = 0;
    fo.recordRouting = true;
    const ForwardOutput out = model->forward(batch, fo);

    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    tensors.emplace_back("logits", out.logits);
    ForwardSummary summary;
    if (out.lossSum.defined() && out.labelTokens > 0) {
        const torch::Tensor loss = out.lossSum / static_cast<double>(out.labelTokens);
        loss.backward();
        double sq = 0;
        for (const auto& p : model->parameters())
            if (p.grad().defined()) sq += p.grad().to(torch::kDouble).pow(2).sum().item<double>();
        summary.hasLoss = true;
        summary.loss = loss.item<double>();
        summary.labelTokens = out.labelTokens;
        summary.gradNorm = std::sqrt(sq);
        tensors.emplace_back("loss", loss.detach().to(torch::kFloat).reshape({1}));
        tensors.emplace_back("grad_norm", torch::tensor({static_cast<float>(summary.gradNorm)}));
        if (r.grads) {
            for (const KeyBinding& b : keyBindings(c, KeyLayout::Released, 0, c.num_experts)) {
                if (b.buffer) continue;
                torch::Tensor g = model->tensor(b.param).grad();
                if (!g.defined()) continue;
                if (b.expert >= 0) g = g.select(0, b.expert);
                if (b.rowCount >= 0) g = g.narrow(0, b.rowStart, b.rowCount);
                tensors.emplace_back("grad." + b.key, g.to(torch::kFloat).contiguous());
            }
        }
    }
    for (const LayerRouting& lr : out.routing) {
        const std::string p = "layer" + std::to_string(lr.layer) + ".";
        tensors.emplace_back(p + "router_logits", lr.logits_TE);
        tensors.emplace_back(p + "topk_sorted", lr.experts_TK.to(torch::kLong));
        tensors.emplace_back(p + "expert_load", lr.load_E.to(torch::kLong));
    }
    if (r.biasUpdate >= 0) {
        model->updateExpertBias(r.biasUpdate);
        for (int64_t layer : model->moeLayers())
            if (c.moe_router_enable_expert_bias)
                tensors.emplace_back("layer" + std::to_string(layer) + ".expert_bias_after_update",
                                     model->tensor(layerTensorName(layer, layer_tensor::kExpertBias)).clone());
    }
    writeSafetensors(r.output, tensors);
    for (const auto& [name, t] : tensors) summary.written.push_back(name);
    return summary;
}

ModelBenchResult benchModel(const ModelBenchRequest& r) {
    if (r.seqLen < 2 || r.batch < 1) fail("bench", "--seq-len must be >= 2 and --batch >= 1");
    if (r.threads > 0) at::set_num_threads(r.threads);
    ModelOptions options;
    options.dtype = parseDtype(r.dtype);
    // Weights do not change the cost; a model directory only contributes its config.
    Hy3Model model(resolveModelSource(r.source).config, options);
    model->initializeWeights(0);
    const ModelConfig& c = model->config();

    auto gen = at::make_generator<at::CPUGeneratorImpl>(1234);
    Batch batch;
    batch.input_ids = torch::randint(c.vocab_size, {r.batch, r.seqLen}, gen, torch::kLong);
    batch.labels = batch.input_ids.clone();

    auto runForward = [&] {
        torch::NoGradGuard noGrad;
        if (r.reference) eagerReferenceForward(*model, batch);
        else model->forward(batch);
    };
    auto runTraining = [&] {
        model->zero_grad(true);
        const ForwardOutput out = r.reference ? eagerReferenceForward(*model, batch) : model->forward(batch);
        (out.lossSum / static_cast<double>(std::max<int64_t>(out.labelTokens, 1))).backward();
    };
    for (int i = 0; i < r.warmup; ++i) {
        runForward();
        runTraining();
    }
    // The peak is timed between the steps, so a machine whose speed drifts (a shared VM) affects
    // both alike; MFU is the median of the per-iteration ratios.
    std::vector<double> fwd, fwdBwd, peak, ratio;
    const double flopsPerStep = trainingFlopsPerToken(c, r.seqLen) * static_cast<double>(r.batch * r.seqLen);
    const int64_t tokensPerStep = r.batch * r.seqLen;
    for (int i = 0; i < std::max(1, r.iterations); ++i) {
        fwd.push_back(secondsOf(runForward));
        fwdBwd.push_back(secondsOf(runTraining));
        peak.push_back(measureMatmulGflops(2048, at::get_num_threads(), 1) * 1e9);
        ratio.push_back(modelFlopsUtilization(c, r.seqLen, tokensPerStep, fwdBwd.back(), peak.back()));
    }

    ModelBenchResult out;
    out.source = r.source;
    out.implementation = r.reference ? "eager reference" : "engine";
    out.seqLen = r.seqLen;
    out.batch = r.batch;
    out.threads = at::get_num_threads();
    out.forwardMs = median(fwd) * 1e3;
    out.forwardBackwardMs = median(fwdBwd) * 1e3;
    out.trainingFlopsPerToken = trainingFlopsPerToken(c, r.seqLen);
    out.tokensPerSecond = static_cast<double>(r.batch * r.seqLen) / (out.forwardBackwardMs / 1e3);
    out.flopsPerSecond = flopsPerStep / (out.forwardBackwardMs / 1e3);
    out.peakFlopsPerSecond = median(peak);
    out.mfu = median(ratio);
    return out;
}

std::string formatModelBench(const ModelBenchResult& b) {
    std::ostringstream o;
    o << "model " << b.source << " (" << b.implementation << "), batch " << b.batch << " x seq " << b.seqLen << ", "
      << b.threads << " thread(s)\n";
    o << "forward            " << fixed(b.forwardMs, 1) << " ms\n";
    o << "forward+backward   " << fixed(b.forwardBackwardMs, 1) << " ms  (" << fixed(b.tokensPerSecond, 0) << " tokens/s)\n";
    o << "achieved           " << fixed(b.flopsPerSecond / 1e9, 1) << " GFLOP/s of model FLOPs ("
      << siUnits(b.trainingFlopsPerToken, "FLOP") << "/token, 3x forward, causal attention halved)\n";
    o << "matmul peak        " << fixed(b.peakFlopsPerSecond / 1e9, 1) << " GFLOP/s (2048^3 fp32, same threads, timed between steps)\n";
    o << "MFU                " << fixed(100 * b.mfu, 1) << " % (median of per-step ratios)\n";
    return o.str();
}

std::string modelBenchJson(const ModelBenchResult& b) {
    return nlohmann::json{{"source", b.source},
                          {"implementation", b.implementation},
                          {"batch", b.batch},
                          {"seq_len", b.seqLen},
                          {"threads", b.threads},
                          {"forward_ms", b.forwardMs},
                          {"forward_backward_ms", b.forwardBackwardMs},
                          {"tokens_per_s", b.tokensPerSecond},
                          {"flops_per_s", b.flopsPerSecond},
                          {"peak_flops_per_s", b.peakFlopsPerSecond},
                          {"mfu", b.mfu},
                          {"training_flops_per_token", b.trainingFlopsPerToken}}
        .dump(2);
}

}  // namespace hy3::api

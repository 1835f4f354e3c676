#include "api/model_tools.h"

#include "checkpoint/key_names.h"
#include "checkpoint/model_loader.h"
#include "checkpoint/tensor_io.h"
#include "model/dtype.h"
#include "util/error.h"

#include <ATen/CPUGeneratorImpl.h>

#include <map>

namespace hy3::api {
namespace {

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

}  // namespace hy3::api

#include "api/model_tools.h"

#include "checkpoint/adapter_files.h"
#include "checkpoint/batch_file.h"
#include "checkpoint/key_names.h"
#include "checkpoint/model_loader.h"
#include "checkpoint/tensor_io.h"
#include "config/model_source.h"
#include "model/dtype.h"
#include "runtime/device.h"
#include "util/error.h"

namespace hy3::api {

ForwardSummary runForward(const ForwardRequest& r) {
    ModelOptions options;
    options.dtype = parseDtype(r.dtype);
    options.device = resolveDevice(r.device, 0, "--device");
    useDevice(options.device);
    options.activationCheckpointing = r.activationCheckpointing;
    const ModelSource source = resolveModelSource(r.modelDir);
    ModelDirectory dir = ModelDirectory::open(r.modelDir, source.config);
    Hy3Model model(dir.config(), options);
    loadModelWeights(*model, dir);
    const ModelConfig& c = model->config();
    LoraAdapters adapters{nullptr};
    if (!r.adapter.empty()) {
        adapters = loadAdapter(r.adapter, source, options.device);
        for (const auto& p : model->parameters()) p.set_requires_grad(false);  // the base is frozen under an adapter
        model->attachAdapters(adapters);
    }
    const Batch batch = readBatchFile(r.input, c);

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
        if (adapters)
            for (const auto& p : adapters->parameters())
                if (p.grad().defined()) sq += p.grad().to(torch::kDouble).pow(2).sum().item<double>();  // a tool, not a training step: waits are fine
        summary.hasLoss = true;
        summary.loss = loss.item<double>();
        summary.labelTokens = out.labelTokens;
        summary.gradNorm = std::sqrt(sq);
        tensors.emplace_back("loss", loss.detach().to(torch::kFloat).reshape({1}));
        tensors.emplace_back("grad_norm", torch::tensor({static_cast<float>(summary.gradNorm)}));
        if (r.grads && adapters) {
            for (const auto& [key, g] : adapters->peftTensors(true)) tensors.emplace_back("grad." + key, g.to(torch::kFloat).contiguous());
        } else if (r.grads) {
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

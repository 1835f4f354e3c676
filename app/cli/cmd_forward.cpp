#include "api/common.h"
#include "api/model_tools.h"
#include "cli/commands.h"

#include <iostream>

namespace hy3::cli {

void addForwardCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("forward", "run a model directory on a batch and write logits, loss, gradients and routing");
    auto req = std::make_shared<api::ForwardRequest>();
    cmd->add_option("--model", req->modelDir, "HF model directory")->required();
    cmd->add_option("--adapter", req->adapter, "PEFT LoRA adapter directory to run with; --grads then writes grad.<adapter key>");
    cmd->add_option("--input", req->input, "safetensors with input_ids [+ labels, attention_mask, position_ids, cu_seqlens]")
        ->required();
    cmd->add_option("--output", req->output, "safetensors to write")->required();
    cmd->add_flag("--grads", req->grads, "also write grad.<key> for every trainable tensor (needs labels)");
    cmd->add_option("--dtype", req->dtype, "parameter dtype: fp32 or bf16")->capture_default_str();
    cmd->add_option("--device", req->device, "auto (a GPU when one is visible), cpu or cuda")->capture_default_str();
    cmd->add_option("--bias-update", req->biasUpdate, "apply one aux-loss-free expert-bias update with this factor");
    cmd->add_flag("--activation-checkpointing", req->activationCheckpointing, "recompute each block in the backward pass");
    cmd->callback([&action, req] {
        action = [req] {
            const api::ForwardSummary s = api::runForward(*req);
            if (s.hasLoss)
                std::cout << "loss " << fixed(s.loss, 6) << " over " << s.labelTokens << " label tokens, grad norm "
                          << fixed(s.gradNorm, 6) << "\n";
            std::cout << "wrote " << s.written.size() << " tensors to " << req->output << "\n";
            return 0;
        };
    });
}

}  // namespace hy3::cli

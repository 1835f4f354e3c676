#include "api/common.h"
#include "api/plan_tools.h"
#include "cli/commands.h"
#include "cli/formats.h"

#include <algorithm>
#include <iostream>

namespace hy3::cli {

void addPlanCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("plan", "per-device memory and step time of every (pp, dp, ep) layout; which fits");
    auto s = std::make_shared<PlanSettings>();
    auto model = std::make_shared<std::string>();
    auto gpuMem = std::make_shared<double>(80);
    auto overheadMib = std::make_shared<double>(-1);
    auto json = std::make_shared<bool>(false);
    auto method = std::make_shared<std::string>("full");
    auto loraTargets = std::make_shared<std::string>(loraModuleList(","));
    auto loraGroups = std::make_shared<std::string>("attention,dense_mlp,shared_expert,routed_experts");
    auto freeze = std::make_shared<std::string>();
    s->loraSpec.rank = 16;
    cmd->add_option("--model", *model, "preset name, config.json or model directory")->required();
    cmd->add_option("--gpus", s->devices, "devices (processes) in the job")->required()->check(CLI::PositiveNumber);
    cmd->add_option("--gpu-mem", *gpuMem, "memory per device, GiB")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--seq-len", s->seqLen, "tokens per row")->capture_default_str()->check(CLI::Range(2, 1 << 30));
    cmd->add_option("--micro-batch", s->microBatch, "rows per forward/backward")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--global-batch", s->globalBatch, "rows per optimizer step (default: devices x micro-batch x 4)");
    cmd->add_option("--dtype", s->dtype, "parameter dtype: bf16 or fp32")->capture_default_str()->check(CLI::IsMember({"bf16", "fp32"}));
    cmd->add_option("--device", s->device, "cuda or cpu (the per-process overhead differs)")->capture_default_str()->check(CLI::IsMember({"cuda", "cpu"}));
    cmd->add_option("--overhead-mib", *overheadMib, "per-process runtime overhead (default: 1024 on cuda, 200 on cpu)");
    cmd->add_option("--tflops", s->achievedFlopsPerSecond, "achieved FLOP/s per device, for the time estimate")->capture_default_str();
    cmd->add_option("--link-gbps", s->linkBytesPerSecond, "bytes/s per device for collectives")->capture_default_str();
    cmd->add_option("--method", *method, "full or lora")->capture_default_str()->check(CLI::IsMember({"full", "lora"}));
    cmd->add_option("--lora-rank", s->loraSpec.rank, "LoRA rank")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--lora-targets", *loraTargets, "LoRA target modules, comma-separated")->capture_default_str();
    cmd->add_option("--lora-groups", *loraGroups, "groups the targets reach: attention, dense_mlp, shared_expert, routed_experts")
        ->capture_default_str();
    cmd->add_flag("--lora-train-router", s->loraSpec.train_router, "LoRA: also train the router fully");
    cmd->add_option("--freeze", *freeze, "full: components kept fixed (embeddings, attention, router, shared_expert, experts, lm_head)");
    cmd->add_flag("--json", *json, "print one JSON object");
    cmd->callback([&action, s, model, gpuMem, overheadMib, json, method, loraTargets, loraGroups, freeze] {
        action = [s, model, gpuMem, overheadMib, json, method, loraTargets, loraGroups, freeze] {
            s->lora = *method == "lora";
            s->loraSpec.targets = splitLoraTargets(*loraTargets);
            const std::vector<std::string> groups = splitLoraTargets(*loraGroups);
            const auto has = [](const std::vector<std::string>& list, const char* name) { return std::find(list.begin(), list.end(), name) != list.end(); };
            s->loraSpec.attention = has(groups, "attention");
            s->loraSpec.dense_mlp = has(groups, "dense_mlp");
            s->loraSpec.shared_expert = has(groups, "shared_expert");
            s->loraSpec.routed_experts = has(groups, "routed_experts");
            const std::vector<std::string> frozen = splitLoraTargets(*freeze);
            for (const std::string& name : frozen)
                if (!has({"embeddings", "attention", "router", "shared_expert", "experts", "lm_head"}, name.c_str()))
                    throw Error("--freeze: unknown component \"" + name + "\" (embeddings, attention, router, shared_expert, experts, lm_head)");
            s->freeze = {has(frozen, "embeddings"), has(frozen, "attention"), has(frozen, "router"),
                         has(frozen, "shared_expert"), has(frozen, "experts"), has(frozen, "lm_head")};
            s->deviceMemoryBytes = *gpuMem * 1073741824.0;
            if (*overheadMib >= 0) s->overheadBytes = *overheadMib * 1048576.0;
            const LayoutPlanResult plan = api::planLayoutsFor(*model, *s);
            std::cout << (*json ? layoutPlanJson(plan) + "\n" : formatLayoutPlan(plan));
            return 0;
        };
    });
}

}  // namespace hy3::cli

#include "api/common.h"
#include "api/lora_tools.h"
#include "cli/commands.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace hy3::cli {

namespace {

std::string formatAdapterReport(const api::AdapterReport& r) {
    std::string o = "Adapter      " + r.path + "\n";
    o += "Base model   " + (r.baseModel.empty() ? std::string("(not recorded)") : r.baseModel) + "\n";
    std::string targets;
    for (const std::string& t : r.targets) targets += (targets.empty() ? "" : ", ") + t;
    o += "LoRA         rank " + std::to_string(r.rank) + ", alpha " + plainNumber(r.alpha) + ", scale " + plainNumber(r.scale) +
         (r.useRslora ? " (rsLoRA: alpha / sqrt(r))" : " (alpha / r)") + ", dropout " + plainNumber(r.dropout) + "\n";
    o += "Targets      " + targets + "\n";
    if (r.expertLayout == "fused")
        o += "Experts      fused: target_parameters gate_up_proj/down_proj, the layout PEFT loads on transformers' Hy3\n";
    else if (r.expertLayout == "per expert")
        o += "Experts      per expert (mlp.experts.N.*): hy3 reads it; PEFT on transformers' Hy3 skips these keys\n";
    o += "Parameters   " + groupDigits(r.parameters) + " (" + shortBytes(static_cast<double>(r.bytes)) + " in fp32)\n";
    o += "Coverage\n";
    for (const std::string& line : r.coverageSummary) o += "  " + line + "\n";
    return o;
}

void addInspect(CLI::App& parent, Action& action) {
    auto* cmd = parent.add_subcommand("inspect", "rank, alpha, targets and which modules of which layers have adapters");
    auto dir = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("ADAPTER", *dir, "a PEFT LoRA adapter directory (a LoRA checkpoint's adapter/)")->required();
    cmd->add_flag("--json", *json, "print one JSON object");
    cmd->callback([&action, dir, json] {
        action = [dir, json] {
            const api::AdapterReport r = api::inspectAdapter(*dir);
            if (*json)
                std::cout << nlohmann::json{{"path", r.path},       {"base_model", r.baseModel}, {"rank", r.rank},
                                            {"alpha", r.alpha},     {"scale", r.scale},          {"dropout", r.dropout},
                                            {"use_rslora", r.useRslora}, {"targets", r.targets}, {"coverage", r.coverage},
                                            {"parameters", r.parameters}, {"bytes", r.bytes},
                                            {"expert_layout", r.expertLayout}}
                                 .dump(2)
                          << "\n";
            else
                std::cout << formatAdapterReport(r);
            return 0;
        };
    });
}

void addMerge(CLI::App& parent, Action& action) {
    auto* cmd = parent.add_subcommand("merge", "fold an adapter into its base (W + s B A) and write the released layout");
    auto req = std::make_shared<api::MergeRequest>();
    cmd->add_option("BASE", req->base, "the base model: a model directory, or a preset (weights drawn from --seed)")->required();
    cmd->add_option("ADAPTER", req->adapter, "a PEFT LoRA adapter directory")->required();
    cmd->add_option("OUT", req->destination, "new directory to write")->required();
    cmd->add_option("--dtype", req->dtype, "bf16 or fp32")->capture_default_str();
    cmd->add_option("--shard-size", req->shardSize, "largest shard, e.g. 5GB or 500MB")->capture_default_str();
    cmd->add_option("--seed", req->seed, "training.seed of a run whose base was a preset")->capture_default_str();
    cmd->callback([&action, req] {
        action = [req] {
            const api::ExportSummary s = api::mergeAdapter(*req);
            std::cout << "merged into " << s.tensors << " tensors (" << shortBytes(static_cast<double>(s.tensorBytes)) << ") in "
                      << s.shards << " shard(s) at " << s.destination << "\n";
            std::cout << (s.modelBytesInMemory == 0 ? "read and written tensor by tensor" : "a preset's base, built whole in memory")
                      << "; peak memory " << shortBytes(static_cast<double>(s.peakRssBytes)) << "\n";
            return 0;
        };
    });
}

}  // namespace

void addLoraCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("lora", "inspect and merge LoRA adapters");
    cmd->require_subcommand(1);
    addInspect(*cmd, action);
    addMerge(*cmd, action);
}

}  // namespace hy3::cli

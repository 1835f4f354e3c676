#include "api/checkpoint_tools.h"
#include "api/common.h"
#include "cli/commands.h"
#include "cli/formats.h"

#include <iostream>

namespace hy3::cli {

namespace {

void addInspect(CLI::App& parent, Action& action) {
    auto* cmd = parent.add_subcommand("inspect", "tensors (name, dtype, shape, bytes), totals, config summary and meta");
    auto path = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("DIR", *path, "checkpoint folder, model directory, or a run's checkpoints folder")->required();
    cmd->add_flag("--json", *json, "print one JSON object");
    cmd->callback([&action, path, json] {
        action = [path, json] {
            const InspectReport r = inspectCheckpoint(*path);
            std::cout << (*json ? inspectReportJson(r) + "\n" : formatInspectReport(r));
            return 0;
        };
    });
}

void addVerify(CLI::App& parent, Action& action) {
    auto* cmd = parent.add_subcommand("verify", "check headers, offsets, index coverage and SHA-256; exit 0 only when all holds");
    auto path = std::make_shared<std::string>();
    cmd->add_option("DIR", *path, "checkpoint folder, model directory, or a run's checkpoints folder")->required();
    cmd->callback([&action, path] {
        action = [path] {
            const std::vector<std::string> problems = verifyCheckpoint(*path);
            for (const std::string& p : problems) std::cout << p << "\n";
            if (problems.empty()) std::cout << "ok: " << *path << "\n";
            else std::cerr << problems.size() << " problem(s) in " << *path << "\n";
            return problems.empty() ? 0 : 1;
        };
    });
}

void addExport(CLI::App& parent, Action& action) {
    auto* cmd = parent.add_subcommand("export", "re-export any accepted layout as the released on-disk layout");
    auto req = std::make_shared<api::ExportRequest>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("SRC", req->source, "checkpoint folder or model directory (released or HF transformers layout)")->required();
    cmd->add_option("DST", req->destination, "new directory to write")->required();
    cmd->add_option("--dtype", req->dtype, "bf16 or fp32")->capture_default_str();
    cmd->add_option("--shard-size", req->shardSize, "largest shard, e.g. 5GB or 500MB")->capture_default_str();
    cmd->add_flag("--json", *json, "print one JSON object");
    cmd->callback([&action, req, json] {
        action = [req, json] {
            const api::ExportSummary s = api::exportCheckpoint(*req);
            if (*json) {
                std::cout << exportSummaryJson(s) << "\n";
            } else {
                std::cout << "exported " << s.tensors << " tensors (" << shortBytes(static_cast<double>(s.tensorBytes)) << ") in "
                          << s.shards << " shard(s) to " << s.destination << "\n";
                if (s.mtpFiles > 0) std::cout << "copied the source's MTP block unchanged (" << s.mtpFiles << " file(s))\n";
                std::cout << "peak memory " << shortBytes(static_cast<double>(s.peakRssBytes)) << " for a model of "
                          << shortBytes(static_cast<double>(s.modelBytesInMemory)) << "\n";
            }
            return 0;
        };
    });
}

void addCompare(CLI::App& parent, Action& action) {
    auto* cmd = parent.add_subcommand("compare", "run one probe batch through two models and compare their logits; exit 0 when "
                                                 "within tolerance, 1 when not");
    auto req = std::make_shared<api::CompareRequest>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("A", req->a, "checkpoint folder (a LoRA checkpoint: its adapter on its base), model directory or preset")->required();
    cmd->add_option("B", req->b, "checkpoint folder (a LoRA checkpoint: its adapter on its base), model directory or preset")->required();
    cmd->add_option("--adapter-a", req->adapterA, "PEFT LoRA adapter directory run unmerged on A (e.g. A = the base, B = its merge)");
    cmd->add_option("--adapter-b", req->adapterB, "PEFT LoRA adapter directory run unmerged on B");
    cmd->add_option("--input", req->input, "safetensors batch (input_ids [+ labels, attention_mask, ...]); default: a built-in probe");
    cmd->add_option("--tolerance", req->tolerance, "largest max |logit difference| that counts as the same model")->capture_default_str();
    cmd->add_option("--dtype", req->dtype, "parameters while comparing: fp32 or bf16")->capture_default_str();
    cmd->add_flag("--json", *json, "print one JSON object");
    cmd->callback([&action, req, json] {
        action = [req, json] {
            const api::CompareReport r = api::compareCheckpoints(*req);
            std::cout << (*json ? compareReportJson(r) + "\n" : api::formatCompareReport(r));
            return r.withinTolerance ? 0 : 1;
        };
    });
}

}  // namespace

void addCheckpointCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("checkpoint", "inspect, verify, export and compare checkpoints");
    cmd->require_subcommand(1);
    addInspect(*cmd, action);
    addVerify(*cmd, action);
    addExport(*cmd, action);
    addCompare(*cmd, action);
}

}  // namespace hy3::cli

#include "api/model_report.h"
#include "cli/commands.h"
#include "cli/formats.h"

#include <iostream>

namespace hy3::cli {

namespace {
struct ModelInfoOptions {
    std::string source;
    int64_t seqLen = 4096;
    bool json = false;
};
}  // namespace

void addModelInfoCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("model-info", "layer plan, parameter counts and FLOPs per token of a Hy3 config");
    auto opts = std::make_shared<ModelInfoOptions>();
    cmd->add_option("PATH", opts->source, "config.json, a model directory, or a preset name")->required();
    cmd->add_option("--seq-len", opts->seqLen, "sequence length for the FLOPs figure")->capture_default_str();
    cmd->add_flag("--json", opts->json, "print one JSON object");
    cmd->callback([&action, opts] {
        action = [opts] {
            const api::ModelReport report = api::describeModel(opts->source, opts->seqLen);
            std::cout << (opts->json ? modelReportJson(report) + "\n" : formatModelReport(report));
            return 0;
        };
    });
}

}  // namespace hy3::cli

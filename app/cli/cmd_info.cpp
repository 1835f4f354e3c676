#include "api/system_report.h"
#include "cli/commands.h"
#include "cli/formats.h"

#include <iostream>

namespace hy3::cli {

void addInfoCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("info", "LibTorch, BLAS with a measured matmul rate, CPU threads, GPUs, c10d backends");
    auto json = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json, "print one JSON object");
    cmd->callback([&action, json] {
        action = [json] {
            const SystemInfo info = api::systemInfo();
            std::cout << (*json ? systemInfoJson(info) + "\n" : formatSystemInfo(info));
            return 0;
        };
    });
}

}  // namespace hy3::cli

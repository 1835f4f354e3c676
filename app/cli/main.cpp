// hy3: the headless engine. The same command the workbench starts for training runs and that
// cluster nodes run under torchrun or srun.
//
// Loading LibTorch takes most of a second (its libraries' relocations and operator registration),
// longer than tokenizing a megabyte. So this program is linked without LibTorch and runs the
// commands that need none (tokenize, render, prepare, data-stats, plan, model-info) itself; for
// every other command, and for the full --help, it replaces itself (execv: the same process id,
// arguments and environment, so signals and exit statuses are the command's own) with hy3-torch,
// which lies beside it and has every command.
#include "cli/run_cli.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>

namespace {

// The commands main() registers below.
const std::set<std::string> kTorchFreeCommands{"tokenize", "render", "prepare", "data-stats", "plan", "model-info"};

bool runsWithoutTorch(int argc, char** argv) { return argc > 1 && kTorchFreeCommands.count(argv[1]) > 0; }

int handOverToTorch(char** argv) {
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const std::string torch = (self.parent_path() / "hy3-torch").string();
    ::execv(torch.c_str(), argv);
    const int error = errno;
    std::string names;
    for (const std::string& name : kTorchFreeCommands) names += (names.empty() ? "" : ", ") + name;
    std::cerr << "error: " << torch << ": cannot start (" << std::strerror(error) << "); hy3 runs every command but " << names
              << " through it\n";
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (!runsWithoutTorch(argc, argv)) return handOverToTorch(argv);
    using namespace hy3::cli;
    return runCommandLine(argc, argv, {addTokenizeCommand, addRenderCommand, addDataCommands, addPlanCommand, addModelInfoCommand});
}

// hy3: the headless engine. The same binary the workbench starts for training runs and that
// cluster nodes run under torchrun or srun.
#include "api/common.h"
#include "api/process_tools.h"
#include "cli/commands.h"

#include <iostream>
#include <string>

int main(int argc, char** argv) {
    hy3::keepFreedMemoryForReuse();
    hy3::reportFileSizeLimitAsError();
    CLI::App app{"hy3: supervised fine-tuning of Hy3 mixture-of-experts models"};
    app.require_subcommand(1);
    app.set_version_flag("--version", HY3_VERSION);

    hy3::cli::Action action;
    hy3::cli::addInfoCommand(app, action);
    hy3::cli::addModelInfoCommand(app, action);
    hy3::cli::addForwardCommand(app, action);
    hy3::cli::addBenchCommand(app, action);
    hy3::cli::addCheckpointCommand(app, action);
    hy3::cli::addTokenizeCommand(app, action);
    hy3::cli::addRenderCommand(app, action);
    hy3::cli::addDataCommands(app, action);
    hy3::cli::addTrainCommand(app, action);
    hy3::cli::addGenerateCommand(app, action);
    hy3::cli::addLaunchCommand(app, action);
    hy3::cli::addPlanCommand(app, action);
    hy3::cli::addLoraCommand(app, action);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return 2;  // usage errors share the bad-input status
    }

    try {
        return action();
    } catch (const hy3::Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        // An internal failure (LibTorch errors carry a backtrace after the first line).
        const std::string what = e.what();
        std::cerr << "internal error: " << what.substr(0, what.find('\n')) << "\n";
        return 1;
    }
}

#include "cli/run_cli.h"

#include "api/common.h"
#include "api/process_tools.h"

#include <iostream>
#include <string>

namespace hy3::cli {

int runCommandLine(int argc, char** argv, const std::vector<AddCommand>& commands) {
    hy3::keepFreedMemoryForReuse();
    hy3::reportFileSizeLimitAsError();
    CLI::App app{"hy3: supervised fine-tuning of Hy3 mixture-of-experts models"};
    app.require_subcommand(1);
    app.set_version_flag("--version", HY3_VERSION);

    Action action;
    for (AddCommand add : commands) add(app, action);

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

}  // namespace hy3::cli

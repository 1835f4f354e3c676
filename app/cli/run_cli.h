#pragma once
// The command line both executables share: build the app from a list of commands, parse, run the
// chosen command's action and turn errors into exit statuses (usage and bad input 2, internal 1).
#include "cli/commands.h"

#include <vector>

namespace hy3::cli {

using AddCommand = void (*)(CLI::App& app, Action& action);

int runCommandLine(int argc, char** argv, const std::vector<AddCommand>& commands);

}  // namespace hy3::cli

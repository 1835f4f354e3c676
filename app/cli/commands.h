#pragma once
// Each `hy3` subcommand registers itself on the CLI11 app and returns the action to run after
// parsing. Actions return the process exit status; hy3::Error escapes them and becomes exit 2.
#include <CLI/CLI.hpp>

#include <functional>

namespace hy3::cli {

using Action = std::function<int()>;

void addInfoCommand(CLI::App& app, Action& action);
void addModelInfoCommand(CLI::App& app, Action& action);
void addForwardCommand(CLI::App& app, Action& action);
void addBenchCommand(CLI::App& app, Action& action);
void addCheckpointCommand(CLI::App& app, Action& action);
void addTokenizeCommand(CLI::App& app, Action& action);
void addRenderCommand(CLI::App& app, Action& action);
void addDataCommands(CLI::App& app, Action& action);
void addTrainCommand(CLI::App& app, Action& action);
void addGenerateCommand(CLI::App& app, Action& action);
void addLaunchCommand(CLI::App& app, Action& action);
void addPlanCommand(CLI::App& app, Action& action);
void addLoraCommand(CLI::App& app, Action& action);

}  // namespace hy3::cli

// hy3-torch: every hy3 command, with LibTorch. `hy3` runs the commands that need no LibTorch
// itself and hands every other command to this program (see main.cpp); it also runs on its own.
#include "cli/run_cli.h"

int main(int argc, char** argv) {
    using namespace hy3::cli;
    return runCommandLine(argc, argv,
                          {addInfoCommand, addModelInfoCommand, addForwardCommand, addBenchCommand, addCheckpointCommand,
                           addTokenizeCommand, addRenderCommand, addDataCommands, addTrainCommand, addGenerateCommand,
                           addLaunchCommand, addPlanCommand, addLoraCommand});
}

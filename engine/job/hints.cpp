#include "job/hints.h"

#include "job/trainer.h"

namespace hy3 {

std::string resumeCommand(const TrainRequest& request, const DistEnv& env, const std::filesystem::path& checkpoint) {
    std::string command = "hy3 train " + request.project;
    if (env.worldSize > 1)
        command = (env.localWorldSize == env.worldSize ? "hy3 launch --nproc-per-node " + std::to_string(env.worldSize) + " -- "
                                                       : std::string("(on every rank) ")) + "train " + request.project;
    if (!request.output.empty()) command += " --output " + request.output;
    for (const std::string& o : request.overrides) command += " --set " + o;
    return command + " --resume " + checkpoint.string();
}

std::string launchHint(int64_t ranks) {
    const std::string n = std::to_string(ranks);
    return "(start " + n + " ranks with: hy3 launch --nproc-per-node " + n + " -- COMMAND)";
}

}  // namespace hy3

#pragma once
// The commands a training job tells its user to run next, written in one place: how to resume a
// run that stopped or failed, and how to start the ranks a layout needs.
#include "dist/env.h"

#include <filesystem>
#include <string>
#include <vector>

namespace hy3 {

struct TrainRequest;

// The command that resumes `request` from `checkpoint`: `hy3 launch` on one node with several
// ranks, the same command on every rank elsewhere.
std::string resumeCommand(const TrainRequest& request, const DistEnv& env, const std::filesystem::path& checkpoint);

// "(start N ranks with: hy3 launch --nproc-per-node N -- COMMAND)"
std::string launchHint(int64_t ranks);

// The arguments of `hy3` that run `project`'s training on `ranks` local ranks (hy3 launch when
// more than one), its events on stdout; `resumeFrom` a checkpoint or empty.
std::vector<std::string> trainArguments(const std::string& project, int64_t ranks, const std::string& resumeFrom, bool weightsOnly);

// The terminal commands that start `project` on `nodes` x `perNode` devices: hy3 train, hy3 launch
// on one or every node, and srun on Slurm (`cuda`: one GPU per task). `project` is shell-quoted here.
std::vector<std::string> launchCommands(const std::string& project, int nodes, int perNode, bool cuda);

}  // namespace hy3

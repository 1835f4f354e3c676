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

}  // namespace hy3

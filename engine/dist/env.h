#pragma once
// Where a process sits in a distributed job, from the environment its launcher set: torchrun's
// variables (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE), `hy3
// launch` sets the same, or Slurm's (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID,
// SLURM_NTASKS_PER_NODE, the first host of SLURM_JOB_NODELIST; MASTER_PORT or a default port).
// No torch here.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace hy3 {

struct DistEnv {
    int rank = 0, worldSize = 1;
    int localRank = 0, localWorldSize = 1;
    std::string masterAddr = "127.0.0.1";
    int masterPort = 29500;
    std::string source = "single process";  // "torchrun", "slurm" or "single process"
    bool distributed() const { return worldSize > 1; }
};

// Reads the variables through `get` (getenv by default). Throws hy3::Error naming the variable for
// a malformed or inconsistent value (RANK outside WORLD_SIZE, a port out of range, ...).
DistEnv readDistEnv(const std::function<std::optional<std::string>(const std::string&)>& get = {});

// The first host of a Slurm node list: "gpu[003-006,9],cpu1" -> "gpu003".
std::string firstSlurmHost(const std::string& nodeList);

}  // namespace hy3

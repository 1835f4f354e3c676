#include "dist/env.h"

#include "util/error.h"

#include <cstdlib>

namespace hy3 {

namespace {

int parseInt(const std::string& name, const std::string& text, int lo, int hi) {
    size_t used = 0;
    long value = 0;
    try {
        value = std::stol(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size()) fail(name, "expected a whole number, got \"" + text + "\"");
    if (value < lo || value > hi) fail(name, std::to_string(value) + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return static_cast<int>(value);
}

}  // namespace

std::string firstSlurmHost(const std::string& list) {
    // The first entry ends at a comma outside brackets.
    size_t end = 0;
    int depth = 0;
    for (; end < list.size(); ++end) {
        if (list[end] == '[') ++depth;
        else if (list[end] == ']') --depth;
        else if (list[end] == ',' && depth == 0) break;
    }
    const std::string entry = list.substr(0, end);
    const size_t open = entry.find('[');
    if (open == std::string::npos) return entry;
    const size_t close = entry.find(']', open);
    if (close == std::string::npos) fail("SLURM_JOB_NODELIST", "unclosed [ in \"" + list + "\"");
    const std::string ranges = entry.substr(open + 1, close - open - 1);
    const std::string first = ranges.substr(0, ranges.find_first_of(",-"));
    return entry.substr(0, open) + first + entry.substr(close + 1);
}

DistEnv readDistEnv(const std::function<std::optional<std::string>(const std::string&)>& getIn) {
    auto get = getIn ? getIn : [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        return v ? std::optional<std::string>(v) : std::nullopt;
    };
    DistEnv env;
    auto number = [&](const std::string& name, int lo, int hi) { return parseInt(name, *get(name), lo, hi); };
    if (get("WORLD_SIZE") || get("RANK")) {
        if (!get("WORLD_SIZE") || !get("RANK")) fail(get("RANK") ? "WORLD_SIZE" : "RANK", "is missing (RANK and WORLD_SIZE go together)");
        env.source = "torchrun";
        env.worldSize = number("WORLD_SIZE", 1, 1 << 20);
        env.rank = number("RANK", 0, env.worldSize - 1);
        env.localRank = get("LOCAL_RANK") ? number("LOCAL_RANK", 0, env.worldSize - 1) : env.rank;
        env.localWorldSize = get("LOCAL_WORLD_SIZE") ? number("LOCAL_WORLD_SIZE", 1, env.worldSize) : env.worldSize;
        if (env.worldSize > 1 && !get("MASTER_ADDR")) fail("MASTER_ADDR", "is missing (the host of rank 0)");
        if (get("MASTER_ADDR")) env.masterAddr = *get("MASTER_ADDR");
    } else if (get("SLURM_PROCID") && get("SLURM_NTASKS")) {
        env.source = "slurm";
        env.worldSize = number("SLURM_NTASKS", 1, 1 << 20);
        env.rank = number("SLURM_PROCID", 0, env.worldSize - 1);
        env.localRank = get("SLURM_LOCALID") ? number("SLURM_LOCALID", 0, env.worldSize - 1) : 0;
        // SLURM_NTASKS_PER_NODE may read "4" or "4(x2)"; the count before the parenthesis is it.
        if (auto perNode = get("SLURM_NTASKS_PER_NODE")) env.localWorldSize = parseInt("SLURM_NTASKS_PER_NODE", perNode->substr(0, perNode->find('(')), 1, env.worldSize);
        if (get("MASTER_ADDR")) env.masterAddr = *get("MASTER_ADDR");
        else if (auto nodes = get("SLURM_JOB_NODELIST")) env.masterAddr = firstSlurmHost(*nodes);
        else if (env.worldSize > 1) fail("SLURM_JOB_NODELIST", "is missing (needed to find the host of rank 0; or set MASTER_ADDR)");
    } else {
        return env;  // one process
    }
    if (get("MASTER_PORT")) env.masterPort = number("MASTER_PORT", 1, 65535);
    if (env.localRank >= env.localWorldSize) fail("LOCAL_RANK", std::to_string(env.localRank) + " is not below LOCAL_WORLD_SIZE " + std::to_string(env.localWorldSize));
    return env;
}

}  // namespace hy3

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

std::vector<std::string> trainArguments(const std::string& project, int64_t ranks, const std::string& resumeFrom, bool weightsOnly) {
    std::vector<std::string> args;
    if (ranks > 1) args = {"launch", "--nproc-per-node", std::to_string(ranks), "--"};
    args.emplace_back("train");
    args.insert(args.end(), {project, "--events", "jsonl"});
    if (!resumeFrom.empty()) args.insert(args.end(), {"--resume", resumeFrom});
    if (weightsOnly) args.emplace_back("--weights-only");
    return args;
}

namespace {

// Single quotes around anything a shell would split or expand.
std::string shellQuoted(const std::string& s) {
    const bool plain = !s.empty() && s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./=:+-") == std::string::npos;
    if (plain) return s;
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

}  // namespace

std::vector<std::string> launchCommands(const std::string& projectPath, int nodes, int perNode, bool cuda) {
    const std::string project = shellQuoted(projectPath);
    std::vector<std::string> lines;
    if (nodes == 1 && perNode == 1) {
        lines.push_back("hy3 train " + project);
    } else if (nodes == 1) {
        lines.push_back("hy3 launch --nproc-per-node " + std::to_string(perNode) + " -- train " + project);
    } else {
        lines.push_back("# on each node, R = 0 … " + std::to_string(nodes - 1) + "; NODE0 = the first node's host name");
        lines.push_back("hy3 launch --nnodes " + std::to_string(nodes) + " --node-rank $R --master NODE0:29500 --nproc-per-node " +
                        std::to_string(perNode) + " -- train " + project);
    }
    lines.push_back("# Slurm: one task per device");
    lines.push_back("srun --nodes " + std::to_string(nodes) + " --ntasks-per-node " + std::to_string(perNode) + (cuda ? " --gpus-per-task 1" : "") +
                    " hy3 train " + project);
    return lines;
}

std::string launchHint(int64_t ranks) {
    const std::string n = std::to_string(ranks);
    return "(start " + n + " ranks with: hy3 launch --nproc-per-node " + n + " -- COMMAND)";
}

}  // namespace hy3

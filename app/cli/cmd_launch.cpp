#include "api/launch_tools.h"
#include "cli/commands.h"

#include <iostream>

namespace hy3::cli {

void addLaunchCommand(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("launch", "start the ranks of one node: hy3 launch --nproc-per-node N -- train PROJECT ...");
    auto req = std::make_shared<LaunchRequest>();
    cmd->add_option("--nproc-per-node", req->procsPerNode, "ranks on this node")->required();
    cmd->add_option("--nnodes", req->nodes, "nodes in the job")->capture_default_str();
    cmd->add_option("--node-rank", req->nodeRank, "this node's index")->capture_default_str();
    cmd->add_option("--master", req->master, "ADDR:PORT of node 0's rendezvous (default: this machine, a free port)");
    cmd->add_option("--grace", req->graceSeconds, "seconds the other ranks get to stop after one fails")->capture_default_str();
    cmd->add_option("command", req->command, "the hy3 command each rank runs, after --")->required();
    cmd->callback([&action, req] {
        action = [req] { return launchRanks(*req, std::cout, std::cerr); };
    });
}

}  // namespace hy3::cli

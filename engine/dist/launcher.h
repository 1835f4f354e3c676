#pragma once
// `hy3 launch`: starts the ranks of one node as child processes of the same program with the
// torchrun variables set, prefixes their output with the rank (rank 0's stdout, the event stream,
// passes through untouched), forwards SIGINT/SIGTERM so a stop saves a checkpoint, and when a rank
// fails stops the others and exits with that rank's status. No torch here.
#include <iosfwd>
#include <string>
#include <vector>

namespace hy3 {

struct LaunchRequest {
    int procsPerNode = 1;
    int nodes = 1;
    int nodeRank = 0;
    std::string master;                 // ADDR:PORT; default 127.0.0.1 and a free port (one node only)
    std::vector<std::string> command;   // the hy3 subcommand and its arguments
    int graceSeconds = 30;              // after a failure, how long the others get to stop before SIGKILL
};

// Runs the ranks to the end; returns the exit status for the launcher: 0 when every rank
// succeeded, else the first failing rank's status (128 + signal when it was killed).
int launchRanks(const LaunchRequest& request, std::ostream& out, std::ostream& err);

// A TCP port nobody listens on right now (asks the kernel for one).
int freePort();

}  // namespace hy3

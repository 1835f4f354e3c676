#include "job/stop_signal.h"

#include <atomic>
#include <csignal>
#include <unistd.h>

namespace hy3 {
namespace {

std::atomic<bool> gStop{false};
std::atomic<int> gSignals{0};

extern "C" void onStopSignal(int) {
    if (gSignals.fetch_add(1) >= 1) _exit(130);
    gStop = true;
}

}  // namespace

void installStopSignalHandlers() {
    struct sigaction action {};
    action.sa_handler = onStopSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

bool stopRequested() { return gStop.load(); }

void requestStop() { gStop = true; }

void resetStopRequest() {
    gStop = false;
    gSignals = 0;
}

}  // namespace hy3

#include "dist/launcher.h"

#include "util/error.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <ostream>

namespace hy3 {

namespace {

std::atomic<int> gForwardSignal{0};
extern "C" void rememberSignal(int sig) { gForwardSignal = sig; }

struct Child {
    int rank = 0;
    pid_t pid = -1;
    int outFd = -1, errFd = -1;
    std::string outPending, errPending;  // a partial last line
    bool running = true;
    int status = 0;
};

// Writes complete lines from `pending` + `data`, prefixed unless `raw`.
void emitLines(std::string& pending, const char* data, size_t size, const std::string& prefix, bool raw, std::ostream& to) {
    pending.append(data, size);
    size_t start = 0, end;
    while ((end = pending.find('\n', start)) != std::string::npos) {
        to << (raw ? "" : prefix) << pending.substr(start, end - start + 1);
        start = end + 1;
    }
    pending.erase(0, start);
    to.flush();
}

std::pair<std::string, int> splitMaster(const std::string& master) {
    const size_t colon = master.rfind(':');
    if (colon == std::string::npos || colon == 0) fail("--master", "expected ADDR:PORT, got \"" + master + "\"");
    int port = 0;
    try {
        port = std::stoi(master.substr(colon + 1));
    } catch (const std::exception&) {
        port = 0;
    }
    if (port < 1 || port > 65535) fail("--master", "port must be 1..65535 in \"" + master + "\"");
    return {master.substr(0, colon), port};
}

int exitStatusOf(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

std::string describeStatus(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
}

}  // namespace

int freePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) fail("launch", "cannot open a socket to find a free port");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        ::close(fd);
        fail("launch", "cannot find a free port");
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

int launchRanks(const LaunchRequest& r, std::ostream& out, std::ostream& err) {
    if (r.procsPerNode < 1) fail("--nproc-per-node", "must be at least 1");
    if (r.nodes < 1 || r.nodeRank < 0 || r.nodeRank >= r.nodes) fail("--node-rank", "must be in [0, --nnodes)");
    if (r.command.empty()) fail("launch", "no command to run (hy3 launch --nproc-per-node N -- train PROJECT)");
    if (r.nodes > 1 && r.master.empty()) fail("--master", "several nodes need the address of node 0 (ADDR:PORT)");
    const auto [addr, port] = r.master.empty() ? std::pair<std::string, int>{"127.0.0.1", freePort()} : splitMaster(r.master);
    const int world = r.procsPerNode * r.nodes;

    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) fail("launch", "cannot find this program's path");
    self[n] = '\0';

    // Signals reach the launcher; it passes them on to every rank.
    struct sigaction action {};
    action.sa_handler = rememberSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);

    std::vector<Child> children;
    for (int local = 0; local < r.procsPerNode; ++local) {
        Child c;
        c.rank = r.nodeRank * r.procsPerNode + local;
        int outPipe[2], errPipe[2];
        if (::pipe(outPipe) != 0 || ::pipe(errPipe) != 0) fail("launch", "cannot create pipes");
        c.pid = ::fork();
        if (c.pid < 0) fail("launch", "cannot start rank " + std::to_string(c.rank));
        if (c.pid == 0) {
            ::dup2(outPipe[1], STDOUT_FILENO);
            ::dup2(errPipe[1], STDERR_FILENO);
            ::close(outPipe[0]), ::close(outPipe[1]), ::close(errPipe[0]), ::close(errPipe[1]);
            ::setenv("MASTER_ADDR", addr.c_str(), 1);
            ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
            ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
            ::setenv("RANK", std::to_string(c.rank).c_str(), 1);
            ::setenv("LOCAL_RANK", std::to_string(local).c_str(), 1);
            ::setenv("LOCAL_WORLD_SIZE", std::to_string(r.procsPerNode).c_str(), 1);
            std::vector<char*> argv{self};
            for (const std::string& a : r.command) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            ::execv(self, argv.data());
            _exit(127);
        }
        ::close(outPipe[1]), ::close(errPipe[1]);
        c.outFd = outPipe[0];
        c.errFd = errPipe[0];
        children.push_back(std::move(c));
    }
    err << "launch: " << r.procsPerNode << " rank(s) on this node, " << world << " in all, rendezvous at " << addr << ":" << port << std::endl;

    int firstFailure = 0;
    bool stopping = false;
    auto killDeadline = std::chrono::steady_clock::time_point::max();
    auto signalAll = [&](int sig) {
        for (Child& c : children)
            if (c.running) ::kill(c.pid, sig);
    };
    char buffer[65536];
    for (;;) {
        if (const int sig = gForwardSignal.exchange(0)) signalAll(sig);
        std::vector<pollfd> fds;
        for (const Child& c : children) {
            if (c.outFd >= 0) fds.push_back({c.outFd, POLLIN, 0});
            if (c.errFd >= 0) fds.push_back({c.errFd, POLLIN, 0});
        }
        if (fds.empty()) break;
        ::poll(fds.data(), fds.size(), 200);
        for (Child& c : children) {
            const std::string prefix = "[rank " + std::to_string(c.rank) + "] ";
            for (int* fd : {&c.outFd, &c.errFd}) {
                if (*fd < 0) continue;
                pollfd p{*fd, POLLIN, 0};
                if (::poll(&p, 1, 0) <= 0) continue;
                const ssize_t got = ::read(*fd, buffer, sizeof buffer);
                const bool isOut = fd == &c.outFd;
                if (got > 0) {
                    emitLines(isOut ? c.outPending : c.errPending, buffer, static_cast<size_t>(got), prefix, isOut && c.rank == 0,
                              isOut ? out : err);
                } else {
                    ::close(*fd);
                    *fd = -1;
                }
            }
        }
        // Reap ranks that ended; the first failure stops the rest.
        for (Child& c : children) {
            if (!c.running) continue;
            int status = 0;
            if (::waitpid(c.pid, &status, WNOHANG) != c.pid) continue;
            c.running = false;
            c.status = status;
            if (exitStatusOf(status) != 0 && firstFailure == 0) {
                firstFailure = exitStatusOf(status);
                err << "launch: rank " << c.rank << " " << describeStatus(status) << "; stopping the other ranks" << std::endl;
                stopping = true;
                signalAll(SIGTERM);
                killDeadline = std::chrono::steady_clock::now() + std::chrono::seconds(r.graceSeconds);
            }
        }
        if (stopping && std::chrono::steady_clock::now() > killDeadline) {
            signalAll(SIGKILL);
            killDeadline = std::chrono::steady_clock::time_point::max();
        }
    }
    for (Child& c : children)
        if (c.running) {
            ::waitpid(c.pid, &c.status, 0);
            c.running = false;
            if (exitStatusOf(c.status) != 0 && firstFailure == 0) firstFailure = exitStatusOf(c.status);
        }
    return firstFailure;
}

}  // namespace hy3

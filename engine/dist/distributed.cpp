#include "dist/distributed.h"

#include "build_config.h"
#include "dist/comm_impl.h"
#include "util/error.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef HY3_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>

namespace hy3 {

namespace {

std::string bytesToString(const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }
std::vector<uint8_t> stringToBytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

c10::intrusive_ptr<c10d::TCPStore> connectStore(const DistEnv& env, bool server, std::chrono::milliseconds timeout) {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(env.masterPort);
    options.isServer = server;
    options.waitWorkers = false;  // joining is counted below, the same way for every connection
    options.timeout = timeout;
    return c10::make_intrusive<c10d::TCPStore>(env.masterAddr, options);
}

// Every rank checks in and waits until all have; returns how many made it.
int64_t waitForEveryRank(c10d::Store& store, int worldSize, std::chrono::milliseconds timeout) {
    int64_t joined = store.add("joined", 1);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (joined < worldSize && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        joined = store.add("joined", 0);
    }
    return joined;
}

std::shared_ptr<::gloo::transport::Device> glooDevice() {
    // GLOO_SOCKET_IFNAME picks the network interface, as in PyTorch; else the host name's address.
    if (const char* name = std::getenv("GLOO_SOCKET_IFNAME")) return c10d::ProcessGroupGloo::createDeviceForInterface(name);
    return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

struct Distributed::State {
    c10::intrusive_ptr<c10d::Store> store;
    std::thread watchdog;
    std::atomic<bool> stopping{false};
    std::atomic<bool> reportedHere{false};  // this rank wrote the abort message itself
    bool abandoned = false;
    std::mutex mutex;
    std::function<void(const std::string&)> onAbort;
};

Distributed::Distributed(const DistEnv& env, const Mesh& mesh, const DistTimeouts& timeouts, bool cuda)
    : env_(env), mesh_(mesh), position_(mesh.position(env.rank)), timeouts_(timeouts), state_(std::make_unique<State>()) {
    if (env.worldSize == 1) return;
    const std::string where = "rendezvous at " + env.masterAddr + ":" + std::to_string(env.masterPort);
    int64_t joined = 0;
    try {
        state_->store = connectStore(env, env.rank == 0, timeouts.rendezvous);
        joined = waitForEveryRank(*state_->store, env.worldSize, timeouts.rendezvous);
    } catch (const std::exception& e) {
        const std::string message = e.what();
        fail(where, "cannot reach rank 0's store within " + std::to_string(timeouts.rendezvous.count()) + " s (this is rank " +
                        std::to_string(env.rank) + " of " + std::to_string(env.worldSize) + "): " + message.substr(0, message.find('\n')));
    }
    if (joined < env.worldSize)
        fail(where, "only " + std::to_string(joined) + " of " + std::to_string(env.worldSize) + " ranks joined within " +
                        std::to_string(timeouts.rendezvous.count()) + " s");
    state_->store->setTimeout(timeouts.collective);

    // The Gloo side group exists with NCCL; HY3_TEST_GLOO_SIDE_GROUP=1 makes it on CPU ranks too, so
    // the CPU tests prove that it forms and carries every host exchange (the main groups are then
    // left with nothing on the host to carry).
    const bool sideGroup = cuda || std::getenv("HY3_TEST_GLOO_SIDE_GROUP") != nullptr;
    auto makeGroup = [&](const std::string& kind, const std::vector<int>& members) {
        const int index = static_cast<int>(std::find(members.begin(), members.end(), env.rank) - members.begin());
        if (members.size() == 1) return Comm(kind, members, 0, nullptr);
        // Each group rendezvouses under its own key prefix, named by its first member.
        auto prefixed = c10::make_intrusive<c10d::PrefixStore>("group/" + kind + "/" + std::to_string(members.front()), state_->store);
        auto impl = std::make_shared<Comm::Impl>();
        const int size = static_cast<int>(members.size());
        auto makeGloo = [&](const c10::intrusive_ptr<c10d::Store>& store) {
            auto options = c10d::ProcessGroupGloo::Options::create(timeouts.collective);
            options->devices.push_back(glooDevice());
            return c10::make_intrusive<c10d::ProcessGroupGloo>(store, index, size, options);
        };
        try {
#ifdef HY3_WITH_NCCL
            if (cuda) {
                auto options = c10d::ProcessGroupNCCL::Options::create();
                options->timeout = timeouts.collective;  // distributed.timeout_s bounds NCCL's watchdog too
                impl->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, index, size, options);
            }
#endif
            if (!impl->backend) {
                if (cuda) fail("process groups", "this build has no NCCL; CUDA training needs a LibTorch with NCCL");
                impl->backend = makeGloo(prefixed);
            }
            if (sideGroup) impl->host = makeGloo(c10::make_intrusive<c10d::PrefixStore>("host", prefixed));
        } catch (const Error&) {
            throw;
        } catch (const std::exception& e) {
            const std::string message = e.what();
            fail("process group " + kind, "cannot connect: " + message.substr(0, message.find('\n')));
        }
        return Comm(kind, members, index, impl);
    };
    std::vector<int> everyone(static_cast<size_t>(env.worldSize));
    for (int r = 0; r < env.worldSize; ++r) everyone[static_cast<size_t>(r)] = r;
    world_ = makeGroup("world", everyone);
    dp_ = makeGroup("dp", mesh.dataParallelGroup(env.rank));
    ep_ = makeGroup("ep", mesh.expertParallelGroup(env.rank));
    edp_ = makeGroup("edp", mesh.expertDataGroup(env.rank));
    state_->watchdog = std::thread([this] { watch(); });
}

void Distributed::abandon() { state_->abandoned = true; }

Distributed::~Distributed() {
    if (env_.worldSize == 1) return;
    if (state_->abandoned) {
        state_->stopping = true;
        if (state_->watchdog.joinable()) state_->watchdog.join();
        return;
    }
    // Finish together: nobody's watchdog may see a rank that is simply done as gone, and rank 0
    // (which serves the store) leaves last.
    try {
        state_->store->set("finished/" + std::to_string(env_.rank), stringToBytes("1"));
        world_.waitSends();
        world_.barrier();
        state_->stopping = true;
        if (state_->watchdog.joinable()) state_->watchdog.join();
        world_.barrier();
    } catch (const std::exception&) {
        state_->stopping = true;
        if (state_->watchdog.joinable()) state_->watchdog.join();
    }
}

void Distributed::onAbort(std::function<void(const std::string&)> callback) {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->onAbort = std::move(callback);
}

void Distributed::reportFailure(const std::string& message) {
    if (env_.worldSize == 1) return;
    state_->reportedHere = true;
    try {
        state_->store->compareSet("abort", {}, stringToBytes("rank " + std::to_string(env_.rank) + " failed: " + message));
    } catch (const std::exception&) {
        // The store is gone too; the others notice that on their own.
    }
}

std::string Distributed::explainFailure(const std::string& what) {
    if (env_.worldSize == 1) return what;
    // The watchdog ends the process with the precise message once it knows it.
    std::this_thread::sleep_for(timeouts_.heartbeat + std::chrono::seconds(3));
    return what;
}

void Distributed::watch() {
    const std::string me = std::to_string(env_.rank);
    const int next = (env_.rank + 1) % env_.worldSize;
    const std::string nextKey = "hb/" + std::to_string(next);
    // The watchdog has its own connection: the main thread may be blocked inside the store.
    c10::intrusive_ptr<c10d::TCPStore> store;
    try {
        store = connectStore(env_, false, timeouts_.heartbeat);
    } catch (const std::exception&) {
        return;
    }
    auto leave = [&](const std::string& message) {
        {
            std::lock_guard<std::mutex> lock(state_->mutex);
            if (state_->onAbort) state_->onAbort(message);
        }
        std::cerr << "error: " << message << std::endl;
        _exit(1);
    };
    std::string lastSeen;
    auto lastChange = std::chrono::steady_clock::now();
    const auto interval = std::min<std::chrono::milliseconds>(std::chrono::milliseconds(1000), timeouts_.heartbeat / 5);
    for (int64_t beat = 0; !state_->stopping; ++beat) {
        try {
            store->set("hb/" + me, stringToBytes(std::to_string(beat)));
            if (!state_->reportedHere && store->check({"abort"})) leave(bytesToString(store->get("abort")));
            if (!store->check({"finished/" + std::to_string(next)}) && store->check({nextKey})) {
                const std::string seen = bytesToString(store->get(nextKey));
                const auto now = std::chrono::steady_clock::now();
                if (seen != lastSeen) lastSeen = seen, lastChange = now;
                else if (now - lastChange > timeouts_.heartbeat) {
                    const std::string message = "rank " + std::to_string(next) + " stopped responding (no heartbeat for " +
                                                std::to_string(timeouts_.heartbeat.count()) + " s)";
                    store->compareSet("abort", {}, stringToBytes(message));
                    leave(bytesToString(store->get("abort")));
                }
            }
        } catch (const std::exception&) {
            if (state_->stopping) return;
            leave("rank 0 stopped responding (its rendezvous store at " + env_.masterAddr + ":" + std::to_string(env_.masterPort) + " is gone)");
        }
        std::this_thread::sleep_for(interval);
    }
}

}  // namespace hy3

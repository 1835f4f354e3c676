#pragma once
// The distributed job as one process sees it: the rendezvous (a TCPStore served by rank 0), the
// process groups of the layout's mesh, and a watchdog. Every rank publishes a heartbeat; each
// watches the next rank's, and a rank that stops (killed, hung, crashed) or reports a failure
// makes every other rank exit with an error naming it, instead of waiting forever in a collective.
#include "dist/comm.h"
#include "dist/env.h"
#include "dist/mesh.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace hy3 {

struct DistTimeouts {
    std::chrono::seconds rendezvous{300};  // waiting for every rank to join
    std::chrono::seconds collective{600};  // one collective operation
    std::chrono::seconds heartbeat{30};    // a rank silent this long counts as gone
};

class Distributed {
public:
    // Joins the job (a no-op for one process) and builds the groups of `rank`.
    Distributed(const DistEnv& env, const Mesh& mesh, const DistTimeouts& timeouts, bool cuda);
    ~Distributed();

    const DistEnv& env() const { return env_; }
    const Mesh& mesh() const { return mesh_; }
    const MeshPosition& position() const { return position_; }
    int rank() const { return env_.rank; }
    int worldSize() const { return env_.worldSize; }
    bool firstStage() const { return position_.stage == 0; }
    bool lastStage() const { return position_.stage + 1 == mesh_.layout().pp; }

    Comm& world() { return world_; }
    Comm& dataParallel() { return dp_; }
    Comm& expertParallel() { return ep_; }
    Comm& expertData() { return edp_; }

    // Called (on the watchdog's thread) just before the process exits because another rank
    // failed, with the message naming it; rank 0 uses it to record the error in the run store.
    void onAbort(std::function<void(const std::string&)> callback);
    // Tells every rank that this one failed (they exit naming it). Returns at once.
    void reportFailure(const std::string& message);
    // After a failure: the end of the job skips its final barriers (the others may be gone).
    void abandon();
    // After a collective threw: waits up to the heartbeat timeout for the watchdog to learn which
    // rank is at fault and returns that message (or `what` when nobody is).
    std::string explainFailure(const std::string& what);

private:
    void watch();

    DistEnv env_;
    Mesh mesh_;
    MeshPosition position_;
    DistTimeouts timeouts_;
    Comm world_, dp_, ep_, edp_;
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace hy3

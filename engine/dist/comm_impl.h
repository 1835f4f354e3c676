#pragma once
// The c10d side of a Comm; only engine/dist includes it.
#include "dist/comm.h"

#include <torch/csrc/distributed/c10d/Backend.hpp>

#include <map>

namespace hy3 {

struct Comm::Impl {
    c10::intrusive_ptr<c10d::Backend> backend;  // ProcessGroupGloo or ProcessGroupNCCL
    // With NCCL: a Gloo group over the same ranks for host values (strings, counts, figures) and
    // the barrier, which NCCL cannot carry without a device copy. Null with Gloo.
    c10::intrusive_ptr<c10d::Backend> host;
    // The group that carries `t`: host tensors go through Gloo.
    c10d::Backend& backendFor(const torch::Tensor& t) const { return t.is_cpu() && host ? *host : *backend; }
    bool glooCarries(const torch::Tensor& t) const { return t.is_cpu() || !host; }
    struct PendingSend {
        c10::intrusive_ptr<c10d::Work> work;
        torch::Tensor keepAlive;  // the buffer must live until the send completes
    };
    std::vector<PendingSend> pendingSends;
};

}  // namespace hy3

#pragma once
// The c10d side of a Comm; only engine/dist includes it.
#include "dist/comm.h"

#include <torch/csrc/distributed/c10d/Backend.hpp>

#include <map>

namespace hy3 {

struct Comm::Impl {
    c10::intrusive_ptr<c10d::Backend> backend;  // ProcessGroupGloo or ProcessGroupNCCL
    struct PendingSend {
        c10::intrusive_ptr<c10d::Work> work;
        torch::Tensor keepAlive;  // the buffer must live until the send completes
    };
    std::vector<PendingSend> pendingSends;
};

}  // namespace hy3

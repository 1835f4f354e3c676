#pragma once
// The c10d side of a Comm; only engine/dist includes it.
#include "compat/torch_compat.h"
#include "dist/comm.h"

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>

#include <map>

namespace hy3 {

struct Comm::Impl {
    c10::intrusive_ptr<HY3_C10D_BACKEND> backend;
    struct PendingSend {
        c10::intrusive_ptr<c10d::Work> work;
        torch::Tensor keepAlive;  // the buffer must live until the send completes
    };
    std::vector<PendingSend> pendingSends;
};

}  // namespace hy3

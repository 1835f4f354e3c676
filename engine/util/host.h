#pragma once
// This machine's host name, as a run records it and a follower compares it (a run written on
// another machine is followed through its events file). No torch.
#include <unistd.h>

#include <string>

namespace hy3 {

inline std::string hostName() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) return {};
    return name;
}

}  // namespace hy3

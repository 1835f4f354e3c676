#pragma once
// The one writer of a run directory: rank 0 of `hy3 train` holds an flock on RUN/.writer.lock for
// as long as it runs, so a second `hy3 train --run-name SAME` is refused instead of training into
// the same files. The kernel releases the lock when the holder ends, however it ends (kill -9
// included), so a stale lock file never blocks a later run. No torch, no Qt.
#include <filesystem>

namespace hy3 {

class RunLock {
public:
    // Throws hy3::Error naming the run directory and the holder's pid when another process holds it.
    static RunLock acquire(const std::filesystem::path& runDir);
    RunLock(RunLock&& other) noexcept;
    RunLock& operator=(RunLock&& other) noexcept;
    RunLock(const RunLock&) = delete;
    RunLock& operator=(const RunLock&) = delete;
    ~RunLock();

    static constexpr const char* kFile = ".writer.lock";

private:
    explicit RunLock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace hy3

#include "store/run_lock.h"

#include "util/error.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace hy3 {
namespace fs = std::filesystem;

RunLock RunLock::acquire(const fs::path& runDir) {
    const fs::path file = runDir / kFile;
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) fail(file.string(), std::string("cannot open: ") + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int why = errno;
        char pid[32] = {};
        const ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
        ::close(fd);
        if (why != EWOULDBLOCK) fail(file.string(), std::string("cannot lock: ") + std::strerror(why));
        const std::string holder = n > 0 ? " (pid " + std::string(pid, static_cast<size_t>(n)) + ")" : "";
        fail(runDir.string(), "another hy3 train" + holder + " is writing this run; wait for it to end, or start with another --run-name");
    }
    // The holder's pid, for the message above (the lock itself is what counts).
    const std::string self = std::to_string(::getpid());
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, self.data(), self.size(), 0) != static_cast<ssize_t>(self.size())) {
        // Only the message loses its pid; the lock holds.
    }
    return RunLock(fd);
}

RunLock::RunLock(RunLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

RunLock& RunLock::operator=(RunLock&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

RunLock::~RunLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace hy3

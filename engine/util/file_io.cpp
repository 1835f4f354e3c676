#include "util/file_io.h"

#include "util/atomic_file.h"
#include "util/error.h"
#include "util/sha256.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace hy3 {
namespace fs = std::filesystem;

std::string copyFileDurably(const fs::path& from, const fs::path& to) {
    const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) fail(from.string(), std::string("cannot open: ") + std::strerror(errno));
    const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        ::close(in);
        fail(to.string(), std::string("cannot create: ") + std::strerror(errno));
    }
    Sha256 hash;
    std::vector<char> buffer(1 << 20);
    bool ok = true;
    while (ok) {
        const ssize_t n = ::read(in, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ok = n == 0;
            break;
        }
        hash.update(buffer.data(), static_cast<size_t>(n));
        for (ssize_t done = 0; done < n;) {
            const ssize_t w = ::write(out, buffer.data() + done, static_cast<size_t>(n - done));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                ok = false;
                break;
            }
            done += w;
        }
    }
    ok = ok && ::fsync(out) == 0;
    ::close(in);
    ::close(out);
    if (!ok) fail(to.string(), std::string("copy from ") + from.string() + " failed: " + std::strerror(errno));
    return hash.hex();
}

uint64_t treeBytes(const fs::path& dir) {
    uint64_t total = 0;
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(dir, ec))
        if (entry.is_regular_file(ec)) total += entry.file_size(ec);
    return total;
}

void syncTree(const fs::path& dir) {
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(dir, ec))
        if (entry.is_directory(ec)) syncDirectory(entry.path());
    syncDirectory(dir);
}

}  // namespace hy3

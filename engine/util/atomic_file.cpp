#include "util/atomic_file.h"

#include "util/error.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace hy3 {
namespace {

std::string errnoText() { return std::strerror(errno); }

void writeAll(int fd, const std::string& data, const std::filesystem::path& path) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(path.string(), "write failed: " + errnoText());
        }
        done += static_cast<size_t>(n);
    }
}

std::filesystem::path temporaryNameFor(const std::filesystem::path& path) {
    std::random_device rd;
    std::ostringstream name;
    name << "." << path.filename().string() << ".tmp-" << ::getpid() << "-" << std::hex << rd();
    return path.parent_path() / name.str();
}

}  // namespace

void syncDirectory(const std::filesystem::path& dir) {
    int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail(dir.string(), "cannot open directory to sync: " + errnoText());
    ::fsync(fd);
    ::close(fd);
}

void writeFileAtomic(const std::filesystem::path& path, const std::string& contents) {
    std::error_code ec;
    const std::filesystem::path parent = path.parent_path().empty() ? "." : path.parent_path();
    if (!std::filesystem::is_directory(parent, ec)) fail(path.string(), "folder " + parent.string() + " does not exist");
    const std::filesystem::path tmp = temporaryNameFor(path);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) fail(path.string(), "cannot create temporary file: " + errnoText());
    try {
        writeAll(fd, contents, tmp);
        if (::fsync(fd) != 0) fail(tmp.string(), "fsync failed: " + errnoText());
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string reason = errnoText();
        ::unlink(tmp.c_str());
        fail(path.string(), "rename failed: " + reason);
    }
    syncDirectory(path.parent_path());
}

std::string readTextFile(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) fail(path.string(), "file not found");
    if (std::filesystem::is_directory(path, ec)) fail(path.string(), "is a directory, expected a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path.string(), "cannot open: " + errnoText());
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

}  // namespace hy3

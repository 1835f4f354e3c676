#include "util/atomic_file.h"

#include "util/error.h"
#include "util/format.h"

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

std::string readTextFile(const std::filesystem::path& path, uint64_t maxBytes) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) fail(path.string(), "file not found");
    if (std::filesystem::is_directory(path, ec)) fail(path.string(), "is a directory, expected a file");
    const auto tooLarge = [&] { fail(path.string(), "larger than " + shortBytes(static_cast<double>(maxBytes)) + ", the most this engine reads for such a file"); };
    if (std::filesystem::is_regular_file(path, ec) && std::filesystem::file_size(path, ec) > maxBytes) tooLarge();
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path.string(), "cannot open: " + errnoText());
    // Read in pieces up to the bound: a pipe or a file that grows has no size to check first.
    std::string text;
    char piece[1 << 16];
    while (in.read(piece, sizeof piece) || in.gcount() > 0) {
        text.append(piece, static_cast<size_t>(in.gcount()));
        if (text.size() > maxBytes) tooLarge();
    }
    if (in.bad()) fail(path.string(), "read failed: " + errnoText());
    return text;
}

bool readLine(std::istream& in, std::string& line, const std::string& file, int64_t lineNumber, size_t maxBytes) {
    line.clear();
    std::streambuf* buffer = in.rdbuf();
    if (!in.good() || !buffer) {
        in.setstate(std::ios::failbit);
        return false;
    }
    for (size_t extracted = 0;; ++extracted) {
        const int c = buffer->sbumpc();
        if (c == std::char_traits<char>::eof()) {
            in.setstate(extracted == 0 ? std::ios::eofbit | std::ios::failbit : std::ios::eofbit);
            return extracted > 0;
        }
        if (c == '\n') return true;
        if (line.size() == maxBytes)
            fail(file + ":" + std::to_string(lineNumber), "line longer than " + shortBytes(static_cast<double>(maxBytes)) + ", the most one record may have");
        line.push_back(static_cast<char>(c));
    }
}

}  // namespace hy3

#include "checkpoint/safetensors.h"

#include "util/atomic_file.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace hy3 {
namespace {

struct DTypeEntry {
    DType dtype;
    const char* name;
    size_t size;
};

constexpr DTypeEntry kDTypes[] = {
    {DType::F64, "F64", 8}, {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8}, {DType::I32, "I32", 4}, {DType::I16, "I16", 2}, {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},   {DType::Bool, "BOOL", 1},
};

// A header larger than this is not a model header but a corrupt length field.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

}  // namespace

const char* dtypeName(DType dtype) {
    for (const auto& e : kDTypes)
        if (e.dtype == dtype) return e.name;
    return "?";
}

size_t dtypeSize(DType dtype) {
    for (const auto& e : kDTypes)
        if (e.dtype == dtype) return e.size;
    return 0;
}

bool parseDType(const std::string& name, DType& out) {
    for (const auto& e : kDTypes)
        if (name == e.name) {
            out = e.dtype;
            return true;
        }
    return false;
}

int64_t TensorInfo::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& file) {
    std::shared_ptr<SafetensorsFile> st(new SafetensorsFile());
    st->path_ = file;
    const std::string name = file.string();
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(name, errno == ENOENT ? "file not found" : std::string("cannot open: ") + std::strerror(errno));
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        ::close(fd);
        fail(name, "not a regular file");
    }
    st->size_ = static_cast<uint64_t>(info.st_size);
    if (st->size_ < 8) {
        ::close(fd);
        fail(name, "truncated: " + std::to_string(st->size_) + " bytes, too short for a safetensors header");
    }
    void* map = ::mmap(nullptr, st->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        const int error = errno;
        ::close(fd);
        fail(name, std::string("cannot map: ") + std::strerror(error));
    }
    st->fd_ = fd;
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);  // loading reads the data section in order
    st->base_ = static_cast<const uint8_t*>(map);
    st->parseHeader();
    return st;
}

SafetensorsFile::~SafetensorsFile() {
    if (base_) ::munmap(const_cast<uint8_t*>(base_), size_);
    if (fd_ >= 0) ::close(fd_);
}

void SafetensorsFile::parseHeader() {
    const std::string file = path_.string();
    uint64_t headerBytes = 0;
    std::memcpy(&headerBytes, base_, 8);  // little-endian on every platform we build for
    if (headerBytes > size_ - 8)
        fail(file, "header length " + std::to_string(headerBytes) + " runs past the end of the file (" +
                       std::to_string(size_) + " bytes)");
    if (headerBytes > kMaxHeaderBytes) fail(file, "header length " + std::to_string(headerBytes) + " is implausibly large");
    dataOffset_ = 8 + headerBytes;
    const uint64_t dataBytes = size_ - dataOffset_;

    nlohmann::json header;
    try {
        header = nlohmann::json::parse(base_ + 8, base_ + 8 + headerBytes);
    } catch (const nlohmann::json::exception& e) {  // syntax, or a number too large for a double
        fail(file, std::string("header is not valid JSON (") + e.what() + ")");
    }
    if (!header.is_object()) fail(file, "header is not a JSON object");

    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& key = it.key();
        const auto& entry = it.value();
        if (key == "__metadata__") {
            if (!entry.is_object()) fail(file, "__metadata__ is not an object");
            for (auto m = entry.begin(); m != entry.end(); ++m)
                metadata_[m.key()] = m.value().is_string() ? m.value().get<std::string>() : m.value().dump();
            continue;
        }
        const std::string where = file + ": " + key;
        if (!entry.is_object()) fail(where, "entry is not an object");
        TensorInfo t;
        t.name = key;
        if (!entry.contains("dtype") || !entry["dtype"].is_string()) fail(where, "missing dtype");
        if (!parseDType(entry["dtype"].get<std::string>(), t.dtype))
            fail(where, "unknown dtype \"" + entry["dtype"].get<std::string>() + "\"");
        if (!entry.contains("shape") || !entry["shape"].is_array()) fail(where, "missing shape");
        uint64_t numel = 1;
        for (const auto& d : entry["shape"]) {
            if (!d.is_number_unsigned() && !(d.is_number_integer() && d.get<int64_t>() >= 0))
                fail(where, "shape " + entry["shape"].dump() + " has an invalid dimension");
            const uint64_t dim = d.get<uint64_t>();
            if (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / dim) fail(where, "shape overflows");
            numel *= dim;
            t.shape.push_back(static_cast<int64_t>(dim));
        }
        const auto& offsets = entry.contains("data_offsets") ? entry["data_offsets"] : nlohmann::json();
        if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
            fail(where, "data_offsets must be two non-negative integers");
        t.begin = offsets[0].get<uint64_t>();
        t.end = offsets[1].get<uint64_t>();
        if (t.begin > t.end) fail(where, "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "] are reversed");
        if (t.end > dataBytes)
            fail(where, "data_offsets end " + std::to_string(t.end) + " is past the end of the data (" +
                            std::to_string(dataBytes) + " bytes; file truncated?)");
        if (t.bytes() != numel * dtypeSize(t.dtype))
            fail(where, "holds " + std::to_string(t.bytes()) + " bytes but shape " + entry["shape"].dump() + " of " +
                            dtypeName(t.dtype) + " needs " + std::to_string(numel * dtypeSize(t.dtype)));
        tensors_.push_back(std::move(t));
    }
    std::sort(tensors_.begin(), tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    for (size_t i = 1; i < tensors_.size(); ++i) {
        const TensorInfo& prev = tensors_[i - 1];
        const TensorInfo& cur = tensors_[i];
        if (cur.begin < prev.end && cur.bytes() > 0 && prev.bytes() > 0)
            fail(file + ": " + cur.name, "data overlaps tensor " + prev.name);
    }
    for (size_t i = 0; i < tensors_.size(); ++i) byName_[tensors_[i].name] = i;
}

uint64_t SafetensorsFile::unindexedBytes() const {
    uint64_t covered = 0;
    for (const TensorInfo& t : tensors_) covered += t.bytes();
    return (size_ - dataOffset_) - covered;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
    auto it = byName_.find(name);
    return it == byName_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& SafetensorsFile::at(const std::string& name) const {
    const TensorInfo* t = find(name);
    if (!t) fail(path_.string() + ": " + name, "tensor not in this file");
    return *t;
}

void SafetensorsFile::release(const TensorInfo& tensor) const {
    static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t start = (dataOffset_ + tensor.begin + page - 1) / page * page;  // whole pages inside
    const uint64_t stop = (dataOffset_ + tensor.end) / page * page;
    if (stop > start) ::madvise(const_cast<uint8_t*>(base_) + start, stop - start, MADV_DONTNEED);
}

// Chunks of a few MB keep the kernel's read-ahead running ahead of the copy on a cold cache (one
// huge read waits for each read-ahead window in turn).
constexpr uint64_t kReadChunk = uint64_t(4) << 20;

void SafetensorsFile::readBytes(const TensorInfo& tensor, uint64_t offset, uint64_t bytes, void* destination) const {
    if (offset > tensor.bytes() || bytes > tensor.bytes() - offset)
        fail(path_.string() + ": " + tensor.name, "read of bytes [" + std::to_string(offset) + ", " + std::to_string(offset + bytes) +
                                                       ") outside the tensor's " + std::to_string(tensor.bytes()));
    auto* out = static_cast<uint8_t*>(destination);
    uint64_t at = dataOffset_ + tensor.begin + offset;
    while (bytes > 0) {
        const ssize_t n = ::pread(fd_, out, std::min<uint64_t>(bytes, kReadChunk), static_cast<off_t>(at));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail(path_.string() + ": " + tensor.name, n < 0 ? std::string("cannot read: ") + std::strerror(errno) : "file ended early");
        out += n, at += static_cast<uint64_t>(n), bytes -= static_cast<uint64_t>(n);
    }
}

// ---------------------------------------------------------------------------------------------

SafetensorsWriter::SafetensorsWriter(std::filesystem::path file, std::map<std::string, std::string> metadata)
    : path_(std::move(file)), metadata_(std::move(metadata)), hash_(std::make_unique<Sha256>()) {}

SafetensorsWriter::~SafetensorsWriter() {
    if (fd_ >= 0) ::close(fd_);
}

void SafetensorsWriter::declare(const std::string& name, DType dtype, const std::vector<int64_t>& shape) {
    if (fd_ >= 0) fail(path_.string() + ": " + name, "declared after writing began");
    TensorInfo t;
    t.name = name;
    t.dtype = dtype;
    t.shape = shape;
    t.begin = tensors_.empty() ? 0 : tensors_.back().end;
    t.end = t.begin + static_cast<uint64_t>(t.numel()) * dtypeSize(dtype);
    tensors_.push_back(std::move(t));
}

uint64_t SafetensorsWriter::totalBytes() const { return tensors_.empty() ? 0 : tensors_.back().end; }

namespace {
void writeAll(int fd, const void* data, size_t bytes, const std::string& file) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (bytes > 0) {
        ssize_t n = ::write(fd, p, bytes);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(file, std::string("write failed: ") + std::strerror(errno));
        }
        p += n;
        bytes -= static_cast<size_t>(n);
    }
}
}  // namespace

void SafetensorsWriter::begin() {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata_.empty()) header["__metadata__"] = metadata_;
    for (const TensorInfo& t : tensors_)
        header[t.name] = {{"dtype", dtypeName(t.dtype)}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}};
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail(path_.string(), std::string("cannot create: ") + std::strerror(errno));
    const uint64_t length = text.size();
    append(&length, 8);
    append(text.data(), text.size());
}

void SafetensorsWriter::append(const void* data, size_t bytes) {
    writeAll(fd_, data, bytes, path_.string());
    hash_->update(data, bytes);
}

void SafetensorsWriter::write(const std::string& name, const void* data, size_t bytes) {
    if (fd_ < 0) fail(path_.string(), "write() before begin()");
    if (next_ >= tensors_.size() || tensors_[next_].name != name)
        fail(path_.string() + ": " + name, "written out of declaration order");
    if (bytes != tensors_[next_].bytes())
        fail(path_.string() + ": " + name, "got " + std::to_string(bytes) + " bytes, declared " + std::to_string(tensors_[next_].bytes()));
    append(data, bytes);
    written_ += bytes;
    ++next_;
}

std::string SafetensorsWriter::finish() {
    if (fd_ < 0) begin();
    if (next_ != tensors_.size())
        fail(path_.string(), "finished with " + std::to_string(tensors_.size() - next_) + " tensors not written");
    if (::fsync(fd_) != 0) fail(path_.string(), std::string("fsync failed: ") + std::strerror(errno));
    ::close(fd_);
    fd_ = -1;
    return hash_->hex();
}

}  // namespace hy3

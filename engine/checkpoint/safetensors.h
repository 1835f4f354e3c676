#pragma once
// safetensors files: an 8-byte little-endian header length, a JSON header mapping tensor names to
// {dtype, shape, data_offsets}, then the raw bytes. The reader memory-maps the file and validates
// the header completely before handing out any tensor, so a malformed file gives one clear error
// naming the file and the tensor instead of a crash. No torch here: inspect/verify use it as is.
#include "util/sha256.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace hy3 {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

const char* dtypeName(DType dtype);  // "F32", "BF16", ...
size_t dtypeSize(DType dtype);
// Parses a safetensors dtype name; returns false for names this engine does not handle.
bool parseDType(const std::string& name, DType& out);

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    uint64_t begin = 0;  // byte offsets relative to the start of the data section
    uint64_t end = 0;
    int64_t numel() const;
    uint64_t bytes() const { return end - begin; }
};

class SafetensorsFile {
public:
    // Maps and validates the file. Throws hy3::Error "<file>: <tensor>: <reason>".
    static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& file);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::filesystem::path& path() const { return path_; }
    const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in data order
    const TensorInfo* find(const std::string& name) const;
    const TensorInfo& at(const std::string& name) const;  // throws naming the file and the tensor
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    uint64_t fileSize() const { return size_; }
    uint64_t dataOffset() const { return dataOffset_; }
    // Bytes of the data section not covered by any tensor (allowed when loading, reported by verify).
    uint64_t unindexedBytes() const;

    // The tensor's bytes inside the mapping; valid while this object lives.
    const uint8_t* data(const TensorInfo& tensor) const { return base_ + dataOffset_ + tensor.begin; }
    // Tells the kernel the tensor's pages may be dropped from memory (after they were copied), so
    // reading a large checkpoint does not grow the process's resident size.
    void release(const TensorInfo& tensor) const;
    // Reads `bytes` of the tensor's data from byte `offset` on straight into `destination` with
    // pread: one copy, with the kernel's read-ahead, and no file pages mapped into the process.
    // Throws hy3::Error naming the file and the tensor when the range or the read fails.
    void readBytes(const TensorInfo& tensor, uint64_t offset, uint64_t bytes, void* destination) const;

private:
    SafetensorsFile() = default;
    void parseHeader();

    std::filesystem::path path_;
    const uint8_t* base_ = nullptr;
    int fd_ = -1;  // kept open for readBytes
    uint64_t size_ = 0;
    uint64_t dataOffset_ = 0;
    std::vector<TensorInfo> tensors_;
    std::map<std::string, size_t> byName_;
    std::map<std::string, std::string> metadata_;
};

// Writes a safetensors file. Tensors are declared first (the header needs every shape), then their
// bytes are streamed in declaration order, one tensor at a time. The header is padded with spaces
// to a multiple of 8 bytes so the data section starts 8-byte aligned; tensors follow each other
// without gaps (readers such as HF's reject holes in the data section).
class SafetensorsWriter {
public:
    SafetensorsWriter(std::filesystem::path file, std::map<std::string, std::string> metadata = {});
    ~SafetensorsWriter();

    void declare(const std::string& name, DType dtype, const std::vector<int64_t>& shape);
    // Writes the header; then write() must be called once per declared tensor, in order.
    void begin();
    void write(const std::string& name, const void* data, size_t bytes);
    // Flushes and fsyncs; returns the SHA-256 of the whole file (hashed as it was written). The
    // file is complete only after finish().
    std::string finish();
    uint64_t totalBytes() const;  // data bytes of all tensors declared

private:
    std::filesystem::path path_;
    std::map<std::string, std::string> metadata_;
    std::vector<TensorInfo> tensors_;
    size_t next_ = 0;
    int fd_ = -1;
    uint64_t written_ = 0;
    std::unique_ptr<Sha256> hash_;
    void append(const void* data, size_t bytes);
};

}  // namespace hy3

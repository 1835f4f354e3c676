#pragma once
// Reading and writing safetensors in the Qt suites through the engine's torch-free reader and
// writer: values as doubles, and small helpers to build model directories for error tests.
#include "checkpoint/safetensors.h"

#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace hy3::test {

struct Array {
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    std::vector<double> values;
};

inline Array readArray(const SafetensorsFile& file, const TensorInfo& info) {
    Array a;
    a.dtype = info.dtype;
    a.shape = info.shape;
    const uint8_t* p = file.data(info);
    a.values.resize(static_cast<size_t>(info.numel()));
    for (size_t i = 0; i < a.values.size(); ++i) {
        switch (info.dtype) {
        case DType::F32: { float v; std::memcpy(&v, p + 4 * i, 4); a.values[i] = v; break; }
        case DType::F64: { double v; std::memcpy(&v, p + 8 * i, 8); a.values[i] = v; break; }
        case DType::I64: { int64_t v; std::memcpy(&v, p + 8 * i, 8); a.values[i] = static_cast<double>(v); break; }
        case DType::I32: { int32_t v; std::memcpy(&v, p + 4 * i, 4); a.values[i] = v; break; }
        case DType::BF16: { uint32_t bits = 0; std::memcpy(reinterpret_cast<uint8_t*>(&bits) + 2, p + 2 * i, 2); float v; std::memcpy(&v, &bits, 4); a.values[i] = v; break; }
        default: a.values[i] = 0; break;
        }
    }
    return a;
}

inline std::map<std::string, Array> readAllArrays(const std::filesystem::path& path) {
    auto file = SafetensorsFile::open(path);
    std::map<std::string, Array> out;
    for (const TensorInfo& info : file->tensors()) out[info.name] = readArray(*file, info);
    return out;
}

// Raw tensors to write: name -> (dtype, shape, bytes).
struct RawTensor {
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
};

inline std::map<std::string, RawTensor> readRaw(const std::filesystem::path& path) {
    auto file = SafetensorsFile::open(path);
    std::map<std::string, RawTensor> out;
    for (const TensorInfo& info : file->tensors()) {
        const uint8_t* p = file->data(info);
        out[info.name] = {info.dtype, info.shape, std::vector<uint8_t>(p, p + info.bytes())};
    }
    return out;
}

inline void writeRaw(const std::filesystem::path& path, const std::map<std::string, RawTensor>& tensors) {
    SafetensorsWriter writer(path, {{"format", "pt"}});
    for (const auto& [name, t] : tensors) writer.declare(name, t.dtype, t.shape);
    writer.begin();
    for (const auto& [name, t] : tensors) writer.write(name, t.bytes.data(), t.bytes.size());
    writer.finish();
}

}  // namespace hy3::test

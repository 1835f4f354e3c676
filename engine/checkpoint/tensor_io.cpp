#include "checkpoint/tensor_io.h"

#include "util/error.h"

namespace hy3 {

torch::Dtype torchDtype(DType dtype) {
    switch (dtype) {
    case DType::F64: return torch::kDouble;
    case DType::F32: return torch::kFloat;
    case DType::F16: return torch::kHalf;
    case DType::BF16: return torch::kBFloat16;
    case DType::I64: return torch::kLong;
    case DType::I32: return torch::kInt;
    case DType::I16: return torch::kShort;
    case DType::I8: return torch::kChar;
    case DType::U8: return torch::kByte;
    case DType::Bool: return torch::kBool;
    }
    return torch::kFloat;
}

DType safetensorsDtype(torch::Dtype dtype) {
    switch (dtype) {
    case torch::kDouble: return DType::F64;
    case torch::kFloat: return DType::F32;
    case torch::kHalf: return DType::F16;
    case torch::kBFloat16: return DType::BF16;
    case torch::kLong: return DType::I64;
    case torch::kInt: return DType::I32;
    case torch::kShort: return DType::I16;
    case torch::kChar: return DType::I8;
    case torch::kByte: return DType::U8;
    case torch::kBool: return DType::Bool;
    default: fail("tensor", std::string("dtype ") + c10::toString(dtype) + " cannot be stored in safetensors");
    }
}

torch::Tensor viewTensor(const SafetensorsFile& file, const TensorInfo& info) {
    auto* data = const_cast<uint8_t*>(file.data(info));
    const auto dtype = torchDtype(info.dtype);
    // Unaligned data (allowed by the format) is copied once into an aligned tensor.
    if (reinterpret_cast<uintptr_t>(data) % dtypeSize(info.dtype) != 0) {
        auto owned = torch::empty(info.shape, torch::dtype(dtype));
        std::memcpy(owned.data_ptr(), data, info.bytes());
        return owned;
    }
    return torch::from_blob(data, info.shape, torch::dtype(dtype));
}

std::vector<std::pair<std::string, torch::Tensor>> readSafetensors(const std::filesystem::path& path) {
    auto file = SafetensorsFile::open(path);
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const TensorInfo& info : file->tensors()) out.emplace_back(info.name, viewTensor(*file, info).clone());
    return out;
}

void writeSafetensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    SafetensorsWriter writer(path, metadata);
    for (const auto& [name, t] : tensors) writer.declare(name, safetensorsDtype(t.scalar_type()), t.sizes().vec());
    writer.begin();
    for (const auto& [name, t] : tensors) {
        const torch::Tensor cpu = t.detach().to(torch::kCPU).contiguous();
        writer.write(name, cpu.data_ptr(), static_cast<size_t>(cpu.numel()) * cpu.element_size());
    }
    writer.finish();
}

}  // namespace hy3

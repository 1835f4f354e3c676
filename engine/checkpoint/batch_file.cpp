#include "checkpoint/batch_file.h"

#include "checkpoint/tensor_io.h"
#include "util/error.h"

#include <map>

namespace hy3 {

Batch readBatchFile(const std::filesystem::path& path, const ModelConfig& c) {
    const std::string file = path.string();
    std::map<std::string, torch::Tensor> in;
    for (auto& [name, t] : readSafetensors(path)) in[name] = t;
    auto take = [&](const char* name) { return in.count(name) ? in[name] : torch::Tensor(); };
    Batch b;
    b.input_ids = take("input_ids");
    if (!b.input_ids.defined()) fail(file + ": input_ids", "missing (an int64 [batch, seq] tensor is required)");
    if (b.input_ids.dim() == 1) b.input_ids = b.input_ids.unsqueeze(0);
    if (b.input_ids.dim() != 2 || b.input_ids.is_floating_point() || b.input_ids.numel() == 0)
        fail(file + ": input_ids", "expected integer ids of shape [batch, seq]");
    b.input_ids = b.input_ids.to(torch::kLong);
    const int64_t lo = b.input_ids.min().item<int64_t>(), hi = b.input_ids.max().item<int64_t>();
    if (lo < 0 || hi >= c.vocab_size)
        fail(file + ": input_ids", "ids must lie in [0, " + std::to_string(c.vocab_size) + "), found " +
                                       std::to_string(lo < 0 ? lo : hi));
    const auto shape = b.input_ids.sizes();
    auto sameShape = [&](const char* name, torch::Tensor t) {
        if (!t.defined()) return t;
        if (t.dim() == 1 && shape[0] == 1) t = t.unsqueeze(0);
        if (t.sizes() != shape) fail(file + ": " + name, "shape does not match input_ids");
        return t.to(torch::kLong);
    };
    b.labels = sameShape("labels", take("labels"));
    b.attention_mask = sameShape("attention_mask", take("attention_mask"));
    b.position_ids = sameShape("position_ids", take("position_ids"));
    b.cu_seqlens = take("cu_seqlens");
    return b;
}

void writeBatchFile(const std::filesystem::path& file, const Batch& b) {
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    const std::pair<const char*, torch::Tensor> parts[] = {{"input_ids", b.input_ids},       {"labels", b.labels},
                                                           {"attention_mask", b.attention_mask}, {"position_ids", b.position_ids},
                                                           {"cu_seqlens", b.cu_seqlens}};
    for (const auto& [name, t] : parts)
        if (t.defined()) tensors.emplace_back(name, t);
    writeSafetensors(file, tensors);
}

}  // namespace hy3

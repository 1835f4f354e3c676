#include "checkpoint/adapter_merge.h"

#include "checkpoint/key_match.h"
#include "checkpoint/tensor_io.h"
#include "util/error.h"

#include <malloc.h>

#include <map>
#include <tuple>

namespace hy3 {
namespace fs = std::filesystem;

namespace {

// Where each released-layout key of the output is read from in the base directory. The base may
// hold it under the same key, or (transformers layout) inside another tensor of the same
// parameter: the router under another name, every expert of a layer in one [E, ...] tensor.
class BaseTensors {
public:
    explicit BaseTensors(ModelDirectory& dir) : dir_(dir) {
        const ModelConfig& c = dir.config();
        const KeyMatchResult matched = matchKeys(dir, 0, c.num_experts);
        if (!matched.problems.empty()) fail(matched.problems.front(), "cannot merge into this base");
        for (const KeyMatch& m : matched.tensors) {
            if (m.groupedExperts) grouped_[m.binding.param] = m.key;
            else byUnit_[{m.binding.param, m.binding.expert, m.binding.rowStart}] = m.key;
        }
    }

    // The output tensor `b` (expert index global) in fp32, owned.
    torch::Tensor read(const KeyBinding& b) {
        const auto it = byUnit_.find({b.param, b.expert, b.rowStart});
        if (it != byUnit_.end()) return load(it->second, [](const torch::Tensor& t) { return t; });
        return load(grouped_.at(b.param), [&b](const torch::Tensor& all) {
            const torch::Tensor expert = all.select(0, b.expert);
            return b.rowCount >= 0 ? expert.narrow(0, b.rowStart, b.rowCount) : expert;
        });
    }

private:
    template <typename Slice>
    torch::Tensor load(const std::string& key, Slice slice) {
        const auto [shard, info] = dir_.locate(key);
        const torch::Tensor out = slice(viewTensor(*shard, *info)).to(torch::kFloat, /*non_blocking=*/false, /*copy=*/true);
        shard->release(*info);  // the pages were copied: the base never stays resident
        return out;
    }

    ModelDirectory& dir_;
    std::map<std::tuple<std::string, int64_t, int64_t>, std::string> byUnit_;  // (param, expert, first row) -> key
    std::map<std::string, std::string> grouped_;                               // param -> HF [E, ...] key
};

}  // namespace

ExportReport mergeAdapterFiles(const ModelSource& base, const LoraAdaptersImpl& adapters, const fs::path& destination,
                               const ExportOptions& options) {
    torch::NoGradGuard noGrad;
    ModelDirectory dir = ModelDirectory::open(base.directory, base.config);
    const ModelConfig& c = dir.config();
    BaseTensors source(dir);
    // Module path ("model.layers.1.self_attn.q_proj") -> its adapter; routed experts one by one.
    std::map<std::string, LoraAdaptersImpl::Module> pairs;
    for (LoraAdaptersImpl::Module& m : adapters.modules()) pairs.emplace(m.path, std::move(m));
    const double s = adapters.scale();
    const std::vector<KeyBinding> bindings = keyBindings(c, KeyLayout::Released, 0, c.num_experts);
    const auto shards = planExportShards(bindings, options);

    return writeDirectoryInto(destination, [&](const fs::path& out) {
        ExportReport report;
        report.shards = static_cast<int64_t>(shards.size());
        std::map<std::string, std::string> weightMap;
        size_t merged = 0;
        for (size_t i = 0; i < shards.size(); ++i) {
            const std::string name = shardName(i, shards.size());
            SafetensorsWriter writer(out / name, {{"format", "pt"}});
            for (const KeyBinding* b : shards[i]) writer.declare(b->key, exportedDtype(*b, options.dtype), b->shape);
            writer.begin();
            for (const KeyBinding* b : shards[i]) {
                torch::Tensor w = source.read(*b);
                const auto adapter = pairs.find(b->key.substr(0, b->key.size() - std::string(".weight").size()));
                if (adapter != pairs.end()) {
                    w = w + s * torch::mm(adapter->second.B, adapter->second.A);
                    ++merged;
                }
                const torch::Tensor t = w.to(torchDtype(exportedDtype(*b, options.dtype))).contiguous();
                writer.write(b->key, t.data_ptr(), static_cast<size_t>(t.numel()) * t.element_size());
                weightMap[b->key] = name;
                // Hand the tensor's freed memory back: the process keeps freed memory for reuse
                // (keepFreedMemoryForReuse, for training steps), and tensors of varying sizes one
                // after another would grow the heap to the model's size.
                ::malloc_trim(0);
            }
            report.sha256[name] = writer.finish();
            report.tensorBytes += writer.totalBytes();
            report.tensors += static_cast<int64_t>(shards[i].size());
        }
        // loadAdapter checked every adapter against the config; this guards the key mapping above.
        if (merged != pairs.size())
            fail(destination.string(), std::to_string(pairs.size() - merged) + " adapted module(s) matched no tensor of the base");
        ExportSources sources = options.sources;
        sources.companions = sources.mtpFrom = base.directory;
        sources.mtpShardBytes = options.shardBytes;
        for (const auto& [file, sha] : finishModelDirectory(c, out, weightMap, report.tensorBytes, options.dtype, sources)) report.sha256[file] = sha;
        return report;
    });
}

}  // namespace hy3

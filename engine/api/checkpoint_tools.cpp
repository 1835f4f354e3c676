#include "api/checkpoint_tools.h"
#include "api/lora_tools.h"

#include "checkpoint/adapter_files.h"
#include "checkpoint/adapter_merge.h"
#include "checkpoint/model_dir.h"
#include "checkpoint/model_export.h"
#include "checkpoint/model_loader.h"
#include "config/model_source.h"
#include "runtime/process_setup.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace hy3::api {
namespace fs = std::filesystem;

namespace {

ExportOptions exportOptions(const std::string& dtype, const std::string& shardSize) {
    ExportOptions options;
    if (dtype == "bf16") options.dtype = torch::kBFloat16;
    else if (dtype == "fp32") options.dtype = torch::kFloat;
    else fail("--dtype", "expected bf16 or fp32, got \"" + dtype + "\"");
    options.shardBytes = parseByteSize(shardSize, "--shard-size");
    return options;
}

uint64_t bytesInMemory(Hy3ModelImpl& model) {
    uint64_t n = 0;
    for (const auto& p : model.parameters()) n += static_cast<uint64_t>(p.numel()) * p.element_size();
    for (const auto& b : model.buffers()) n += static_cast<uint64_t>(b.numel()) * b.element_size();
    return n;
}

ExportSummary summaryOf(uint64_t modelBytesInMemory, const fs::path& destination, const ExportReport& report) {
    ExportSummary s;
    s.destination = destination.string();
    s.tensors = report.tensors;
    s.shards = report.shards;
    s.tensorBytes = report.tensorBytes;
    for (const auto& [file, sha] : report.sha256) s.mtpFiles += file.rfind("model-mtp", 0) == 0 ? 1 : 0;
    s.modelBytesInMemory = modelBytesInMemory;
    s.peakRssBytes = peakRssBytes();
    return s;
}

}  // namespace

ExportSummary exportCheckpoint(const ExportRequest& r) {
    ExportOptions options = exportOptions(r.dtype, r.shardSize);
    checkExportDestination(r.destination);
    const CheckpointLocation source = locateCheckpoint(r.source);
    ModelDirectory dir = ModelDirectory::open(source.modelDir);
    // Held in the output dtype: exporting needs the model once, then one tensor at a time.
    ModelOptions modelOptions;
    modelOptions.dtype = options.dtype;
    Hy3Model model(dir.config(), modelOptions);
    loadModelWeights(*model, dir);
    options.sources = {source.modelDir, source.modelDir, options.shardBytes};
    const ExportReport report = exportModelInto(*model, r.destination, options);
    return summaryOf(bytesInMemory(*model), fs::absolute(r.destination), report);
}

// `hy3 lora merge` (api/lora_tools.h): beside export, whose writing it shares.
ExportSummary mergeAdapter(const MergeRequest& r) {
    ExportOptions options = exportOptions(r.dtype, r.shardSize);
    checkExportDestination(r.destination);
    std::string baseSpec = r.base;
    uint64_t seed = r.seed;
    if (baseSpec.empty()) {  // the base the adapter's checkpoint records (the Checkpoints page's export of a LoRA checkpoint)
        const auto origin = adapterOrigin(r.adapter);
        if (!origin) fail(r.adapter, "records no base model (it is not in a LoRA checkpoint): name the base");
        baseSpec = origin->source;
        seed = origin->seed;
    }
    const ModelSource base = resolveModelSource(baseSpec);
    const LoraAdapters adapters = loadAdapter(r.adapter, base, torch::kCPU);  // before the base: bad input fails fast
    if (ModelDirectory::hasWeights(base.directory))  // tensor by tensor from the base's shards
        return summaryOf(0, fs::absolute(r.destination), mergeAdapterFiles(base, *adapters, r.destination, options));
    // A preset's weights (or those of a directory without weights) exist only as drawn from the
    // seed, so its model is built whole. Merged in fp32 (W + s B A rounded once), written in the
    // output dtype.
    ModelOptions modelOptions;
    modelOptions.dtype = torch::kFloat;
    Hy3Model model = openModel(base, modelOptions, seed);
    model->attachAdapters(adapters);
    model->mergeAdapters();
    options.sources = {base.directory.empty() ? base.bundledTokenizer() : base.directory, {}, options.shardBytes};
    const ExportReport report = exportModelInto(*model, r.destination, options);
    return summaryOf(bytesInMemory(*model), fs::absolute(r.destination), report);
}

}  // namespace hy3::api

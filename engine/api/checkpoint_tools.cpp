#include "api/checkpoint_tools.h"
#include "api/lora_tools.h"

#include "checkpoint/adapter_files.h"
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

ExportSummary summaryOf(Hy3ModelImpl& model, const fs::path& destination, const ExportReport& report) {
    ExportSummary s;
    s.destination = destination.string();
    s.tensors = report.tensors;
    s.shards = report.shards;
    s.tensorBytes = report.tensorBytes;
    for (const auto& [file, sha] : report.sha256) s.mtpFiles += file.rfind("model-mtp", 0) == 0 ? 1 : 0;
    for (const auto& p : model.parameters()) s.modelBytesInMemory += static_cast<uint64_t>(p.numel()) * p.element_size();
    for (const auto& b : model.buffers()) s.modelBytesInMemory += static_cast<uint64_t>(b.numel()) * b.element_size();
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
    return summaryOf(*model, fs::absolute(r.destination), report);
}

// `hy3 lora merge` (api/lora_tools.h): beside export, whose writing it shares.
ExportSummary mergeAdapter(const MergeRequest& r) {
    ExportOptions options = exportOptions(r.dtype, r.shardSize);
    checkExportDestination(r.destination);
    const ModelSource base = resolveModelSource(r.base);
    const LoraAdapters adapters = loadAdapter(r.adapter, base.config, torch::kCPU);  // before the base: bad input fails fast
    // Merged in fp32 (W + s B A rounded once), written in the output dtype.
    ModelOptions modelOptions;
    modelOptions.dtype = torch::kFloat;
    Hy3Model model = openModel(base, modelOptions, r.seed);
    model->attachAdapters(adapters);
    model->mergeAdapters();
    options.sources = {base.directory.empty() ? base.bundledTokenizer() : base.directory, base.directory, options.shardBytes};
    const ExportReport report = exportModelInto(*model, r.destination, options);
    return summaryOf(*model, fs::absolute(r.destination), report);
}

}  // namespace hy3::api

#include "api/checkpoint_tools.h"

#include "checkpoint/model_export.h"
#include "checkpoint/model_loader.h"
#include "runtime/process_setup.h"
#include "util/atomic_file.h"
#include "util/error.h"

#include <unistd.h>

namespace hy3::api {
namespace fs = std::filesystem;

ExportSummary exportCheckpoint(const ExportRequest& r) {
    ExportOptions options;
    if (r.dtype == "bf16") options.dtype = torch::kBFloat16;
    else if (r.dtype == "fp32") options.dtype = torch::kFloat;
    else fail("--dtype", "expected bf16 or fp32, got \"" + r.dtype + "\"");
    options.shardBytes = parseByteSize(r.shardSize, "--shard-size");

    const fs::path destination = fs::absolute(r.destination);
    std::error_code ec;
    if (fs::exists(destination, ec) && !fs::is_empty(destination, ec))
        fail(destination.string(), "already exists and is not empty (export never overwrites)");
    if (!fs::is_directory(destination.parent_path(), ec))
        fail(destination.string(), "folder " + destination.parent_path().string() + " does not exist");

    const CheckpointLocation source = locateCheckpoint(r.source);
    ModelDirectory dir = ModelDirectory::open(source.modelDir);
    // Held in the output dtype: exporting needs the model once, then one tensor at a time.
    ModelOptions modelOptions;
    modelOptions.dtype = options.dtype;
    Hy3Model model(dir.config(), modelOptions);
    loadModelWeights(*model, dir);
    options.sources = {source.modelDir, source.modelDir, options.shardBytes};

    // Written beside the destination under a temporary name, then renamed into place.
    const fs::path temp = destination.parent_path() / (".tmp-export-" + destination.filename().string() + "-" + std::to_string(::getpid()));
    fs::remove_all(temp, ec);
    fs::create_directory(temp);
    ExportReport report;
    try {
        report = exportModel(*model, temp, options);
        if (fs::exists(destination, ec)) fs::remove(destination);  // the empty directory
        fs::rename(temp, destination);
        syncDirectory(destination.parent_path());
    } catch (...) {
        fs::remove_all(temp, ec);
        throw;
    }
    ExportSummary s;
    s.destination = destination.string();
    s.tensors = report.tensors;
    s.shards = report.shards;
    s.tensorBytes = report.tensorBytes;
    for (const auto& [file, sha] : report.sha256) s.mtpFiles += file.rfind("model-mtp", 0) == 0 ? 1 : 0;
    for (const auto& p : model->parameters()) s.modelBytesInMemory += static_cast<uint64_t>(p.numel()) * p.element_size();
    for (const auto& b : model->buffers()) s.modelBytesInMemory += static_cast<uint64_t>(b.numel()) * b.element_size();
    s.peakRssBytes = peakRssBytes();
    return s;
}


}  // namespace hy3::api

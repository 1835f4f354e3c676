#include "job/sharded_checkpoint.h"

#include "checkpoint/model_export.h"
#include "store/run_layout.h"
#include "util/atomic_file.h"
#include "util/file_io.h"

#include <nlohmann/json.hpp>

namespace hy3 {
namespace fs = std::filesystem;
using json = nlohmann::json;
namespace {

// Where the ranks leave their notes for rank 0, inside the checkpoint being written.
fs::path notesDir(const fs::path& checkpoint) { return checkpoint / ".parts"; }
fs::path noteOf(const fs::path& checkpoint, int shard) { return notesDir(checkpoint) / ("part-" + std::to_string(shard) + ".json"); }

}  // namespace

void writeModelShard(Hy3ModelImpl& model, const fs::path& checkpoint, int shard, int shards, torch::Dtype dtype, bool withReplicated) {
    const fs::path modelDir = CheckpointLayout{checkpoint}.model();
    fs::create_directories(modelDir);
    fs::create_directories(notesDir(checkpoint));
    const PartReport part = exportModelPart(model, modelDir, shardName(static_cast<size_t>(shard), static_cast<size_t>(shards)), dtype,
                                            withReplicated);
    writeFileAtomic(noteOf(checkpoint, shard),
                    json{{"file", part.file}, {"sha256", part.sha256}, {"bytes", part.tensorBytes}, {"weight_map", part.weightMap}}.dump());
}

std::map<std::string, std::string> completeModelShards(const fs::path& checkpoint, int shards, const ModelConfig& config, torch::Dtype dtype,
                                                       const ExportSources& sources) {
    std::map<std::string, std::string> weightMap, hashes;
    uint64_t total = 0;
    for (int i = 0; i < shards; ++i) {
        const json part = json::parse(readTextFile(noteOf(checkpoint, i)));
        for (const auto& [key, file] : part["weight_map"].items()) weightMap[key] = file.get<std::string>();
        hashes["model/" + part["file"].get<std::string>()] = part["sha256"];
        total += part["bytes"].get<uint64_t>();
    }
    fs::remove_all(notesDir(checkpoint));
    for (const auto& [file, sha] : finishModelDirectory(config, CheckpointLayout{checkpoint}.model(), weightMap, total, dtype, sources))
        hashes["model/" + file] = sha;
    return hashes;
}

namespace {

// `from`'s files hard-linked (copied where links are not possible) into `target`, built under a
// temporary name, then renamed into place.
fs::path linkDirectory(const fs::path& from, const fs::path& target, const fs::path& runDir) {
    const fs::path temp = runDir / (".tmp-" + target.filename().string());
    std::error_code ec;
    fs::remove_all(temp, ec);
    fs::create_directories(temp);
    for (const auto& entry : fs::directory_iterator(from)) {
        if (!entry.is_regular_file()) continue;
        fs::create_hard_link(entry.path(), temp / entry.path().filename(), ec);
        if (ec) copyFileDurably(entry.path(), temp / entry.path().filename());
    }
    syncDirectory(temp);
    fs::remove_all(target, ec);
    fs::rename(temp, target);
    syncDirectory(runDir);
    return target;
}

}  // namespace

fs::path linkFinalModel(const fs::path& checkpoint, const fs::path& runDir) {
    return linkDirectory(CheckpointLayout{checkpoint}.model(), RunLayout{runDir}.finalModel(), runDir);
}

fs::path linkFinalAdapter(const fs::path& checkpoint, const fs::path& runDir) {
    return linkDirectory(CheckpointLayout{checkpoint}.adapter(), RunLayout{runDir}.finalAdapter(), runDir);
}

}  // namespace hy3

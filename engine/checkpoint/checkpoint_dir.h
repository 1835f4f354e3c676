#pragma once
// The checkpoints of a run: OUTPUT/checkpoints/step-00001234/ holding model/ (an HF model
// directory), train_state/ and meta.json, plus LATEST naming the newest complete one.
//
// A save writes everything under a temporary name, fsyncs every file and directory, renames it
// into place, and only then replaces LATEST atomically. A save killed at any point therefore
// leaves the previous checkpoint and LATEST intact; the temporary folder is removed by
// cleanLeftovers() at the next start. Deletions rename first, so a half-deleted checkpoint never
// looks complete. Every save and deletion is recorded in the run store when one is given.
#include "store/run_store.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hy3 {

struct CheckpointInfo {
    std::filesystem::path path;
    int64_t step = 0;
    nlohmann::json meta;  // meta.json
    std::optional<double> evalLoss() const;
};

class CheckpointDirectory {
public:
    // `root` is OUTPUT/checkpoints. `store` may be null (no catalog).
    explicit CheckpointDirectory(std::filesystem::path root, RunStore* store = nullptr, int64_t runId = 0);

    static std::string stepName(int64_t step);                    // "step-00001234"
    static std::optional<int64_t> stepOf(const std::string& name);  // of a folder name like that; none for others
    const std::filesystem::path& root() const { return root_; }

    // Removes what an interrupted save or deletion left behind and settles their catalog records
    // (complete if the checkpoint made it into place, failed otherwise; deleted if it is gone).
    // Returns the names removed.
    std::vector<std::string> cleanLeftovers();

    // The checkpoint LATEST names, if it exists.
    std::optional<std::filesystem::path> latest() const;
    // Complete checkpoints on disk, by step.
    std::vector<CheckpointInfo> list() const;

    // Content writer: fills dir/model and dir/train_state, and returns the SHA-256 of the files it
    // already hashed while writing (relative path -> hex); the rest are hashed afterwards.
    using ContentWriter = std::function<std::map<std::string, std::string>(const std::filesystem::path& dir)>;

    // Saves a checkpoint for `step`. `meta` (metrics, source model, layout, ...) is completed with
    // step, time, parent, engine version and every file's size and SHA-256. Returns its path.
    std::filesystem::path save(int64_t step, nlohmann::json meta, const ContentWriter& write);

    // The same in two halves, for a checkpoint several processes write: beginSave() creates the
    // temporary folder (its path, tempPath(step), is the same for every process), the writers fill
    // it, and commitSave() completes meta.json, moves it into place and updates LATEST.
    // abandonSave() removes it after a failure.
    std::filesystem::path tempPath(int64_t step) const;
    void beginSave(int64_t step);
    std::filesystem::path commitSave(int64_t step, nlohmann::json meta, const std::map<std::string, std::string>& knownHashes);
    void abandonSave(int64_t step, const nlohmann::json& meta);

    // Keeps the newest `keepLast`, the `keepBest` with the lowest eval loss, and whatever LATEST
    // names; deletes the rest. Returns the deleted paths.
    std::vector<std::filesystem::path> applyRetention(int64_t keepLast, int64_t keepBest);
    // Deletes one complete checkpoint (crash-safe, catalog updated); when LATEST named it, LATEST
    // then names the newest one left. Throws naming a path that is not a checkpoint here.
    void remove(const std::filesystem::path& checkpoint);

private:
    void removeTree(const std::filesystem::path& dir);
    void removeCheckpoint(const CheckpointInfo& checkpoint);
    int64_t recordIdFor(const std::filesystem::path& path) const;

    std::filesystem::path root_;
    RunStore* store_;
    int64_t runId_;
    std::map<int64_t, int64_t> pendingRecords_;  // step -> catalog record of a save in progress
};

}  // namespace hy3

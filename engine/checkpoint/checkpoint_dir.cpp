#include "checkpoint/checkpoint_dir.h"

#include "build_config.h"
#include "store/run_layout.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/sha256.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>

namespace hy3 {
namespace fs = std::filesystem;

namespace {

const char* const kTempPrefix = ".tmp-";
const char* const kDeletingPrefix = ".deleting-";

bool startsWith(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

std::string isoTimeNow() {
    const std::time_t t = std::time(nullptr);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return text;
}

}  // namespace

std::optional<double> CheckpointInfo::evalLoss() const {
    if (meta.contains("metrics") && meta["metrics"].is_object() && meta["metrics"].contains("eval_loss") &&
        meta["metrics"]["eval_loss"].is_number())
        return meta["metrics"]["eval_loss"].get<double>();
    return std::nullopt;
}

CheckpointDirectory::CheckpointDirectory(fs::path root, RunStore* store, int64_t runId)
    : root_(std::move(root)), store_(store), runId_(runId) {}

std::optional<int64_t> CheckpointDirectory::stepOf(const std::string& name) {
    if (!startsWith(name, "step-") || name.size() <= 5 || name.size() > 5 + 18) return std::nullopt;
    const std::string digits = name.substr(5);
    if (digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return std::stoll(digits);
}

std::string CheckpointDirectory::stepName(int64_t step) {
    char name[32];
    std::snprintf(name, sizeof name, "step-%08lld", static_cast<long long>(step));
    return name;
}

void CheckpointDirectory::removeTree(const fs::path& dir) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec) fail(dir.string(), "cannot remove: " + ec.message());
}

std::vector<std::string> CheckpointDirectory::cleanLeftovers() {
    std::vector<std::string> removed;
    std::error_code ec;
    if (!fs::is_directory(root_, ec)) return removed;
    for (const auto& entry : fs::directory_iterator(root_, ec)) {
        const std::string name = entry.path().filename().string();
        if (startsWith(name, kTempPrefix) || startsWith(name, kDeletingPrefix) ||
            (startsWith(name, ".LATEST.tmp-") && entry.is_regular_file())) {
            removeTree(entry.path());
            removed.push_back(name);
        }
    }
    if (!removed.empty()) syncDirectory(root_);
    if (store_) {
        for (const CheckpointRecord& r : store_->checkpoints(runId_)) {
            const bool onDisk = fs::exists(fs::path(r.path) / CheckpointLayout::kMeta, ec);
            if (r.status == "in_progress")  // the save was interrupted before or after its rename
                store_->setCheckpointStatus(r.id, onDisk ? "complete" : "failed",
                                            onDisk ? static_cast<int64_t>(treeBytes(r.path)) : 0, r.metrics_json);
            else if (r.status == "complete" && !onDisk)  // a deletion was interrupted after its rename
                store_->setCheckpointStatus(r.id, "deleted", 0, r.metrics_json);
        }
    }
    return removed;
}

std::optional<fs::path> CheckpointDirectory::latest() const {
    std::error_code ec;
    if (!fs::exists(root_ / RunLayout::kLatest, ec)) return std::nullopt;
    std::string name = readTextFile(root_ / RunLayout::kLatest);
    name.erase(name.find_last_not_of(" \n\r\t") + 1);
    if (!stepOf(name)) fail((root_ / RunLayout::kLatest).string(), "does not name a checkpoint (\"" + name + "\")");
    const fs::path path = root_ / name;
    if (!fs::exists(path / CheckpointLayout::kMeta, ec)) fail((root_ / RunLayout::kLatest).string(), "names " + name + ", which is not a complete checkpoint");
    return path;
}

std::vector<CheckpointInfo> CheckpointDirectory::list() const {
    std::vector<CheckpointInfo> out;
    std::error_code ec;
    if (!fs::is_directory(root_, ec)) return out;
    for (const auto& entry : fs::directory_iterator(root_, ec)) {
        const auto step = stepOf(entry.path().filename().string());
        if (!step || !fs::exists(entry.path() / CheckpointLayout::kMeta, ec)) continue;
        CheckpointInfo info;
        info.path = entry.path();
        info.step = *step;
        try {
            info.meta = nlohmann::json::parse(readTextFile(entry.path() / CheckpointLayout::kMeta));
        } catch (const std::exception&) {
            info.meta = nlohmann::json::object();
        }
        out.push_back(std::move(info));
    }
    std::sort(out.begin(), out.end(), [](const CheckpointInfo& a, const CheckpointInfo& b) { return a.step < b.step; });
    return out;
}

int64_t CheckpointDirectory::recordIdFor(const fs::path& path) const {
    if (!store_) return 0;
    int64_t id = 0;
    const fs::path wanted = fs::absolute(path).lexically_normal();  // records come back absolute
    for (const CheckpointRecord& r : store_->checkpoints(runId_))
        if (fs::path(r.path) == wanted && r.status == "complete") id = r.id;
    return id;
}

fs::path CheckpointDirectory::tempPath(int64_t step) const { return root_ / (std::string(kTempPrefix) + stepName(step)); }

void CheckpointDirectory::beginSave(int64_t step) {
    fs::create_directories(root_);
    const fs::path temp = tempPath(step);
    std::error_code ec;
    fs::remove_all(temp, ec);
    fs::create_directory(temp);
    const std::optional<fs::path> parent = latest();
    if (store_)
        pendingRecords_[step] = store_->addCheckpoint(runId_, step, (root_ / stepName(step)).string(), parent ? recordIdFor(*parent) : 0);
}

void CheckpointDirectory::abandonSave(int64_t step, const nlohmann::json& meta) {
    std::error_code ec;
    fs::remove_all(tempPath(step), ec);
    if (store_ && pendingRecords_.count(step))
        store_->setCheckpointStatus(pendingRecords_[step], "failed", 0, meta.value("metrics", nlohmann::json::object()).dump());
    pendingRecords_.erase(step);
}

fs::path CheckpointDirectory::commitSave(int64_t step, nlohmann::json meta, const std::map<std::string, std::string>& hashes) {
    const std::string name = stepName(step);
    const fs::path target = root_ / name, temp = tempPath(step);
    const std::optional<fs::path> parent = latest();
    // meta.json lists every file with its size and SHA-256 (verify checks them).
    nlohmann::json files = nlohmann::json::object();
    for (const auto& entry : fs::recursive_directory_iterator(temp)) {
        if (!entry.is_regular_file()) continue;
        const std::string rel = fs::relative(entry.path(), temp).generic_string();
        auto known = hashes.find(rel);
        files[rel] = {{"bytes", entry.file_size()}, {"sha256", known != hashes.end() ? known->second : sha256OfFile(entry.path())}};
    }
    meta["step"] = step;
    meta["time"] = isoTimeNow();
    meta["parent"] = parent ? parent->filename().string() : "";
    meta["engine_version"] = HY3_VERSION;
    meta["files"] = files;
    writeFileAtomic(temp / CheckpointLayout::kMeta, meta.dump(2) + "\n");
    syncTree(temp);

    // Into place: a checkpoint of the same step (a re-save) is moved aside first.
    std::error_code ec;
    if (fs::exists(target, ec)) {
        const fs::path aside = root_ / (std::string(kDeletingPrefix) + name + "-" + std::to_string(::getpid()));
        fs::rename(target, aside);
        fs::rename(temp, target);
        syncDirectory(root_);
        removeTree(aside);
    } else {
        fs::rename(temp, target);
    }
    syncDirectory(root_);
    writeFileAtomic(root_ / RunLayout::kLatest, name + "\n");
    if (store_ && pendingRecords_.count(step))
        store_->setCheckpointStatus(pendingRecords_[step], "complete", static_cast<int64_t>(treeBytes(target)),
                                    meta.value("metrics", nlohmann::json::object()).dump());
    pendingRecords_.erase(step);
    return target;
}

fs::path CheckpointDirectory::save(int64_t step, nlohmann::json meta, const ContentWriter& write) {
    beginSave(step);
    try {
        const std::map<std::string, std::string> hashes = write(tempPath(step));
        return commitSave(step, std::move(meta), hashes);
    } catch (...) {
        abandonSave(step, meta);
        throw;
    }
}

std::vector<fs::path> CheckpointDirectory::applyRetention(int64_t keepLast, int64_t keepBest) {
    const std::vector<CheckpointInfo> all = list();
    std::vector<bool> keep(all.size(), false);
    for (size_t i = 0; i < all.size(); ++i) keep[i] = static_cast<int64_t>(all.size() - i) <= keepLast;
    std::vector<size_t> byLoss;
    for (size_t i = 0; i < all.size(); ++i)
        if (all[i].evalLoss()) byLoss.push_back(i);
    std::sort(byLoss.begin(), byLoss.end(), [&](size_t a, size_t b) { return *all[a].evalLoss() < *all[b].evalLoss(); });
    for (size_t i = 0; i < byLoss.size() && static_cast<int64_t>(i) < keepBest; ++i) keep[byLoss[i]] = true;
    const std::optional<fs::path> latestPath = latest();

    std::vector<fs::path> deleted;
    for (size_t i = 0; i < all.size(); ++i) {
        if (keep[i] || (latestPath && all[i].path == *latestPath)) continue;
        removeCheckpoint(all[i]);
        deleted.push_back(all[i].path);
    }
    return deleted;
}

void CheckpointDirectory::removeCheckpoint(const CheckpointInfo& checkpoint) {
    const int64_t recordId = recordIdFor(checkpoint.path);
    // Moved aside first: a crash mid-removal leaves a .deleting- folder that cleanLeftovers() ends.
    const fs::path aside = root_ / (std::string(kDeletingPrefix) + checkpoint.path.filename().string());
    fs::rename(checkpoint.path, aside);
    syncDirectory(root_);
    removeTree(aside);
    if (store_ && recordId) store_->setCheckpointStatus(recordId, "deleted", 0, checkpoint.meta.value("metrics", nlohmann::json::object()).dump());
}

void CheckpointDirectory::remove(const fs::path& checkpoint) {
    const std::vector<CheckpointInfo> all = list();
    std::error_code ec;
    const auto it = std::find_if(all.begin(), all.end(), [&](const CheckpointInfo& c) { return fs::equivalent(c.path, checkpoint, ec); });
    if (it == all.end()) fail(checkpoint.string(), "is not a complete checkpoint of " + root_.string());
    const std::optional<fs::path> latestPath = latest();
    const bool wasLatest = latestPath && fs::equivalent(*latestPath, it->path, ec);
    const CheckpointInfo removed = *it;
    if (wasLatest) {
        // LATEST moves back to the newest checkpoint that stays (or goes, with the last one).
        const CheckpointInfo* previous = nullptr;
        for (const CheckpointInfo& c : all)
            if (c.path != removed.path) previous = &c;
        if (previous) writeFileAtomic(root_ / RunLayout::kLatest, previous->path.filename().string() + "\n");
        else fs::remove(root_ / RunLayout::kLatest, ec);
        syncDirectory(root_);
    }
    removeCheckpoint(removed);
}

}  // namespace hy3

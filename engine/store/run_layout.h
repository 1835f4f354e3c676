#pragma once
// The files of a run directory and of a checkpoint folder, named in one place:
//
//   RUN/run.sqlite                         the run store (metrics, router load, events, checkpoints)
//   RUN/events.jsonl                       rank 0's events, one JSON object per line, flushed per event:
//                                          what a follower on another machine reads (SQLite's WAL
//                                          does not work across machines on NFS, Lustre or GPFS)
//   RUN/stop-request                       made by a follower: the run stops after its step with a
//                                          checkpoint, as on SIGTERM
//   RUN/logs/rank00000.log                 each rank's log
//   RUN/checkpoints/LATEST                 names the newest complete checkpoint
//   RUN/checkpoints/step-00001234/         a checkpoint:
//       model/                             an HF model directory
//       train_state/train_state.json       step, data cursor, RNG, fingerprint (+ optimizer-rankR-of-W)
//       meta.json                          metrics, source, every file's size and SHA-256
//   RUN/model/                             the final model (hard links into the last checkpoint)
//
// No torch, no Qt.
#include <filesystem>
#include <optional>
#include <string>

namespace hy3 {

struct RunLayout {
    std::filesystem::path root;

    std::filesystem::path store() const { return root / "run.sqlite"; }
    std::filesystem::path logs() const { return root / "logs"; }
    std::filesystem::path eventsLog() const { return root / "events.jsonl"; }
    std::filesystem::path stopRequest() const { return root / "stop-request"; }
    std::filesystem::path rankLog(int rank) const;
    std::filesystem::path checkpoints() const { return root / kCheckpoints; }
    std::filesystem::path finalModel() const { return root / "model"; }
    std::filesystem::path finalAdapter() const { return root / "adapter"; }  // a LoRA run's

    // Whether `dir` holds a run store.
    static bool isRun(const std::filesystem::path& dir);
    // The run directory a checkpoint folder belongs to (RUN for RUN/checkpoints/step-N), if any.
    static std::optional<RunLayout> ofCheckpoint(const std::filesystem::path& checkpoint);

    // Where a path the run recorded (a checkpoint folder) lies now, absolute: a relative one is
    // taken in this run directory; an absolute one inside it stays; an absolute OTHER/checkpoints/NAME
    // of some other run directory is this run's checkpoints/NAME, since a run only ever saves into
    // its own folder and so was copied or moved since. Anything else comes back as it is.
    std::filesystem::path resolve(const std::filesystem::path& recorded) const;
    // `path` relative to this run directory when it lies inside it, else empty (by name; nothing is read).
    std::filesystem::path relativeInside(const std::filesystem::path& path) const;
    bool contains(const std::filesystem::path& path) const { return !relativeInside(path).empty(); }

    static constexpr const char* kCheckpoints = "checkpoints";
    static constexpr const char* kLatest = "LATEST";  // inside checkpoints/
};

struct CheckpointLayout {
    std::filesystem::path root;  // RUN/checkpoints/step-00001234

    std::filesystem::path model() const { return root / "model"; }
    std::filesystem::path adapter() const { return root / "adapter"; }  // a LoRA run's checkpoint: the adapter instead of model/
    std::filesystem::path trainState() const { return root / "train_state"; }
    std::filesystem::path trainStateFile() const { return trainState() / kTrainStateFile; }
    std::filesystem::path meta() const { return root / kMeta; }

    static constexpr const char* kMeta = "meta.json";
    static constexpr const char* kTrainStateFile = "train_state.json";
};

}  // namespace hy3

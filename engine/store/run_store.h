#pragma once
// The run store: one SQLite file (`run.sqlite`) per run directory holding runs, scalar metrics per
// step, router load per step and layer, checkpoints and events. WAL mode: one writer (rank 0 of a
// run) and any number of readers (the GUI following a run) at the same time. A RunStore object is
// one connection and belongs to the thread that opened it; other threads open their own.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

struct sqlite3;

namespace hy3 {

// The schema version this build writes (PRAGMA user_version after all migrations).
int runStoreSchemaVersion();

struct RunRecord {
    int64_t id = 0;
    std::string name;
    std::string state;          // running, finished, failed, stopped
    double started_at = 0;      // unix seconds
    double ended_at = 0;        // 0 while running
    int64_t total_steps = 0;
    std::string settings_json;  // the resolved project at start
};

struct MetricPoint {
    int64_t step = 0;
    double value = 0;
};

struct RouterLoadRecord {
    int64_t step = 0;
    int64_t layer = 0;
    std::vector<uint32_t> counts;  // token-slot count per expert
    std::vector<float> bias;       // expert bias after the step (may be empty)
};

struct CheckpointRecord {
    int64_t id = 0;
    int64_t run_id = 0;
    int64_t step = 0;
    std::string path;  // absolute, in the run directory where the store now lies (see checkpoints())
    std::string status;  // in_progress, complete, deleted, failed
    int64_t size_bytes = 0;
    std::string metrics_json;
    int64_t parent_id = 0;  // 0: no parent
    double created_at = 0;
    double updated_at = 0;
};

struct EventRecord {
    int64_t id = 0;
    int64_t run_id = 0;
    double time = 0;
    int64_t step = 0;
    std::string kind;   // start, step, eval, router, checkpoint, end, error, log
    std::string level;  // info, warning, error
    std::string message;
    std::string data_json;
};

class RunStore {
public:
    enum class Mode { ReadWrite, ReadOnly };

    // ReadWrite creates the file if needed and migrates it to the current schema. ReadOnly refuses a
    // file that is not a run store or is newer than this build. Errors name the file.
    static RunStore open(const std::filesystem::path& file, Mode mode);

    RunStore(RunStore&&) noexcept;
    RunStore& operator=(RunStore&&) noexcept;
    ~RunStore();

    const std::filesystem::path& file() const { return file_; }
    int schemaVersion() const;

    // Runs a group of writes as one transaction (much faster, and readers see all or nothing).
    template <typename F>
    void transaction(F&& body) {
        begin();
        try {
            body();
        } catch (...) {
            rollback();
            throw;
        }
        commit();
    }

    // Writers.
    int64_t createRun(const std::string& name, const std::string& settingsJson, int64_t totalSteps);
    void setRunState(int64_t run, const std::string& state);
    void setRunTotalSteps(int64_t run, int64_t totalSteps);
    void addMetrics(int64_t run, int64_t step, const std::vector<std::pair<std::string, double>>& values);
    void addRouterLoad(int64_t run, int64_t step, int64_t layer, const std::vector<uint32_t>& counts,
                       const std::vector<float>& bias);
    // A path inside the run directory (the store's folder) is kept relative to it, so a run that is
    // copied or moved with its project still names its own checkpoints.
    int64_t addCheckpoint(int64_t run, int64_t step, const std::string& path, int64_t parentId);
    void setCheckpointStatus(int64_t checkpoint, const std::string& status, int64_t sizeBytes,
                             const std::string& metricsJson);
    int64_t addEvent(int64_t run, int64_t step, const std::string& kind, const std::string& level,
                     const std::string& message, const std::string& dataJson);
    void setDataStats(int64_t run, const std::string& statsJson);

    // Readers. "after" arguments return only newer rows, for following a growing run.
    std::vector<RunRecord> runs() const;
    std::vector<std::string> metricNames(int64_t run) const;
    std::vector<MetricPoint> metric(int64_t run, const std::string& name, int64_t afterStep = -1) const;
    std::vector<RouterLoadRecord> routerLoad(int64_t run, int64_t afterStep = -1) const;
    std::vector<RouterLoadRecord> routerHistory(int64_t run, int64_t layer) const;  // one layer, every step
    // Paths come back absolute under the run directory where the store is now. Rows written with
    // absolute paths (before the store kept them relative) that name RUN/checkpoints/NAME of a run
    // directory elsewhere are that run's, since moved: they resolve to checkpoints/NAME here.
    std::vector<CheckpointRecord> checkpoints(int64_t run) const;
    std::vector<EventRecord> events(int64_t run, int64_t afterId = 0) const;
    std::string dataStats(int64_t run) const;  // empty when none were recorded

private:
    RunStore(sqlite3* db, std::filesystem::path file);
    void begin();
    void commit();
    std::vector<RouterLoadRecord> readRouterRows(const char* sql, int64_t run, int64_t second) const;
    void rollback();
    std::filesystem::path runDirectory() const;  // the store's folder, absolute
    sqlite3* connection() const;  // db_, after checking that this is the owning thread

    sqlite3* db_ = nullptr;
    std::filesystem::path file_;
    std::thread::id owner_;
};

}  // namespace hy3

#include "store/run_store.h"

#include "store/run_layout.h"
#include "store/sqlite_statement.h"
#include "util/error.h"

#include <sqlite3.h>

#include <chrono>
#include <cstring>
#include <thread>

namespace hy3 {
namespace {

// The schema, as migrations. Migration i (0-based) takes user_version i to i+1. Only ever append.
const char* const kMigrations[] = {
    // v1
    R"sql(
    CREATE TABLE runs(
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        state TEXT NOT NULL,
        started_at REAL NOT NULL,
        ended_at REAL NOT NULL DEFAULT 0,
        total_steps INTEGER NOT NULL DEFAULT 0,
        settings_json TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE metrics(
        run_id INTEGER NOT NULL REFERENCES runs(id),
        name TEXT NOT NULL,
        step INTEGER NOT NULL,
        value REAL NOT NULL,
        time REAL NOT NULL,
        PRIMARY KEY(run_id, name, step)
    ) WITHOUT ROWID;
    CREATE TABLE router_load(
        run_id INTEGER NOT NULL REFERENCES runs(id),
        step INTEGER NOT NULL,
        layer INTEGER NOT NULL,
        counts BLOB NOT NULL,          -- uint32 little-endian, one per expert
        bias BLOB,                     -- float32 little-endian, one per expert
        PRIMARY KEY(run_id, step, layer)
    ) WITHOUT ROWID;
    CREATE TABLE checkpoints(
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        step INTEGER NOT NULL,
        path TEXT NOT NULL,
        status TEXT NOT NULL CHECK(status IN ('in_progress', 'complete', 'deleted', 'failed')),
        size_bytes INTEGER NOT NULL DEFAULT 0,
        metrics_json TEXT NOT NULL DEFAULT '{}',
        parent_id INTEGER REFERENCES checkpoints(id),
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE events(
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        time REAL NOT NULL,
        step INTEGER NOT NULL,
        kind TEXT NOT NULL,
        level TEXT NOT NULL,
        message TEXT NOT NULL,
        data_json TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_by_run ON events(run_id, id);
    CREATE INDEX checkpoints_by_run ON checkpoints(run_id, step);
    )sql",
    // v2: the data statistics of a run (what `hy3 data-stats` shows, as JSON).
    R"sql(
    CREATE TABLE data_stats(
        run_id INTEGER PRIMARY KEY REFERENCES runs(id),
        stats_json TEXT NOT NULL
    );
    )sql",
    // v3: one layer's router load over time (the workbench's expert detail) without a table scan.
    R"sql(
    CREATE INDEX router_by_layer ON router_load(run_id, layer, step);
    )sql",
};

constexpr int kSchemaVersion = static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));

double now() {
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

void exec(sqlite3* db, const std::string& file, const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
        std::string reason = message ? message : sqlite3_errmsg(db);
        sqlite3_free(message);
        throw Error(file + ": SQLite: " + reason);
    }
}

int userVersion(sqlite3* db, const std::string& file) {
    SqliteStatement q(db, file, "PRAGMA user_version");
    return q.step() ? static_cast<int>(q.integer(0)) : 0;
}

bool hasTables(sqlite3* db, const std::string& file) {
    SqliteStatement q(db, file, "SELECT count(*) FROM sqlite_master WHERE type = 'table'");
    return q.step() && q.integer(0) > 0;
}

void migrate(sqlite3* db, const std::string& file) {
    int version = userVersion(db, file);
    if (version > kSchemaVersion)
        throw Error(file + ": run store schema version " + std::to_string(version) +
                    " is newer than this build understands (" + std::to_string(kSchemaVersion) + ")");
    if (version == 0 && hasTables(db, file))
        throw Error(file + ": not a run store (an SQLite file with other tables and no schema version)");
    for (; version < kSchemaVersion; ++version) {
        // Each step runs in its own transaction together with its version bump.
        exec(db, file, "BEGIN IMMEDIATE");
        try {
            exec(db, file, kMigrations[version]);
            exec(db, file, "PRAGMA user_version = " + std::to_string(version + 1));
            exec(db, file, "COMMIT");
        } catch (...) {
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }
}

template <typename T>
std::vector<T> blobToVector(const void* data, size_t bytes) {
    std::vector<T> out(bytes / sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), data, out.size() * sizeof(T));
    return out;
}

}  // namespace

int runStoreSchemaVersion() { return kSchemaVersion; }

RunStore::RunStore(sqlite3* db, std::filesystem::path file)
    : db_(db), file_(std::move(file)), owner_(std::this_thread::get_id()) {}

RunStore::RunStore(RunStore&& other) noexcept : db_(other.db_), file_(std::move(other.file_)), owner_(other.owner_) {
    other.db_ = nullptr;
}

RunStore& RunStore::operator=(RunStore&& other) noexcept {
    if (this != &other) {
        sqlite3_close_v2(db_);
        db_ = other.db_;
        file_ = std::move(other.file_);
        owner_ = other.owner_;
        other.db_ = nullptr;
    }
    return *this;
}

RunStore::~RunStore() { sqlite3_close_v2(db_); }

// The connection is opened with SQLITE_OPEN_NOMUTEX: SQLite does no locking of its own for it, so
// a second thread using it at the same time corrupts its state. A store therefore belongs to the
// thread that opened it, and any other thread is refused with an error instead.
sqlite3* RunStore::connection() const {
    if (!db_) throw Error(file_.string() + ": run store used after it was closed or moved from");
    if (std::this_thread::get_id() != owner_)
        throw Error(file_.string() + ": run store used from a thread other than the one that opened it "
                                     "(each thread opens a connection of its own)");
    return db_;
}

RunStore RunStore::open(const std::filesystem::path& file, Mode mode) {
    const std::string name = file.string();
    const int flags = mode == Mode::ReadOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (mode == Mode::ReadOnly && !std::filesystem::exists(file)) throw Error(name + ": run store not found");
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(name.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
        std::string reason = db ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close_v2(db);
        throw Error(name + ": cannot open run store: " + reason);
    }
    RunStore store(db, file);
    // Writers and readers wait for each other's short locks instead of failing at once.
    sqlite3_busy_timeout(db, 10000);
    if (mode == Mode::ReadWrite) {
        // A file that is not SQLite at all fails on this first statement, with SQLite's reason.
        exec(db, name, "PRAGMA journal_mode = WAL");
        exec(db, name, "PRAGMA synchronous = NORMAL");
        exec(db, name, "PRAGMA foreign_keys = ON");
        migrate(db, name);
    } else {
        const int version = userVersion(db, name);
        if (version == 0) throw Error(name + ": not a run store (no schema version)");
        if (version > kSchemaVersion)
            throw Error(name + ": run store schema version " + std::to_string(version) +
                        " is newer than this build understands (" + std::to_string(kSchemaVersion) + ")");
    }
    return store;
}

int RunStore::schemaVersion() const { return userVersion(connection(), file_.string()); }

void RunStore::begin() { exec(connection(), file_.string(), "BEGIN IMMEDIATE"); }
void RunStore::commit() { exec(connection(), file_.string(), "COMMIT"); }
void RunStore::rollback() { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }

int64_t RunStore::createRun(const std::string& name, const std::string& settingsJson, int64_t totalSteps) {
    SqliteStatement q(connection(), file_.string(),
                      "INSERT INTO runs(name, state, started_at, total_steps, settings_json) VALUES(?, 'running', ?, ?, ?)");
    q.bind(1, name).bind(2, now()).bind(3, totalSteps).bind(4, settingsJson).run();
    return sqlite3_last_insert_rowid(db_);
}

void RunStore::setRunState(int64_t run, const std::string& state) {
    SqliteStatement q(connection(), file_.string(), "UPDATE runs SET state = ?, ended_at = ? WHERE id = ?");
    q.bind(1, state).bind(2, state == "running" ? 0.0 : now()).bind(3, run).run();
}

void RunStore::setRunTotalSteps(int64_t run, int64_t totalSteps) {
    SqliteStatement q(connection(), file_.string(), "UPDATE runs SET total_steps = ? WHERE id = ?");
    q.bind(1, totalSteps).bind(2, run).run();
}

void RunStore::addMetrics(int64_t run, int64_t step, const std::vector<std::pair<std::string, double>>& values) {
    SqliteStatement q(connection(), file_.string(),
                      "INSERT OR REPLACE INTO metrics(run_id, name, step, value, time) VALUES(?, ?, ?, ?, ?)");
    const double t = now();
    for (const auto& [name, value] : values) q.bind(1, run).bind(2, name).bind(3, step).bind(4, value).bind(5, t).run();
}

void RunStore::addRouterLoad(int64_t run, int64_t step, int64_t layer, const std::vector<uint32_t>& counts,
                             const std::vector<float>& bias) {
    SqliteStatement q(connection(), file_.string(),
                      "INSERT OR REPLACE INTO router_load(run_id, step, layer, counts, bias) VALUES(?, ?, ?, ?, ?)");
    q.bind(1, run).bind(2, step).bind(3, layer).bindBlob(4, counts.data(), counts.size() * sizeof(uint32_t));
    if (bias.empty()) q.bindNull(5);
    else q.bindBlob(5, bias.data(), bias.size() * sizeof(float));
    q.run();
}

std::filesystem::path RunStore::runDirectory() const { return std::filesystem::absolute(file_).lexically_normal().parent_path(); }

int64_t RunStore::addCheckpoint(int64_t run, int64_t step, const std::string& path, int64_t parentId) {
    SqliteStatement q(connection(), file_.string(),
                      "INSERT INTO checkpoints(run_id, step, path, status, parent_id, created_at, updated_at) "
                      "VALUES(?, ?, ?, 'in_progress', ?, ?, ?)");
    const double t = now();
    const std::filesystem::path relative = RunLayout{runDirectory()}.relativeInside(path);
    q.bind(1, run).bind(2, step).bind(3, relative.empty() ? path : relative.generic_string());
    if (parentId > 0) q.bind(4, parentId);
    else q.bindNull(4);
    q.bind(5, t).bind(6, t).run();
    return sqlite3_last_insert_rowid(db_);
}

void RunStore::setCheckpointStatus(int64_t checkpoint, const std::string& status, int64_t sizeBytes,
                                   const std::string& metricsJson) {
    SqliteStatement q(connection(), file_.string(),
                      "UPDATE checkpoints SET status = ?, size_bytes = ?, metrics_json = ?, updated_at = ? WHERE id = ?");
    q.bind(1, status).bind(2, sizeBytes).bind(3, metricsJson.empty() ? std::string("{}") : metricsJson);
    q.bind(4, now()).bind(5, checkpoint).run();
}

int64_t RunStore::addEvent(int64_t run, int64_t step, const std::string& kind, const std::string& level,
                           const std::string& message, const std::string& dataJson) {
    SqliteStatement q(connection(), file_.string(),
                      "INSERT INTO events(run_id, time, step, kind, level, message, data_json) VALUES(?, ?, ?, ?, ?, ?, ?)");
    q.bind(1, run).bind(2, now()).bind(3, step).bind(4, kind).bind(5, level).bind(6, message);
    q.bind(7, dataJson.empty() ? std::string("{}") : dataJson).run();
    return sqlite3_last_insert_rowid(db_);
}

void RunStore::setDataStats(int64_t run, const std::string& statsJson) {
    SqliteStatement q(connection(), file_.string(), "INSERT OR REPLACE INTO data_stats(run_id, stats_json) VALUES(?, ?)");
    q.bind(1, run).bind(2, statsJson).run();
}

std::string RunStore::dataStats(int64_t run) const {
    SqliteStatement q(connection(), file_.string(), "SELECT stats_json FROM data_stats WHERE run_id = ?");
    q.bind(1, run);
    return q.step() ? q.text(0) : std::string();
}

std::vector<RunRecord> RunStore::runs() const {
    SqliteStatement q(connection(), file_.string(),
                      "SELECT id, name, state, started_at, ended_at, total_steps, settings_json FROM runs ORDER BY id");
    std::vector<RunRecord> out;
    while (q.step())
        out.push_back({q.integer(0), q.text(1), q.text(2), q.real(3), q.real(4), q.integer(5), q.text(6)});
    return out;
}

std::vector<std::string> RunStore::metricNames(int64_t run) const {
    SqliteStatement q(connection(), file_.string(), "SELECT DISTINCT name FROM metrics WHERE run_id = ? ORDER BY name");
    q.bind(1, run);
    std::vector<std::string> out;
    while (q.step()) out.push_back(q.text(0));
    return out;
}

std::vector<MetricPoint> RunStore::metric(int64_t run, const std::string& name, int64_t afterStep) const {
    SqliteStatement q(connection(), file_.string(),
                      "SELECT step, value FROM metrics WHERE run_id = ? AND name = ? AND step > ? ORDER BY step");
    q.bind(1, run).bind(2, name).bind(3, afterStep);
    std::vector<MetricPoint> out;
    while (q.step()) out.push_back({q.integer(0), q.real(1)});
    return out;
}

std::vector<RouterLoadRecord> RunStore::routerHistory(int64_t run, int64_t layer) const {
    return readRouterRows("SELECT step, layer, counts, bias FROM router_load WHERE run_id = ? AND layer = ? ORDER BY step", run, layer);
}

std::vector<RouterLoadRecord> RunStore::routerLoad(int64_t run, int64_t afterStep) const {
    return readRouterRows("SELECT step, layer, counts, bias FROM router_load WHERE run_id = ? AND step > ? ORDER BY step, layer", run,
                          afterStep);
}

std::vector<RouterLoadRecord> RunStore::readRouterRows(const char* sql, int64_t run, int64_t second) const {
    SqliteStatement q(connection(), file_.string(), sql);
    q.bind(1, run).bind(2, second);
    std::vector<RouterLoadRecord> out;
    while (q.step()) {
        RouterLoadRecord r;
        r.step = q.integer(0);
        r.layer = q.integer(1);
        size_t bytes = 0;
        const void* counts = q.blob(2, bytes);
        r.counts = blobToVector<uint32_t>(counts, bytes);
        const void* bias = q.blob(3, bytes);
        r.bias = blobToVector<float>(bias, bytes);
        out.push_back(std::move(r));
    }
    return out;
}

std::vector<CheckpointRecord> RunStore::checkpoints(int64_t run) const {
    SqliteStatement q(connection(), file_.string(),
                      "SELECT id, run_id, step, path, status, size_bytes, metrics_json, coalesce(parent_id, 0), "
                      "created_at, updated_at FROM checkpoints WHERE run_id = ? ORDER BY step, id");
    q.bind(1, run);
    const RunLayout layout{runDirectory()};
    std::vector<CheckpointRecord> out;
    while (q.step())
        out.push_back({q.integer(0), q.integer(1), q.integer(2), layout.resolve(q.text(3)).string(), q.text(4), q.integer(5), q.text(6),
                       q.integer(7), q.real(8), q.real(9)});
    return out;
}

std::vector<EventRecord> RunStore::events(int64_t run, int64_t afterId) const {
    SqliteStatement q(connection(), file_.string(),
                      "SELECT id, run_id, time, step, kind, level, message, data_json FROM events "
                      "WHERE run_id = ? AND id > ? ORDER BY id");
    q.bind(1, run).bind(2, afterId);
    std::vector<EventRecord> out;
    while (q.step())
        out.push_back({q.integer(0), q.integer(1), q.real(2), q.integer(3), q.text(4), q.text(5), q.text(6), q.text(7)});
    return out;
}

}  // namespace hy3

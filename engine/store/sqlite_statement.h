#pragma once
// A small RAII wrapper over one prepared SQLite statement; every error names the database file.
#include "util/error.h"

#include <sqlite3.h>

#include <cstdint>
#include <string>

namespace hy3 {

class SqliteStatement {
public:
    SqliteStatement(sqlite3* db, const std::string& file, const char* sql) : db_(db), file_(file) {
        if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) raise("prepare");
    }
    ~SqliteStatement() { sqlite3_finalize(stmt_); }
    SqliteStatement(const SqliteStatement&) = delete;
    SqliteStatement& operator=(const SqliteStatement&) = delete;

    // Binds are 1-based like SQLite's own.
    SqliteStatement& bind(int i, int64_t v) { return check(sqlite3_bind_int64(stmt_, i, v)); }
    SqliteStatement& bind(int i, double v) { return check(sqlite3_bind_double(stmt_, i, v)); }
    SqliteStatement& bind(int i, const std::string& v) {
        return check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    }
    SqliteStatement& bindBlob(int i, const void* data, size_t bytes) {
        return check(sqlite3_bind_blob(stmt_, i, data, static_cast<int>(bytes), SQLITE_TRANSIENT));
    }
    SqliteStatement& bindNull(int i) { return check(sqlite3_bind_null(stmt_, i)); }

    // True while a row is available.
    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        raise("step");
    }
    void run() {
        step();
        reset();
    }
    void reset() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }

    int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
    double real(int col) const { return sqlite3_column_double(stmt_, col); }
    std::string text(int col) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
        return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
    }
    const void* blob(int col, size_t& bytes) const {
        const void* p = sqlite3_column_blob(stmt_, col);
        bytes = static_cast<size_t>(sqlite3_column_bytes(stmt_, col));
        return p;
    }

private:
    SqliteStatement& check(int rc) {
        if (rc != SQLITE_OK) raise("bind");
        return *this;
    }
    [[noreturn]] void raise(const char* what) const {
        throw Error(file_ + ": SQLite " + what + " failed: " + sqlite3_errmsg(db_));
    }

    sqlite3* db_;
    std::string file_;
    sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace hy3

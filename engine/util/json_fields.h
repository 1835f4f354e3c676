#pragma once
// Typed reads of JSON object fields that fail with one line naming the source, the field and the
// reason ("config.json: num_experts: expected an integer, got \"8\""). Shared by every parser of
// user files so the wording of errors is the same everywhere.
#include "util/atomic_file.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace hy3 {

using json = nlohmann::json;

// Parses `text` as JSON; a syntax error fails as "WHERE: not valid JSON (...)".
json parseJson(const std::string& text, const std::string& where);
// Reads and parses a JSON file of at most `maxBytes` (errors name the file).
json readJsonFile(const std::filesystem::path& file, uint64_t maxBytes = kMaxJsonFileBytes);

class JsonFields {
public:
    // `source` names the file (or file plus JSON path prefix) in error messages.
    JsonFields(const json& object, std::string source, std::string pathPrefix = "");

    bool has(const std::string& key) const;
    const json* find(const std::string& key) const;

    int64_t integer(const std::string& key) const;
    std::optional<int64_t> optionalInteger(const std::string& key) const;
    double number(const std::string& key) const;
    std::optional<double> optionalNumber(const std::string& key) const;
    bool boolean(const std::string& key, bool fallback) const;
    std::string string(const std::string& key) const;
    std::optional<std::string> optionalString(const std::string& key) const;

    const std::string& source() const { return source_; }
    const std::string& prefix() const { return prefix_; }

    // "source: path.key" as used in messages.
    std::string where(const std::string& key) const;
    [[noreturn]] void fail(const std::string& key, const std::string& reason) const;

private:
    const json& object_;
    std::string source_;
    std::string prefix_;
};

// Short rendering of a JSON value for error messages (long values are cut).
std::string brief(const json& value);

}  // namespace hy3

#include "util/json_fields.h"

#include "util/atomic_file.h"

#include <cmath>

namespace hy3 {

json parseJson(const std::string& text, const std::string& where) {
    try {
        return json::parse(text);
    } catch (const json::exception& e) {  // syntax, and numbers too large for a double (out_of_range)
        fail(where, std::string("not valid JSON (") + e.what() + ")");
    }
}

json readJsonFile(const std::filesystem::path& file, uint64_t maxBytes) { return parseJson(readTextFile(file, maxBytes), file.string()); }

std::string brief(const json& value) {
    std::string text = value.dump();
    if (text.size() > 40) text = text.substr(0, 37) + "...";
    return text;
}

JsonFields::JsonFields(const json& object, std::string source, std::string pathPrefix)
    : object_(object), source_(std::move(source)), prefix_(std::move(pathPrefix)) {
    if (!object_.is_object()) hy3::fail(source_ + (prefix_.empty() ? "" : ": " + prefix_),
                                        "expected a JSON object, got " + std::string(object_.type_name()));
}

std::string JsonFields::where(const std::string& key) const {
    return source_ + ": " + prefix_ + key;
}

void JsonFields::fail(const std::string& key, const std::string& reason) const {
    throw Error(where(key) + ": " + reason);
}

bool JsonFields::has(const std::string& key) const { return find(key) != nullptr; }

const json* JsonFields::find(const std::string& key) const {
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
}

std::optional<int64_t> JsonFields::optionalInteger(const std::string& key) const {
    const json* value = find(key);
    if (!value) return std::nullopt;
    if (value->is_number_integer()) return value->get<int64_t>();
    // HF configs occasionally write integers as 8.0; accept exact whole numbers.
    if (value->is_number_float()) {
        double d = value->get<double>();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) return static_cast<int64_t>(d);
    }
    fail(key, "expected an integer, got " + brief(*value));
}

int64_t JsonFields::integer(const std::string& key) const {
    auto value = optionalInteger(key);
    if (!value) fail(key, "required field is missing");
    return *value;
}

std::optional<double> JsonFields::optionalNumber(const std::string& key) const {
    const json* value = find(key);
    if (!value) return std::nullopt;
    if (!value->is_number()) fail(key, "expected a number, got " + brief(*value));
    return value->get<double>();
}

double JsonFields::number(const std::string& key) const {
    auto value = optionalNumber(key);
    if (!value) fail(key, "required field is missing");
    return *value;
}

bool JsonFields::boolean(const std::string& key, bool fallback) const {
    const json* value = find(key);
    if (!value) return fallback;
    if (!value->is_boolean()) fail(key, "expected true or false, got " + brief(*value));
    return value->get<bool>();
}

std::optional<std::string> JsonFields::optionalString(const std::string& key) const {
    const json* value = find(key);
    if (!value) return std::nullopt;
    if (!value->is_string()) fail(key, "expected a string, got " + brief(*value));
    return value->get<std::string>();
}

std::string JsonFields::string(const std::string& key) const {
    auto value = optionalString(key);
    if (!value) fail(key, "required field is missing");
    return *value;
}

}  // namespace hy3

#include "data/jinja/value.h"

#include "util/error.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace hy3::jinja {

Value Value::none() {
    Value v;
    v.kind = Kind::None;
    return v;
}
Value Value::boolean(bool x) {
    Value v;
    v.kind = Kind::Bool;
    v.b = x;
    return v;
}
Value Value::integer(int64_t x) {
    Value v;
    v.kind = Kind::Int;
    v.i = x;
    return v;
}
Value Value::number(double x) {
    Value v;
    v.kind = Kind::Float;
    v.f = x;
    return v;
}
Value Value::string(std::string x) {
    Value v;
    v.kind = Kind::String;
    v.s = std::make_shared<const std::string>(std::move(x));
    return v;
}
Value Value::list(Array items) {
    Value v;
    v.kind = Kind::Array;
    v.array = std::make_shared<Array>(std::move(items));
    return v;
}
Value Value::dict(Object items) {
    Value v;
    v.kind = Kind::Object;
    v.object = std::make_shared<Object>(std::move(items));
    return v;
}
Value Value::ns(Object items) {
    Value v = dict(std::move(items));
    v.kind = Kind::Namespace;
    return v;
}
Value Value::callable(Function fn) {
    Value v;
    v.kind = Kind::Function;
    v.function = std::make_shared<Function>(std::move(fn));
    return v;
}

Value Value::fromJson(const nlohmann::json& j) {
    switch (j.type()) {
    case nlohmann::json::value_t::null: return none();
    case nlohmann::json::value_t::boolean: return boolean(j.get<bool>());
    case nlohmann::json::value_t::number_integer: return integer(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: return integer(static_cast<int64_t>(j.get<uint64_t>()));
    case nlohmann::json::value_t::number_float: {
        // JavaScript has one number type: a whole number read from JSON is an integer there.
        const double d = j.get<double>();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0) return integer(static_cast<int64_t>(d));
        return number(d);
    }
    case nlohmann::json::value_t::string: return string(j.get<std::string>());
    case nlohmann::json::value_t::array: {
        Array items;
        for (const auto& e : j) items.push_back(fromJson(e));
        return list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
        Object items;
        for (auto it = j.begin(); it != j.end(); ++it) items.emplace_back(it.key(), fromJson(it.value()));
        return dict(std::move(items));
    }
    default: return undefined();
    }
}

bool Value::truthy() const {
    switch (kind) {
    case Kind::Undefined:
    case Kind::None: return false;
    case Kind::Bool: return b;
    case Kind::Int: return i != 0;
    case Kind::Float: return f != 0 && !std::isnan(f);
    case Kind::String: return !s->empty();
    case Kind::Array: return !array->empty();
    case Kind::Object:
    case Kind::Namespace:
    case Kind::Function: return true;
    }
    return false;
}

std::string jsNumber(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
    if (v == 0) return "0";
    // Shortest digits that round-trip, then JavaScript's choice of notation.
    char buffer[64];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, v, std::chars_format::scientific);
    std::string sci(buffer, result.ptr);
    const bool negative = sci[0] == '-';
    if (negative) sci.erase(0, 1);
    const size_t e = sci.find('e');
    std::string digits = sci.substr(0, e);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    const int exponent = std::stoi(sci.substr(e + 1));
    const int k = static_cast<int>(digits.size()), n = exponent + 1;
    std::string out;
    if (k <= n && n <= 21) {
        out = digits + std::string(static_cast<size_t>(n - k), '0');
    } else if (0 < n && n <= 21) {
        out = digits.substr(0, static_cast<size_t>(n)) + "." + digits.substr(static_cast<size_t>(n));
    } else if (-6 < n && n <= 0) {
        out = "0." + std::string(static_cast<size_t>(-n), '0') + digits;
    } else {
        out = digits.substr(0, 1);
        if (k > 1) out += "." + digits.substr(1);
        out += (n - 1 >= 0 ? "e+" : "e-") + std::to_string(std::abs(n - 1));
    }
    return negative ? "-" + out : out;
}

namespace {

// JSON.stringify of a string: escapes quote, backslash and control characters only.
std::string jsonString(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                char hex[8];
                std::snprintf(hex, sizeof hex, "\\u%04x", c);
                out += hex;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out + "\"";
}

}  // namespace

std::string toJson(const Value& v, int indent, int depth, bool undefinedAsNull) {
    // Deeper than any data a conversation holds: a namespace that holds itself ends here.
    if (depth > 1000) throw Error("a value nested more than 1000 deep (a namespace that holds itself?)");
    const std::string item = indent > 0 ? "," : ", ";
    const std::string pad = indent > 0 ? std::string(static_cast<size_t>(indent), ' ') : "";
    std::string base = "\n", child = "\n";
    for (int d = 0; d < depth; ++d) base += pad;
    child = base + pad;
    switch (v.kind) {
    case Value::Kind::None: return "null";
    case Value::Kind::Undefined: return undefinedAsNull ? "null" : "undefined";
    case Value::Kind::Bool: return v.b ? "true" : "false";
    case Value::Kind::Int: return std::to_string(v.i);
    case Value::Kind::Float: return std::isfinite(v.f) ? jsNumber(v.f) : "null";
    case Value::Kind::String: return jsonString(*v.s);
    case Value::Kind::Array: {
        std::vector<std::string> parts;
        for (const Value& e : *v.array) parts.push_back(toJson(e, indent, depth + 1, undefinedAsNull));
        std::string out = "[";
        for (size_t i = 0; i < parts.size(); ++i) out += (i ? item : "") + (indent > 0 ? child : "") + parts[i];
        return out + (indent > 0 && !parts.empty() ? base : "") + "]";
    }
    case Value::Kind::Object:
    case Value::Kind::Namespace: {
        std::string out = "{";
        for (size_t i = 0; i < v.object->size(); ++i) {
            const auto& [key, value] = (*v.object)[i];
            out += (i ? item : "") + (indent > 0 ? child : "") + jsonString(key) + ": " + toJson(value, indent, depth + 1, undefinedAsNull);
        }
        return out + (indent > 0 && !v.object->empty() ? base : "") + "}";
    }
    case Value::Kind::Function: return "null";
    }
    return "null";
}

std::string Value::toString() const {
    switch (kind) {
    case Kind::Undefined: return "";
    case Kind::None: return "null";
    case Kind::Bool: return b ? "true" : "false";
    case Kind::Int: return std::to_string(i);
    case Kind::Float:
        if (f == 0 && std::signbit(f)) return "-0.0";
        return std::isfinite(f) && f == std::floor(f) && std::fabs(f) < 1e21 ? jsNumber(f) + ".0" : jsNumber(f);
    case Kind::String: return *s;
    case Kind::Array:
    case Kind::Object:
    case Kind::Namespace: return toJson(*this, -1, 0, false);
    case Kind::Function: return "[function]";
    }
    return "";
}

const Value* Value::find(const std::string& key) const {
    if (!object) return nullptr;
    for (const auto& [k, v] : *object)
        if (k == key) return &v;
    return nullptr;
}

void Value::set(const std::string& key, Value v) {
    for (auto& [k, existing] : *object)
        if (k == key) {
            existing = std::move(v);
            return;
        }
    object->emplace_back(key, std::move(v));
}

const char* Value::typeName() const {
    switch (kind) {
    case Kind::Undefined: return "undefined";
    case Kind::None: return "none";
    case Kind::Bool: return "boolean";
    case Kind::Int: return "integer";
    case Kind::Float: return "float";
    case Kind::String: return "string";
    case Kind::Array: return "list";
    case Kind::Object: return "dict";
    case Kind::Namespace: return "namespace";
    case Kind::Function: return "function";
    }
    return "?";
}

}  // namespace hy3::jinja

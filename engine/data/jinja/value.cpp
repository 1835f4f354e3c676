#include "data/jinja/value.h"

#include "data/utf8.h"
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
    case nlohmann::json::value_t::number_float: return number(j.get<double>());  // 1.0 stays a float, as json.loads gives
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

std::string pythonFloat(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
    // The shortest digits that round-trip, then repr()'s choice of notation: positional while the
    // decimal exponent is in [-4, 16), else d.ddde+XX with at least two exponent digits.
    char buffer[64];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, v, std::chars_format::scientific);
    std::string sci(buffer, result.ptr);
    const bool negative = sci[0] == '-';
    if (negative) sci.erase(0, 1);
    const size_t e = sci.find('e');
    std::string digits = sci.substr(0, e);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    const int exponent = std::stoi(sci.substr(e + 1));
    const int k = static_cast<int>(digits.size()), point = exponent + 1;  // digits before the point
    std::string out;
    if (exponent < -4 || exponent >= 16) {
        out = digits.substr(0, 1) + (k > 1 ? "." + digits.substr(1) : "");
        char tail[16];
        std::snprintf(tail, sizeof tail, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
        out += tail;
    } else if (point <= 0) {
        out = "0." + std::string(static_cast<size_t>(-point), '0') + digits;
    } else if (point >= k) {
        out = digits + std::string(static_cast<size_t>(point - k), '0') + ".0";
    } else {
        out = digits.substr(0, static_cast<size_t>(point)) + "." + digits.substr(static_cast<size_t>(point));
    }
    return negative ? "-" + out : out;
}

std::string pythonRepr(const std::string& s) {
    const bool single = s.find('\'') == std::string::npos || s.find('"') != std::string::npos;
    const char quote = single ? '\'' : '"';
    std::string out(1, quote);
    size_t i = 0;
    while (i < s.size()) {
        const char32_t cp = utf8::next(s, i);
        char escape[16] = {0};
        if (cp == static_cast<char32_t>(quote) || cp == '\\') {
            out += '\\';
            out += static_cast<char>(cp);
        } else if (cp == '\t') {
            out += "\\t";
        } else if (cp == '\n') {
            out += "\\n";
        } else if (cp == '\r') {
            out += "\\r";
        } else if (cp < 0x7F ? cp < 0x20 : !utf8::isPrintable(cp)) {
            if (cp < 0x100) std::snprintf(escape, sizeof escape, "\\x%02x", static_cast<unsigned>(cp));
            else if (cp < 0x10000) std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(cp));
            else std::snprintf(escape, sizeof escape, "\\U%08x", static_cast<unsigned>(cp));
            out += escape;
        } else {
            utf8::append(out, cp);
        }
    }
    return out + quote;
}

namespace {

// json.dumps of a string with ensure_ascii=False: escapes quote, backslash and control characters only.
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

void checkNestingDepth(int depth) {
    if (depth > 1000) throw Error("a value nested more than 1000 deep (a namespace that holds itself?)");
}

std::string toJson(const Value& v, int indent, int depth, bool undefinedAsNull) {
    checkNestingDepth(depth);
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
    case Value::Kind::Float:  // json.dumps: repr(), and its names for the values JSON lacks
        if (std::isnan(v.f)) return "NaN";
        if (std::isinf(v.f)) return v.f > 0 ? "Infinity" : "-Infinity";
        return pythonFloat(v.f);
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

namespace {

// repr() of a value inside a list or dict: strings quoted, the rest as str() prints them.
std::string reprInside(const Value& v, int depth) {
    checkNestingDepth(depth);
    switch (v.kind) {
    case Value::Kind::String: return pythonRepr(*v.s);
    case Value::Kind::Undefined: return "Undefined";
    case Value::Kind::Array: {
        std::string out = "[";
        for (size_t i = 0; i < v.array->size(); ++i) out += (i ? ", " : "") + reprInside((*v.array)[i], depth + 1);
        return out + "]";
    }
    case Value::Kind::Object:
    case Value::Kind::Namespace: {
        std::string out = v.kind == Value::Kind::Namespace ? "<Namespace {" : "{";
        for (size_t i = 0; i < v.object->size(); ++i)
            out += (i ? ", " : "") + pythonRepr((*v.object)[i].first) + ": " + reprInside((*v.object)[i].second, depth + 1);
        return out + (v.kind == Value::Kind::Namespace ? "}>" : "}");
    }
    default: return v.toString();
    }
}

}  // namespace

// What Python's str() gives, which is what Jinja2 prints.
std::string Value::toString() const {
    switch (kind) {
    case Kind::Undefined: return "";
    case Kind::None: return "None";
    case Kind::Bool: return b ? "True" : "False";
    case Kind::Int: return std::to_string(i);
    case Kind::Float: return pythonFloat(f);
    case Kind::String: return *s;
    case Kind::Array:
    case Kind::Object:
    case Kind::Namespace: return reprInside(*this, 0);
    case Kind::Function: return "<function>";
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

#pragma once
// Values of the chat-template language. Semantics follow HF's JavaScript Jinja (@huggingface/jinja),
// the reference the tests compare against: Python-like truthiness, "true"/"false" when printed,
// floats print with ".0" when whole, arrays and objects print as JSON.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hy3::jinja {

struct Value;
using Array = std::vector<Value>;
// Objects keep insertion order, as JavaScript's Map does.
using Object = std::vector<std::pair<std::string, Value>>;
using Kwargs = std::vector<std::pair<std::string, Value>>;
using Function = std::function<Value(std::vector<Value>& args, Kwargs& kwargs)>;

struct Value {
    enum class Kind { Undefined, None, Bool, Int, Float, String, Array, Object, Namespace, Function };
    Kind kind = Kind::Undefined;
    bool b = false;
    int64_t i = 0;
    double f = 0;
    std::shared_ptr<const std::string> s;
    std::shared_ptr<Array> array;
    std::shared_ptr<Object> object;  // Object and Namespace
    std::shared_ptr<Function> function;

    static Value undefined() { return {}; }
    static Value none();
    static Value boolean(bool v);
    static Value integer(int64_t v);
    static Value number(double v);
    static Value string(std::string v);
    static Value list(Array items);
    static Value dict(Object items);
    static Value ns(Object items);
    static Value callable(Function fn);
    static Value fromJson(const nlohmann::json& j);

    bool isUndefined() const { return kind == Kind::Undefined; }
    bool isNone() const { return kind == Kind::None; }
    bool isString() const { return kind == Kind::String; }
    bool isNumber() const { return kind == Kind::Int || kind == Kind::Float; }
    bool isMapping() const { return kind == Kind::Object || kind == Kind::Namespace; }
    const std::string& str() const { return *s; }
    double asDouble() const { return kind == Kind::Float ? f : static_cast<double>(kind == Kind::Bool ? b : i); }

    bool truthy() const;
    std::string toString() const;  // how {{ value }} prints it
    const Value* find(const std::string& key) const;  // object or namespace entry
    void set(const std::string& key, Value v);       // object or namespace entry
    const char* typeName() const;
};

// JSON text of a value like @huggingface/jinja's tojson: ", " and ": " separators, or the given
// indent; non-ASCII characters kept as they are.
std::string toJson(const Value& v, int indent = -1, int depth = 0, bool undefinedAsNull = true);

// JavaScript's Number.prototype.toString for a double (shortest round trip, e+ notation outside
// 1e-7..1e21).
std::string jsNumber(double v);

}  // namespace hy3::jinja

#pragma once
// Values of the chat-template language. Semantics follow Python's Jinja2 as transformers runs it
// (apply_chat_template), the reference the tests compare with: Python's truthiness, and values
// print as Python's str() prints them (None, True, 1.0, ['a', 1], {'k': 'v'}).
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
// Objects keep insertion order, as Python's dict does.
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

// Walking a value deeper than any data a conversation holds: a namespace that holds itself ends
// here, with one error instead of a stack overflow. Every recursive walk of values calls it.
void checkNestingDepth(int depth);

// JSON text of a value like transformers' tojson filter (json.dumps with ensure_ascii=False): ", "
// and ": " separators, or "," and the given indent; non-ASCII characters kept as they are.
std::string toJson(const Value& v, int indent = -1, int depth = 0, bool undefinedAsNull = true);

// Python's repr() of a float: the shortest digits that round-trip, positional from 1e-4 to 1e16
// ("0.0001", "1e-05", "100.0", "1e+16"), "nan" and "inf".
std::string pythonFloat(double v);

// Python's repr() of a string: single quotes unless the text holds one and no double quote,
// backslash escapes for the quote, backslash, \t \n \r and characters that are not printable.
std::string pythonRepr(const std::string& s);

}  // namespace hy3::jinja

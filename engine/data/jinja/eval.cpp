// The interpreter of parsed templates.
#include "data/jinja/limits.h"
#include "data/jinja/parser.h"
#include "data/jinja/template.h"
#include "data/utf8.h"
#include "util/error.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <unordered_map>

namespace hy3::jinja {
namespace {

using Kind = Value::Kind;

struct Scope {
    std::unordered_map<std::string, Value> vars;
    Scope* parent = nullptr;

    Value lookup(const std::string& name) const {
        for (const Scope* s = this; s; s = s->parent) {
            auto it = s->vars.find(name);
            if (it != s->vars.end()) return it->second;
        }
        return Value::undefined();
    }
};

enum class Flow { Normal, Break, Continue };

// A string as a list of its characters (code points), for loops, indexing and slices. Bounded
// like any list a template builds: a 64 MiB string would otherwise become 64 million strings.
std::vector<std::string> characters(const std::string& s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
        if (out.size() == limits::kListItems)
            throw Error("a string of more than " + std::to_string(limits::kListItems) + " characters taken apart (the limit for any list a template builds)");
        const size_t start = i;
        utf8::next(s, i);
        out.push_back(s.substr(start, i - start));
    }
    return out;
}

// How many characters (code points) `s` has, without taking it apart: its bytes that do not
// continue a UTF-8 sequence (10xxxxxx), counted eight at a time (`|length` of a 64 MiB string in
// a loop must not cost seconds).
int64_t characterCount(const std::string& s) {
    int64_t continuation = 0;
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        uint64_t word;
        std::memcpy(&word, s.data() + i, 8);
        continuation += __builtin_popcountll(word & ~(word << 1) & 0x8080808080808080ull);  // bit 7 set, bit 6 clear
    }
    for (; i < s.size(); ++i) continuation += (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80;
    return static_cast<int64_t>(s.size()) - continuation;
}

// The first and the last character of a non-empty string.
std::string firstCharacter(const std::string& s) {
    size_t end = 0;
    utf8::next(s, end);
    return s.substr(0, end);
}
std::string lastCharacter(const std::string& s) {
    size_t start = 0, i = 0;
    while (i < s.size()) {
        start = i;
        utf8::next(s, i);
    }
    return s.substr(start);
}

// Python slice semantics over n elements; returns the chosen indexes.
std::vector<int64_t> sliceIndexes(int64_t n, const Value& a, const Value& b, const Value& c) {
    const int64_t step = c.isUndefined() || c.isNone() ? 1 : c.i;
    if (step == 0) throw Error("slice step cannot be zero");
    auto clamp = [&](const Value& v, int64_t fallback, bool isStart) -> int64_t {
        if (v.isUndefined() || v.isNone()) return fallback;
        int64_t x = v.i;
        if (x < 0) x += n;
        if (step > 0) return std::clamp<int64_t>(x, 0, n);
        return std::clamp<int64_t>(x, -1, n - 1) + (isStart ? 0 : 0);
    };
    std::vector<int64_t> out;
    if (step > 0) {
        const int64_t start = clamp(a, 0, true), stop = clamp(b, n, false);
        for (int64_t i = start; i < stop; i += step) out.push_back(i);
    } else {
        const int64_t start = clamp(a, n - 1, true), stop = clamp(b, -1, false);
        for (int64_t i = start; i > stop; i += step) out.push_back(i);
    }
    return out;
}

// Python's ==: numbers and booleans by value (1 == 1.0 == True), strings by content, lists item by
// item, dicts by their entries whatever their order; none equals none and undefined undefined,
// nothing else ("2" == 2 is false).
bool valuesEqual(const Value& a, const Value& b, int depth = 0) {
    checkNestingDepth(depth);
    const bool an = a.isNumber() || a.kind == Kind::Bool, bn = b.isNumber() || b.kind == Kind::Bool;
    if (an || bn) return an && bn && a.asDouble() == b.asDouble();
    if (a.kind != b.kind) return false;
    switch (a.kind) {
    case Kind::Undefined:
    case Kind::None: return true;
    case Kind::String: return a.str() == b.str();
    case Kind::Array:
        if (a.array->size() != b.array->size()) return false;
        for (size_t i = 0; i < a.array->size(); ++i)
            if (!valuesEqual((*a.array)[i], (*b.array)[i], depth + 1)) return false;
        return true;
    case Kind::Object:
        if (a.object->size() != b.object->size()) return false;
        for (const auto& [key, value] : *a.object) {
            const Value* other = b.find(key);
            if (!other || !valuesEqual(value, *other, depth + 1)) return false;
        }
        return true;
    default: return a.object == b.object && a.function == b.function;  // namespaces and functions: the same one
    }
}

int compareValues(const Value& a, const Value& b) {
    if (a.isNumber() && b.isNumber()) return a.asDouble() < b.asDouble() ? -1 : (a.asDouble() > b.asDouble() ? 1 : 0);
    if (a.isString() && b.isString()) return a.str() < b.str() ? -1 : (a.str() > b.str() ? 1 : 0);
    throw Error(std::string("cannot compare ") + a.typeName() + " with " + b.typeName());
}

// Python's str.strip/lstrip/rstrip: whitespace when `chars` is none or not given, else every
// character of `chars`.
std::string pythonStrip(const std::string& s, const Value& chars, bool left, bool right) {
    if (chars.isUndefined() || chars.isNone()) {
        const std::string trimmed = left ? utf8::trimStart(s) : s;
        return right ? utf8::trimEnd(trimmed) : trimmed;
    }
    if (!chars.isString()) throw Error("strip() needs a string of characters to strip");
    std::vector<char32_t> set;
    for (size_t i = 0; i < chars.str().size();) set.push_back(utf8::next(chars.str(), i));
    auto strips = [&](char32_t cp) { return std::find(set.begin(), set.end(), cp) != set.end(); };
    size_t begin = 0, end = s.size();
    if (left)
        while (begin < end) {
            size_t next = begin;
            if (!strips(utf8::next(s, next))) break;
            begin = next;
        }
    if (right) {
        size_t keep = begin;
        for (size_t i = begin; i < end;)
            if (!strips(utf8::next(s, i))) keep = i;
        end = keep;
    }
    return s.substr(begin, end - begin);
}

std::string titleCase(const std::string& s) {
    std::string out;
    bool start = true;
    size_t i = 0;
    while (i < s.size()) {
        const size_t from = i;
        const char32_t cp = utf8::next(s, i);
        const std::string ch = s.substr(from, i - from);
        out += start ? utf8::toUpper(ch) : utf8::toLower(ch);
        start = utf8::isSpace(cp);
    }
    return out;
}

Value kwarg(const Kwargs& kwargs, const std::string& name) {
    for (const auto& [k, v] : kwargs)
        if (k == name) return v;
    return Value::undefined();
}

// A positional argument, else a keyword one, else undefined.
Value argument(const std::vector<Value>& args, const Kwargs& kwargs, size_t index, const std::string& name) {
    if (index < args.size()) return args[index];
    return kwarg(kwargs, name);
}

// Throws once a string being built would pass limits::kStringBytes (a template doubling a string
// in a loop would otherwise take all memory).
void checkStringSize(double bytes) {
    if (bytes > static_cast<double>(limits::kStringBytes))
        throw Error("a string of more than " + std::to_string(limits::kStringBytes >> 20) + " MiB (the limit for anything a template builds)");
}

// Whether an integer computed through doubles can be cast back (a cast past int64 is undefined).
bool fitsInt64(double v) { return std::fabs(v) < 9.2e18; }

class Interpreter {
public:
    explicit Interpreter(std::string name) : name_(std::move(name)) {}

    std::string run(const Body& body, Scope& globals) {
        std::string out;
        execute(body, globals, out);
        return out;
    }

private:
    [[noreturn]] void error(int line, const std::string& reason) const { fail(name_ + ":" + std::to_string(line), reason); }

    int64_t iterations_ = 0;  // loop iterations so far (limits::kLoopIterations)
    // Bytes joined by + and ~ so far: a loop that copies a 32 MiB string on every turn stays under
    // kStringBytes but would still take seconds; it ends at limits::kConcatenatedBytes.
    double concatenatedBytes_ = 0;

    std::string concatenated(const std::string& a, const std::string& b) {
        checkStringSize(static_cast<double>(a.size() + b.size()));
        concatenatedBytes_ += static_cast<double>(a.size() + b.size());
        if (concatenatedBytes_ > limits::kConcatenatedBytes)
            throw Error("more than " + std::to_string(static_cast<int64_t>(limits::kConcatenatedBytes) >> 20) +
                        " MiB of strings joined by + and ~ in one render (the limit for a template's work)");
        return a + b;
    }
    int callDepth_ = 0;       // macro calls in progress (limits::kCallDepth)

    Flow execute(const Body& body, Scope& scope, std::string& out) {
        for (const StmtPtr& s : body) {
            const Flow flow = executeOne(*s, scope, out);
            if (flow != Flow::Normal) return flow;
        }
        return Flow::Normal;
    }

    Flow executeOne(const Stmt& s, Scope& scope, std::string& out) {
        try {
            switch (s.kind) {
            case Stmt::Kind::Text:
                checkStringSize(static_cast<double>(out.size() + s.text.size()));
                out += s.text;
                return Flow::Normal;
            case Stmt::Kind::Output: {
                const std::string text = evaluate(*s.expr, scope).toString();
                checkStringSize(static_cast<double>(out.size() + text.size()));
                out += text;
                return Flow::Normal;
            }
            case Stmt::Kind::If:
                for (size_t i = 0; i < s.branches.size(); ++i)
                    if (i >= s.conditions.size() || evaluate(*s.conditions[i], scope).truthy()) return execute(s.branches[i], scope, out);
                return Flow::Normal;
            case Stmt::Kind::For: return executeFor(s, scope, out);
            case Stmt::Kind::Set: assign(*s.target, evaluate(*s.expr, scope), scope, s.line); return Flow::Normal;
            case Stmt::Kind::SetBlock: {
                std::string captured;
                execute(s.branches[0], scope, captured);
                assign(*s.target, Value::string(captured), scope, s.line);
                return Flow::Normal;
            }
            case Stmt::Kind::Macro: defineMacro(s, scope); return Flow::Normal;
            case Stmt::Kind::Break: return Flow::Break;
            case Stmt::Kind::Continue: return Flow::Continue;
            }
        } catch (const RaisedException&) {
            throw;
        } catch (const Error& e) {
            // Errors from builtins get the statement's line once.
            const std::string what = e.what();
            if (what.rfind(name_ + ":", 0) == 0) throw;
            error(s.line, what);
        }
        return Flow::Normal;
    }

    void assign(const Expr& target, const Value& value, Scope& scope, int line) {
        if (target.kind == Expr::Kind::Name) {
            scope.vars[target.name] = value;
        } else if (target.kind == Expr::Kind::Tuple) {
            if (value.kind != Kind::Array || value.array->size() != target.items.size())
                error(line, "cannot unpack " + std::string(value.typeName()) + " into " + std::to_string(target.items.size()) + " names");
            for (size_t i = 0; i < target.items.size(); ++i) scope.vars[target.items[i]->name] = (*value.array)[i];
        } else if (target.kind == Expr::Kind::Attr) {
            Value object = evaluate(*target.object, scope);
            if (object.kind != Kind::Namespace) error(line, "cannot assign attribute on a non-namespace object");
            object.set(target.name, value);
        } else {
            error(line, "invalid assignment target");
        }
    }

    Flow executeFor(const Stmt& s, Scope& outer, std::string& out) {
        Scope scope;
        scope.parent = &outer;
        Value iterable = evaluate(*s.expr, scope);
        std::vector<Value> items;
        if (iterable.kind == Kind::Array) items = *iterable.array;
        else if (iterable.kind == Kind::Object)
            for (const auto& [k, v] : *iterable.object) items.push_back(Value::string(k));
        else if (iterable.isString())
            for (const auto& ch : characters(iterable.str())) items.push_back(Value::string(ch));
        else
            error(s.line, std::string("cannot loop over ") + iterable.typeName());
        auto bind = [&](Scope& into, const Value& item) { assign(*s.target, item, into, s.line); };
        if (s.condition) {  // "for x in xs if cond": filter first, so loop.* counts what is kept
            std::vector<Value> kept;
            for (const Value& item : items) {
                countIteration(s.line);
                Scope test;
                test.parent = &scope;
                bind(test, item);
                if (evaluate(*s.condition, test).truthy()) kept.push_back(item);
            }
            items = std::move(kept);
        }
        bool iterated = false;
        const int64_t n = static_cast<int64_t>(items.size());
        for (int64_t i = 0; i < n; ++i) {
            countIteration(s.line);
            scope.vars["loop"] = Value::dict({{"index", Value::integer(i + 1)},
                                              {"index0", Value::integer(i)},
                                              {"revindex", Value::integer(n - i)},
                                              {"revindex0", Value::integer(n - i - 1)},
                                              {"first", Value::boolean(i == 0)},
                                              {"last", Value::boolean(i == n - 1)},
                                              {"length", Value::integer(n)},
                                              {"previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value::undefined()},
                                              {"nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value::undefined()}});
            bind(scope, items[static_cast<size_t>(i)]);
            const Flow flow = execute(s.branches[0], scope, out);
            if (flow == Flow::Break) break;
            if (flow == Flow::Continue) continue;
            iterated = true;
        }
        if (!iterated) execute(s.branches[1], scope, out);
        return Flow::Normal;
    }

    // Every loop iteration of the render, all loops together, against limits::kLoopIterations.
    void countIteration(int line) {
        if (++iterations_ > limits::kLoopIterations)
            error(line, "more than " + std::to_string(limits::kLoopIterations) + " loop iterations in one render");
    }

    void defineMacro(const Stmt& s, Scope& scope) {
        const Stmt* macro = &s;
        Scope* defined = &scope;
        scope.vars[s.text] = Value::callable([this, macro, defined](std::vector<Value>& args, Kwargs& kwargs) {
            // A macro calling itself (or others, round and round) stops at limits::kCallDepth.
            struct Depth {
                int& n;
                ~Depth() { --n; }
            } depth{++callDepth_};
            if (callDepth_ > limits::kCallDepth)
                throw Error("macro " + macro->text + "() called more than " + std::to_string(limits::kCallDepth) + " deep (a recursive macro?)");
            Scope local;
            local.parent = defined;
            for (size_t i = 0; i < macro->params.size(); ++i) {
                Value v = argument(args, kwargs, i, macro->params[i]);
                if (v.isUndefined() && macro->defaults[i]) v = evaluate(*macro->defaults[i], local);
                local.vars[macro->params[i]] = v;
            }
            std::string out;
            execute(macro->branches[0], local, out);
            return Value::string(out);
        });
    }

    Value evaluate(const Expr& e, Scope& scope) {
        switch (e.kind) {
        case Expr::Kind::Literal: return e.value;
        case Expr::Kind::Name: return scope.lookup(e.name);
        case Expr::Kind::List:
        case Expr::Kind::Tuple: {
            Array items;
            for (const auto& item : e.items) items.push_back(evaluate(*item, scope));
            return Value::list(std::move(items));
        }
        case Expr::Kind::Dict: {
            Value d = Value::dict({});
            for (size_t i = 0; i < e.keys.size(); ++i) {
                const Value key = evaluate(*e.keys[i], scope);
                if (!key.isString()) error(e.line, "dict keys must be strings");
                d.set(key.str(), evaluate(*e.items[i], scope));
            }
            return d;
        }
        case Expr::Kind::Attr: return member(evaluate(*e.object, scope), Value::string(e.name), e.line);
        case Expr::Kind::Index: return member(evaluate(*e.object, scope), evaluate(*e.index, scope), e.line);
        case Expr::Kind::Slice: return slice(e, scope);
        case Expr::Kind::Call: return call(e, scope);
        case Expr::Kind::Filter: return filter(e, scope);
        case Expr::Kind::Test: return Value::boolean(test(e, scope) != e.negated);
        case Expr::Kind::Unary: {
            const Value v = evaluate(*e.object, scope);
            if (e.name == "not") return Value::boolean(!v.truthy());
            if (!v.isNumber()) error(e.line, "unary " + e.name + " needs a number, got " + v.typeName());
            if (e.name == "+") return v;
            return v.kind == Kind::Int ? Value::integer(-v.i) : Value::number(-v.f);
        }
        case Expr::Kind::Binary: return binary(e, scope);
        case Expr::Kind::Ternary:
            return evaluate(*e.items[1], scope).truthy() ? evaluate(*e.items[0], scope) : evaluate(*e.items[2], scope);
        }
        return Value::undefined();
    }

    Value binary(const Expr& e, Scope& scope) {
        const Value left = evaluate(*e.object, scope);
        if (e.name == "and") return left.truthy() ? evaluate(*e.index, scope) : left;
        if (e.name == "or") return left.truthy() ? left : evaluate(*e.index, scope);
        const Value right = evaluate(*e.index, scope);
        const std::string& op = e.name;
        if (op == "==") return Value::boolean(valuesEqual(left, right));
        if (op == "!=") return Value::boolean(!valuesEqual(left, right));
        if (op == "in" || op == "not in") {
            if (right.isUndefined()) return Value::boolean(op == "not in");
            bool found = false;
            if (right.kind == Kind::Array) {
                for (const Value& v : *right.array) found = found || valuesEqual(v, left);
            } else if (right.isString() && left.isString()) {
                found = right.str().find(left.str()) != std::string::npos;
            } else if (right.isMapping() && left.isString()) {
                found = right.find(left.str()) != nullptr;
            } else {
                error(e.line, std::string("'in' needs a list, string or dict on the right, got ") + right.typeName());
            }
            return Value::boolean(found != (op == "not in"));
        }
        if (left.isUndefined() || right.isUndefined()) error(e.line, "cannot use '" + op + "' on an undefined value");
        if (left.isNone() || right.isNone()) error(e.line, "cannot use '" + op + "' on none");
        if (op == "~") return Value::string(concatenated(left.toString(), right.toString()));
        const bool numeric = (left.isNumber() || left.kind == Kind::Bool) && (right.isNumber() || right.kind == Kind::Bool);
        if (numeric) {
            const double a = left.asDouble(), b = right.asDouble();
            const bool isFloat = left.kind == Kind::Float || right.kind == Kind::Float;
            auto result = [&](double r) {
                if (isFloat) return Value::number(r);
                // Integer arithmetic goes through doubles: a result past int64 cannot be cast.
                if (!fitsInt64(r)) error(e.line, "integer result of '" + op + "' out of range");
                return Value::integer(static_cast<int64_t>(r));
            };
            if (op == "+") return result(a + b);
            if (op == "-") return result(a - b);
            if (op == "*") return result(a * b);
            if ((op == "/" || op == "//" || op == "%") && b == 0) error(e.line, "division by zero");
            if (op == "/") return Value::number(a / b);
            if (op == "//") return result(std::floor(a / b));
            if (op == "%") {  // Python's: the result takes the divisor's sign (-3 % 2 == 1)
                double r = std::fmod(a, b);
                if (r != 0 && (r < 0) != (b < 0)) r += b;
                return result(r);
            }
            if (op == "**") return isFloat || b < 0 ? Value::number(std::pow(a, b)) : result(std::pow(a, b));
            if (op == "<") return Value::boolean(a < b);
            if (op == ">") return Value::boolean(a > b);
            if (op == "<=") return Value::boolean(a <= b);
            if (op == ">=") return Value::boolean(a >= b);
        }
        if (op == "+" && left.kind == Kind::Array && right.kind == Kind::Array) {
            if (left.array->size() + right.array->size() > limits::kListItems)
                error(e.line, "a list of more than " + std::to_string(limits::kListItems) + " items");
            Array joined = *left.array;
            joined.insert(joined.end(), right.array->begin(), right.array->end());
            return Value::list(std::move(joined));
        }
        if (op == "+" && left.isString() && right.isString()) return Value::string(concatenated(left.str(), right.str()));
        if (op == "+" && (left.isString() || right.isString()))  // Python: "a" + 1 is a TypeError; ~ joins any two
            error(e.line, std::string("cannot add ") + left.typeName() + " and " + right.typeName() + " (use ~ to join as text)");
        if (left.isString() && right.isString()) {
            if (op == "<") return Value::boolean(left.str() < right.str());
            if (op == ">") return Value::boolean(left.str() > right.str());
            if (op == "<=") return Value::boolean(left.str() <= right.str());
            if (op == ">=") return Value::boolean(left.str() >= right.str());
        }
        if (op == "*" && left.isString() && right.kind == Kind::Int) {
            if (right.i > 0) checkStringSize(static_cast<double>(left.str().size()) * static_cast<double>(right.i));
            std::string out;
            for (int64_t i = 0; i < right.i; ++i) out += left.str();
            return Value::string(out);
        }
        error(e.line, "unsupported operation: " + std::string(left.typeName()) + " " + op + " " + right.typeName());
    }

    Value slice(const Expr& e, Scope& scope) {
        const Value object = evaluate(*e.object, scope);
        Value parts[3];
        for (int i = 0; i < 3; ++i) {
            if (e.items[static_cast<size_t>(i)]) parts[i] = evaluate(*e.items[static_cast<size_t>(i)], scope);
            if (!(parts[i].isUndefined() || parts[i].isNone() || parts[i].kind == Kind::Int)) error(e.line, "slice bounds must be integers");
        }
        if (object.kind == Kind::Array) {
            Array out;
            for (int64_t i : sliceIndexes(static_cast<int64_t>(object.array->size()), parts[0], parts[1], parts[2]))
                out.push_back((*object.array)[static_cast<size_t>(i)]);
            return Value::list(std::move(out));
        }
        if (object.isString()) {
            const auto chars = characters(object.str());
            std::string out;
            for (int64_t i : sliceIndexes(static_cast<int64_t>(chars.size()), parts[0], parts[1], parts[2])) out += chars[static_cast<size_t>(i)];
            return Value::string(out);
        }
        error(e.line, std::string("cannot slice ") + object.typeName());
    }

    // object.name / object[key]: entries first, then the type's methods.
    Value member(const Value& object, const Value& key, int line) {
        if (object.isMapping()) {
            if (!key.isString()) error(line, std::string("cannot index a dict with ") + key.typeName());
            if (const Value* v = object.find(key.str())) return *v;
            return object.kind == Kind::Object ? dictMethod(object, key.str()) : Value::undefined();
        }
        if (object.kind == Kind::Array) {
            if (key.kind == Kind::Int) {
                int64_t i = key.i < 0 ? key.i + static_cast<int64_t>(object.array->size()) : key.i;
                return i >= 0 && i < static_cast<int64_t>(object.array->size()) ? (*object.array)[static_cast<size_t>(i)] : Value::undefined();
            }
            if (key.isString() && key.str() == "length") return Value::integer(static_cast<int64_t>(object.array->size()));
            if (key.isString()) return Value::undefined();
            error(line, std::string("cannot index a list with ") + key.typeName());
        }
        if (object.isString()) {
            if (key.kind == Kind::Int) {
                const auto chars = characters(object.str());
                int64_t i = key.i < 0 ? key.i + static_cast<int64_t>(chars.size()) : key.i;
                return i >= 0 && i < static_cast<int64_t>(chars.size()) ? Value::string(chars[static_cast<size_t>(i)]) : Value::undefined();
            }
            if (key.isString()) return stringMethod(object.str(), key.str());
            error(line, std::string("cannot index a string with ") + key.typeName());
        }
        return Value::undefined();
    }

    Value dictMethod(const Value& object, const std::string& name) {
        if (name == "items")
            return Value::callable([object](std::vector<Value>&, Kwargs&) {
                Array out;
                for (const auto& [k, v] : *object.object) out.push_back(Value::list({Value::string(k), v}));
                return Value::list(std::move(out));
            });
        if (name == "keys")
            return Value::callable([object](std::vector<Value>&, Kwargs&) {
                Array out;
                for (const auto& [k, v] : *object.object) out.push_back(Value::string(k));
                return Value::list(std::move(out));
            });
        if (name == "values")
            return Value::callable([object](std::vector<Value>&, Kwargs&) {
                Array out;
                for (const auto& [k, v] : *object.object) out.push_back(v);
                return Value::list(std::move(out));
            });
        if (name == "get")
            return Value::callable([object](std::vector<Value>& args, Kwargs& kwargs) {
                const Value key = argument(args, kwargs, 0, "key");
                if (!key.isString()) throw Error("get() needs a string key");
                if (const Value* v = object.find(key.str())) return *v;
                const Value fallback = argument(args, kwargs, 1, "default");
                return fallback.isUndefined() ? Value::none() : fallback;
            });
        return Value::undefined();
    }

    Value stringMethod(const std::string& s, const std::string& name) {
        using Fn = std::function<Value(std::vector<Value>&, Kwargs&)>;
        auto fn = [](Fn f) { return Value::callable(std::move(f)); };
        if (name == "strip" || name == "lstrip" || name == "rstrip") {
            const bool left = name != "rstrip", right = name != "lstrip";
            return fn([s, left, right](std::vector<Value>& args, Kwargs& kwargs) {
                return Value::string(pythonStrip(s, argument(args, kwargs, 0, "chars"), left, right));
            });
        }
        if (name == "upper") return fn([s](auto&, auto&) { return Value::string(utf8::toUpper(s)); });
        if (name == "lower") return fn([s](auto&, auto&) { return Value::string(utf8::toLower(s)); });
        if (name == "title") return fn([s](auto&, auto&) { return Value::string(titleCase(s)); });
        if (name == "capitalize")
            return fn([s](auto&, auto&) {
                const auto chars = characters(s);
                return Value::string(chars.empty() ? s : utf8::toUpper(chars[0]) + s.substr(chars[0].size()));
            });
        if (name == "length") return Value::integer(characterCount(s));
        if (name == "startswith" || name == "endswith") {
            const bool start = name == "startswith";
            return fn([s, start](std::vector<Value>& args, Kwargs&) {
                if (args.empty()) throw Error("startswith()/endswith() need an argument");
                auto matches = [&](const std::string& p) {
                    return p.size() <= s.size() && (start ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0);
                };
                if (args[0].isString()) return Value::boolean(matches(args[0].str()));
                if (args[0].kind == Kind::Array) {
                    for (const Value& v : *args[0].array) {
                        if (!v.isString()) throw Error("startswith()/endswith() tuple elements must be strings");
                        if (matches(v.str())) return Value::boolean(true);
                    }
                    return Value::boolean(false);
                }
                throw Error("startswith()/endswith() need a string or a tuple of strings");
            });
        }
        if (name == "split")
            return fn([s](std::vector<Value>& args, Kwargs& kwargs) {
                const Value sep = argument(args, kwargs, 0, "sep");
                const Value maxv = argument(args, kwargs, 1, "maxsplit");
                const int64_t maxsplit = maxv.kind == Kind::Int ? maxv.i : -1;
                Array parts;
                if (sep.isUndefined() || sep.isNone()) {  // runs of whitespace
                    const std::string text = utf8::trimStart(s);
                    size_t i = 0;
                    while (i < text.size()) {
                        size_t j = i;
                        while (j < text.size()) {
                            size_t k = j;
                            if (utf8::isSpace(utf8::next(text, k))) break;
                            j = k;
                        }
                        if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit) {
                            parts.push_back(Value::string(text.substr(i)));
                            break;
                        }
                        parts.push_back(Value::string(text.substr(i, j - i)));
                        i = j;
                        while (i < text.size()) {
                            size_t k = i;
                            if (!utf8::isSpace(utf8::next(text, k))) break;
                            i = k;
                        }
                    }
                    return Value::list(std::move(parts));
                }
                if (!sep.isString()) throw Error("split() separator must be a string");
                if (sep.str().empty()) throw Error("split() separator is empty");
                size_t from = 0;
                while (true) {
                    const size_t at = s.find(sep.str(), from);
                    if (at == std::string::npos || (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit)) {
                        parts.push_back(Value::string(s.substr(from)));
                        break;
                    }
                    parts.push_back(Value::string(s.substr(from, at - from)));
                    from = at + sep.str().size();
                }
                return Value::list(std::move(parts));
            });
        if (name == "replace")
            return fn([s](std::vector<Value>& args, Kwargs& kwargs) {
                const Value from = argument(args, kwargs, 0, "old"), to = argument(args, kwargs, 1, "new");
                const Value countValue = argument(args, kwargs, 2, "count");
                if (!from.isString() || !to.isString()) throw Error("replace() needs two strings");
                int64_t count = countValue.kind == Kind::Int ? countValue.i : -1;
                std::string out;
                size_t at = 0;
                if (from.str().empty()) {  // inserts between characters, as Python
                    for (const auto& ch : characters(s)) {
                        if (count != 0) out += to.str(), --count;
                        out += ch;
                        checkStringSize(static_cast<double>(out.size()));
                    }
                    if (count != 0) out += to.str();
                    return Value::string(out);
                }
                while (count != 0) {
                    const size_t hit = s.find(from.str(), at);
                    if (hit == std::string::npos) break;
                    out += s.substr(at, hit - at) + to.str();
                    checkStringSize(static_cast<double>(out.size()));
                    at = hit + from.str().size();
                    --count;
                }
                return Value::string(out + s.substr(at));
            });
        return Value::undefined();
    }

    void evaluateArgs(const std::vector<Arg>& in, Scope& scope, std::vector<Value>& args, Kwargs& kwargs) {
        for (const Arg& a : in) {
            if (a.name.empty()) args.push_back(evaluate(*a.value, scope));
            else kwargs.emplace_back(a.name, evaluate(*a.value, scope));
        }
    }

    Value call(const Expr& e, Scope& scope) {
        const Value callee = evaluate(*e.object, scope);
        if (callee.kind != Kind::Function) {
            const std::string what = e.object->kind == Expr::Kind::Attr ? "'" + e.object->name + "'" : "this value";
            error(e.line, "cannot call " + what + " (" + callee.typeName() + ")");
        }
        std::vector<Value> args;
        Kwargs kwargs;
        evaluateArgs(e.args, scope, args, kwargs);
        try {
            return (*callee.function)(args, kwargs);
        } catch (const RaisedException&) {
            throw;
        } catch (const Error& err) {
            const std::string what = err.what();
            if (what.rfind(name_ + ":", 0) == 0) throw;
            error(e.line, what);
        }
    }

    bool test(const Expr& e, Scope& scope) {
        const Value v = evaluate(*e.object, scope);
        std::vector<Value> args;
        Kwargs kwargs;
        evaluateArgs(e.args, scope, args, kwargs);
        const std::string& t = e.name;
        if (t == "defined") return !v.isUndefined();
        if (t == "undefined") return v.isUndefined();
        if (t == "none") return v.isNone();
        if (t == "string") return v.isString();
        if (t == "number") return v.isNumber();
        if (t == "integer") return v.kind == Kind::Int;
        if (t == "float") return v.kind == Kind::Float;
        if (t == "boolean") return v.kind == Kind::Bool;
        if (t == "true") return v.kind == Kind::Bool && v.b;
        if (t == "false") return v.kind == Kind::Bool && !v.b;
        if (t == "mapping") return v.kind == Kind::Object;
        if (t == "iterable") return v.kind == Kind::Array || v.isString();
        if (t == "sequence") return v.kind == Kind::Array || v.kind == Kind::Object || v.isString();
        if (t == "callable") return v.kind == Kind::Function;
        if (t == "lower") return v.isString() && v.str() == utf8::toLower(v.str());
        if (t == "upper") return v.isString() && v.str() == utf8::toUpper(v.str());
        if (t == "odd" || t == "even") {
            if (v.kind != Kind::Int) error(e.line, "'" + t + "' test needs an integer");
            return (v.i % 2 != 0) == (t == "odd");
        }
        if (t == "equalto" || t == "eq") {
            if (args.empty()) error(e.line, "'" + t + "' test needs an argument");
            return valuesEqual(v, args[0]);
        }
        error(e.line, "unknown test '" + t + "'");
    }

    // The attribute `attr` of an item ("a.b" paths allowed), for map/selectattr.
    Value attributeOf(const Value& item, const std::string& attr, int line) {
        Value current = item;
        size_t from = 0;
        while (true) {
            const size_t dot = attr.find('.', from);
            current = member(current, Value::string(attr.substr(from, dot - from)), line);
            if (dot == std::string::npos) return current;
            from = dot + 1;
        }
    }

    Value filter(const Expr& e, Scope& scope) {
        const Value v = evaluate(*e.object, scope);
        std::vector<Value> args;
        Kwargs kwargs;
        evaluateArgs(e.args, scope, args, kwargs);
        const std::string& f = e.name;
        if (f == "safe") return v;
        if (f == "tojson") {
            const Value indent = argument(args, kwargs, 0, "indent");
            return Value::string(toJson(v, indent.kind == Kind::Int ? static_cast<int>(indent.i) : -1));
        }
        if (f == "default" || f == "d") {
            const Value fallback = argument(args, kwargs, 0, "default_value");
            const bool boolean = argument(args, kwargs, 1, "boolean").truthy();
            if (v.isUndefined() || (boolean && !v.truthy())) return fallback.isUndefined() ? Value::string("") : fallback;
            return v;
        }
        if (f == "length" || f == "count") {
            if (v.kind == Kind::Array) return Value::integer(static_cast<int64_t>(v.array->size()));
            if (v.isString()) return Value::integer(characterCount(v.str()));
            if (v.isMapping()) return Value::integer(static_cast<int64_t>(v.object->size()));
            error(e.line, std::string("'length' needs a list, string or dict, got ") + v.typeName());
        }
        if (f == "string") return Value::string(v.toString());
        if (f == "list") {
            if (v.kind == Kind::Array) return v;
            if (v.isString()) {
                Array out;
                for (const auto& ch : characters(v.str())) out.push_back(Value::string(ch));
                return Value::list(std::move(out));
            }
            if (v.isMapping()) {
                Array out;
                for (const auto& [k, x] : *v.object) out.push_back(Value::string(k));
                return Value::list(std::move(out));
            }
        }
        if (f == "items" && v.isMapping()) {
            Array out;
            for (const auto& [k, x] : *v.object) out.push_back(Value::list({Value::string(k), x}));
            return Value::list(std::move(out));
        }
        if (v.kind == Kind::Array) {
            const Array& a = *v.array;
            if (f == "first") return a.empty() ? Value::undefined() : a.front();
            if (f == "last") return a.empty() ? Value::undefined() : a.back();
            if (f == "reverse") return Value::list(Array(a.rbegin(), a.rend()));
            if (f == "join") {
                const Value sep = argument(args, kwargs, 0, "d");
                std::string out;
                for (size_t i = 0; i < a.size(); ++i) {
                    out += (i && sep.isString() ? sep.str() : "") + a[i].toString();
                    checkStringSize(static_cast<double>(out.size()));
                }
                return Value::string(out);
            }
            if (f == "map" || f == "selectattr" || f == "rejectattr") return listFilter(f, a, args, kwargs, e.line);
            if (f == "unique") {
                Array out;
                for (const Value& x : a)
                    if (std::none_of(out.begin(), out.end(), [&](const Value& y) { return valuesEqual(x, y); })) out.push_back(x);
                return Value::list(std::move(out));
            }
            if (f == "sort") {
                Array out = a;
                std::stable_sort(out.begin(), out.end(), [](const Value& x, const Value& y) { return compareValues(x, y) < 0; });
                return Value::list(std::move(out));
            }
        }
        if (v.isString()) {
            const std::string& s = v.str();
            if (f == "trim") return Value::string(pythonStrip(s, argument(args, kwargs, 0, "chars"), true, true));
            if (f == "upper") return Value::string(utf8::toUpper(s));
            if (f == "lower") return Value::string(utf8::toLower(s));
            if (f == "title") return Value::string(titleCase(s));
            if (f == "capitalize") return (*stringMethod(s, "capitalize").function)(args, kwargs);
            if (f == "replace") return (*stringMethod(s, "replace").function)(args, kwargs);
            if (f == "first") return s.empty() ? Value::undefined() : Value::string(firstCharacter(s));
            if (f == "last") return s.empty() ? Value::undefined() : Value::string(lastCharacter(s));
            if (f == "int") {
                try {
                    return Value::integer(std::stoll(s));
                } catch (const std::exception&) {
                    return Value::integer(0);
                }
            }
            if (f == "float") {
                try {
                    return Value::number(std::stod(s));
                } catch (const std::exception&) {
                    return Value::number(0);
                }
            }
        }
        if (v.isNumber() || v.kind == Kind::Bool) {
            if (f == "int") return Value::integer(fitsInt64(v.asDouble()) ? static_cast<int64_t>(v.asDouble()) : 0);  // 0, as for text that is no number
            if (f == "float") return Value::number(v.asDouble());
            if (f == "abs") return v.kind == Kind::Float ? Value::number(std::fabs(v.f)) : Value::integer(v.i == INT64_MIN ? INT64_MAX : std::llabs(v.i));
        }
        error(e.line, "filter '" + f + "' is not supported for " + v.typeName());
    }

    Value listFilter(const std::string& f, const Array& a, std::vector<Value>& args, Kwargs& kwargs, int line) {
        Array out;
        if (f == "map") {
            const Value attr = kwarg(kwargs, "attribute");
            if (!attr.isString()) error(line, "map() is supported with attribute=... only");
            for (const Value& item : a) out.push_back(attributeOf(item, attr.str(), line));
            return Value::list(std::move(out));
        }
        // selectattr / rejectattr: attribute name, then an optional test with an argument.
        if (args.empty() || !args[0].isString()) error(line, f + "() needs an attribute name");
        const std::string testName = args.size() > 1 && args[1].isString() ? args[1].str() : "";
        for (const Value& item : a) {
            const Value attr = attributeOf(item, args[0].str(), line);
            bool pass = false;
            if (testName.empty()) pass = attr.truthy();
            else if (testName == "equalto" || testName == "eq" || testName == "==") pass = args.size() > 2 && valuesEqual(attr, args[2]);
            else if (testName == "defined") pass = !attr.isUndefined();
            else if (testName == "undefined") pass = attr.isUndefined();
            else if (testName == "none") pass = attr.isNone();
            else if (testName == "string") pass = attr.isString();
            else error(line, f + "() test '" + testName + "' is not supported");
            if (pass == (f == "selectattr")) out.push_back(item);
        }
        return Value::list(std::move(out));
    }

    std::string name_;
};

}  // namespace

namespace {
const std::string& boundedSource(const std::string& source, const std::string& name) {
    if (source.size() > limits::kTemplateBytes)
        fail(name, "a template of " + std::to_string(source.size()) + " bytes: more than the " + std::to_string(limits::kTemplateBytes >> 20) +
                       " MiB a chat template may have");
    return source;
}
}  // namespace

Template::Template(const std::string& source, std::string name)
    : name_(std::move(name)), body_(std::make_shared<Body>(parseTemplate(boundedSource(source, name_), name_))) {}
Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

std::string Template::render(const nlohmann::json& context) const {
    Scope globals;
    for (const char* t : {"true", "True"}) globals.vars[t] = Value::boolean(true);
    for (const char* f : {"false", "False"}) globals.vars[f] = Value::boolean(false);
    for (const char* n : {"none", "None"}) globals.vars[n] = Value::none();
    globals.vars["raise_exception"] = Value::callable([](std::vector<Value>& args, Kwargs&) -> Value {
        throw RaisedException(args.empty() ? "raise_exception() called" : args[0].toString());
    });
    globals.vars["range"] = Value::callable([](std::vector<Value>& args, Kwargs&) {
        int64_t start = 0, stop = 0, step = 1;
        if (args.size() == 1) stop = args[0].i;
        else if (args.size() >= 2) start = args[0].i, stop = args[1].i, step = args.size() > 2 ? args[2].i : 1;
        if (step == 0) throw Error("range() step must not be zero");
        // Counted before anything is built: range(10**9) is refused at once, as sandboxed Jinja does.
        const double items = std::ceil((static_cast<double>(stop) - static_cast<double>(start)) / static_cast<double>(step));
        if (items > static_cast<double>(limits::kRangeItems))
            throw Error("range() of " + std::to_string(static_cast<int64_t>(items)) + " items: more than " +
                        std::to_string(limits::kRangeItems) + " (as Python's sandboxed Jinja)");
        Array out;
        for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(Value::integer(i));
        return Value::list(std::move(out));
    });
    // Namespaces are the one mutable value, so `{% set ns.self = ns %}` makes a cycle of shared
    // pointers that would outlive the render (found by fuzzing): every namespace of this render is
    // kept here and emptied when the render ends, which breaks any cycle.
    auto namespaces = std::make_shared<std::vector<std::shared_ptr<Object>>>();
    struct EmptyNamespaces {
        std::shared_ptr<std::vector<std::shared_ptr<Object>>> all;
        ~EmptyNamespaces() {
            for (const auto& o : *all) o->clear();
        }
    } emptyAtEnd{namespaces};
    globals.vars["namespace"] = Value::callable([namespaces](std::vector<Value>& args, Kwargs& kwargs) {
        Value ns = Value::ns({});
        namespaces->push_back(ns.object);
        if (!args.empty() && args[0].isMapping())
            for (const auto& [k, v] : *args[0].object) ns.set(k, v);
        for (const auto& [k, v] : kwargs) ns.set(k, v);
        return ns;
    });
    globals.vars["strftime_now"] = Value::callable([](std::vector<Value>& args, Kwargs&) {
        const std::time_t t = std::time(nullptr);
        char text[256];
        std::strftime(text, sizeof text, args.empty() ? "%Y-%m-%d" : args[0].toString().c_str(), std::localtime(&t));
        return Value::string(text);
    });
    if (context.is_object())
        for (auto it = context.begin(); it != context.end(); ++it) globals.vars[it.key()] = Value::fromJson(it.value());
    try {
        return Interpreter(name_).run(*body_, globals);
    } catch (const RaisedException& e) {
        throw Error(name_ + ": the template refused the conversation: " + e.what());
    }
}

}  // namespace hy3::jinja

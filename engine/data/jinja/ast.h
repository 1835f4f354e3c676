#pragma once
// The syntax tree of a parsed template. Every node keeps its line for error messages.
#include "data/jinja/value.h"

#include <memory>
#include <string>
#include <vector>

namespace hy3::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Arg {
    std::string name;  // empty for positional
    ExprPtr value;
};

struct Expr {
    enum class Kind {
        Literal,   // value
        Name,      // name
        List,      // items
        Dict,      // keys[i]: items[i]
        Tuple,     // items
        Attr,      // object.name
        Index,     // object[index]
        Slice,     // object[a:b:c]  (items: start, stop, step; null when omitted)
        Call,      // object(args)
        Filter,    // object | name(args)
        Test,      // object is [not] name(args)
        Unary,     // op operand(object)
        Binary,    // left(object) op right(index)
        Ternary,   // items[0] if items[1] else items[2]
    };
    Kind kind;
    int line = 0;
    Value value;
    std::string name;  // identifier, attribute, filter/test name, or operator
    bool negated = false;
    ExprPtr object, index;
    std::vector<ExprPtr> items, keys;
    std::vector<Arg> args;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
    enum class Kind { Text, Output, If, For, Set, SetBlock, Macro, Break, Continue };
    Kind kind;
    int line = 0;
    std::string text;                 // Text; Macro name
    ExprPtr expr;                     // Output; For iterable; Set value
    ExprPtr target;                   // Set/SetBlock/For target (Name, Tuple or Attr)
    ExprPtr condition;                // For's inline "if"
    std::vector<ExprPtr> conditions;  // If: one per branch (the else branch has none)
    std::vector<Body> branches;       // If: bodies; For: [body, else]; Macro/SetBlock: [body]
    std::vector<std::string> params;  // Macro parameter names
    std::vector<ExprPtr> defaults;    // Macro defaults (null when none)
};

}  // namespace hy3::jinja

// Jinja's syntax tree: expressions and statements, each with its line and column for errors.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinja/value.h"

namespace lmwb::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
    enum class Kind {
        Literal, Name, ListLiteral, Tuple, Dict, Attr, Item, Slice, Call, Filter, Test, Neg, Pos, Not, Binary, Compare, And, Or, Cond
    };
    Kind kind = Kind::Literal;
    int line = 0, column = 0;
    Value literal;
    std::string name;  // Name, Attr, Filter, Test: the name; Binary: the operator
    // Compare: the operators, one per operand after the first ("==", "in", "not in", …)
    std::vector<std::string> ops;
    bool negated = false;  // Test: `is not`
    std::vector<ExprPtr> items;  // operands, arguments; Filter/Test: items[0] is the value
    std::vector<std::pair<std::string, ExprPtr>> named;
};

struct Node;
using Body = std::vector<std::unique_ptr<Node>>;

struct Node {
    enum class Kind { Text, Output, If, For, Set, SetBlock, Macro, CallBlock, FilterBlock, Break, Continue, Scope, With };
    Kind kind = Kind::Text;
    int line = 0, column = 0;
    std::string text;                  // Text; Macro: its name
    ExprPtr expr;                      // Output, For (the iterable), Set (the value), CallBlock (the call)
    ExprPtr target;                    // For, Set, SetBlock: a Name, Tuple or Attr
    ExprPtr condition;                 // For's `if`
    std::vector<std::pair<ExprPtr, Body>> branches;  // If: (condition, body); the else branch's condition is null
    Body body, else_body;              // For, SetBlock, Macro, CallBlock, FilterBlock, Scope, With
    std::vector<ExprPtr> filters;      // SetBlock, FilterBlock: Filter expressions whose items[0] is null
    std::vector<std::pair<std::string, ExprPtr>> params;  // Macro and CallBlock's caller: names, defaults (or null); With: assignments
};

struct Program {
    std::string name;
    Body body;
};

}  // namespace lmwb::jinja

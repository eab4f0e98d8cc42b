// Rendering a syntax tree (render.cpp) and the built-in filters, tests, methods and globals (builtins.cpp).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "jinja/ast.h"
#include "lmwb/jinja.h"

namespace lmwb::jinja {

// An error raised while evaluating, before it is given the template's name and position.
struct EvalError {
    std::string message;
};
// raise_exception() from the template: its message alone.
struct RaisedError {
    std::string message;
};

class Renderer {
public:
    Renderer(const Program& program, const Environment& env);
    std::string render(const nlohmann::ordered_json& variables);

    // Strict-aware conversions every operation uses.
    std::string to_text(const Value& v) const;
    bool test_truth(const Value& v) const;
    List iterate(const Value& v) const;  // the items a for loop (or a filter) sees: list items, dict keys, characters

    Value call(const Value& callee, Args& args);
    Value filter(const std::string& name, const Value& value, Args& args);
    bool test(const std::string& name, const Value& value, Args& args);
    Value get_attr(const Value& obj, const std::string& name) const;
    Value get_item(const Value& obj, const Value& key) const;
    const Environment& env() const { return env_; }

private:
    using Frame = std::map<std::string, Value>;
    enum class Flow { Normal, Break, Continue };
    Flow exec(const Body& body, std::string& out);
    Flow exec(const Node& node, std::string& out);
    Value eval(const Expr& e);
    Value eval_filter(const Expr& e, const Value& value);
    Value lookup(const std::string& name) const;
    void assign(const Expr& target, const Value& value);
    void step();
    void append(std::string& out, const std::string& text);
    Value make_macro(const Node& node);
    Args eval_args(const Expr& e, std::size_t first);

    const Program& program_;
    const Environment& env_;
    std::vector<std::shared_ptr<Frame>> frames_;  // innermost last
    std::map<std::string, Value> globals_;
    std::size_t steps_ = 0;
    int depth_ = 0;
    const Node* at_node_ = nullptr;
    const Expr* at_expr_ = nullptr;
};

// Python's binary operators and comparisons on Jinja values (EvalError on a type Python refuses).
Value binary_op(const std::string& op, const Value& a, const Value& b);
bool compare_op(const std::string& op, const Value& a, const Value& b);
bool contains(const Value& container, const Value& item);
// A method of a str, list or dict bound to it (undefined when there is none).
Value bound_method(const Value& obj, const std::string& name);
void install_globals(std::map<std::string, Value>& globals, const Environment& env);

}  // namespace lmwb::jinja

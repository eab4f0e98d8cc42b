// The interpreter: Jinja2's scoping (a for loop's body gets a fresh scope each iteration, `set` elsewhere assigns in
// the current one, namespace() attributes are the way out of a loop), loop variables, macros and call blocks.
#include "jinja/render.h"

#include <cmath>

#include "jinja/parse.h"
#include "unicode.h"

namespace lmwb::jinja {

using namespace uni;

namespace {
constexpr int kMaxDepth = 200;  // macro calls inside macro calls
}

Renderer::Renderer(const Program& program, const Environment& env) : program_(program), env_(env) { install_globals(globals_, env); }

std::string Renderer::render(const nlohmann::ordered_json& variables) {
    frames_.assign(1, std::make_shared<Frame>());
    if (variables.is_object())
        for (const auto& [k, v] : variables.items()) (*frames_[0])[k] = Value::from_json(v);
    std::string out;
    auto at = [this](const std::string& message) {  // where the evaluation was when it failed
        const int line = at_expr_ ? at_expr_->line : at_node_ ? at_node_->line : 0, col = at_expr_ ? at_expr_->column : at_node_ ? at_node_->column : 0;
        return Error(program_.name, line, col, message);
    };
    try {
        exec(program_.body, out);
    } catch (const EvalError& e) {
        throw at(e.message);
    } catch (const RaisedError& e) {
        throw at(e.message);
    } catch (const Error&) {
        throw;
    } catch (const std::runtime_error& e) {
        throw at(e.what());
    }
    return out;
}

void Renderer::step() {
    if (++steps_ > env_.max_steps)
        throw EvalError{"the template took more than " + std::to_string(env_.max_steps) + " steps (a loop that does not end?)"};
}

void Renderer::append(std::string& out, const std::string& text) {
    out += text;
    if (out.size() > env_.max_output) throw EvalError{"the template's output passed " + std::to_string(env_.max_output) + " bytes"};
}

std::string Renderer::to_text(const Value& v) const {
    if (v.is_undefined() && env_.strict_undefined) throw EvalError{v.s.empty() ? "undefined value" : v.s};
    return str(v);
}

bool Renderer::test_truth(const Value& v) const {
    if (v.is_undefined() && env_.strict_undefined) throw EvalError{v.s.empty() ? "undefined value" : v.s};
    return truthy(v);
}

List Renderer::iterate(const Value& v) const {
    switch (v.type) {
    case Value::Type::Array: return *v.list;
    case Value::Type::Dict: {
        List keys;
        for (const auto& kv : v.dict->items) keys.push_back(kv.first);
        return keys;
    }
    case Value::Type::String: {
        List chars;
        for (char32_t c : decode_lossy(v.s)) {
            std::string s;
            append_utf8(s, c);
            chars.push_back(Value::string(s));
        }
        return chars;
    }
    case Value::Type::Undefined:
        if (env_.strict_undefined) throw EvalError{v.s.empty() ? "undefined value" : v.s};
        return {};
    default: throw EvalError{"'" + type_name(v) + "' object is not iterable"};
    }
}

Value Renderer::lookup(const std::string& name) const {
    for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
        auto f = (*it)->find(name);
        if (f != (*it)->end()) return f->second;
    }
    auto g = globals_.find(name);
    if (g != globals_.end()) return g->second;
    return Value::undefined("'" + name + "' is undefined");
}

void Renderer::assign(const Expr& target, const Value& value) {
    if (target.kind == Expr::Kind::Name) {
        (*frames_.back())[target.name] = value;
        return;
    }
    if (target.kind == Expr::Kind::Attr) {
        const Value obj = eval(*target.items[0]);
        if (!obj.is_dict() || !obj.namespace_) throw EvalError{"cannot assign attribute on non-namespace object"};
        obj.dict->set(Value::string(target.name), value);
        return;
    }
    // a, b = value
    const List items = iterate(value);
    if (items.size() != target.items.size())
        throw EvalError{items.size() < target.items.size() ? "not enough values to unpack (expected " + std::to_string(target.items.size()) + ", got " + std::to_string(items.size()) + ")"
                                                           : "too many values to unpack (expected " + std::to_string(target.items.size()) + ")"};
    for (std::size_t k = 0; k < items.size(); ++k) assign(*target.items[k], items[k]);
}

Renderer::Flow Renderer::exec(const Body& body, std::string& out) {
    for (const auto& n : body) {
        const Flow f = exec(*n, out);
        if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
}

Renderer::Flow Renderer::exec(const Node& n, std::string& out) {
    step();
    at_node_ = &n;
    at_expr_ = nullptr;
    switch (n.kind) {
    case Node::Kind::Text: append(out, n.text); return Flow::Normal;
    case Node::Kind::Output: append(out, to_text(eval(*n.expr))); return Flow::Normal;
    case Node::Kind::If:
        for (const auto& [cond, body] : n.branches)
            if (!cond || test_truth(eval(*cond))) return exec(body, out);
        return Flow::Normal;
    case Node::Kind::For: {
        const Value seq = eval(*n.expr);
        List items = iterate(seq);
        if (n.condition) {  // `for x in xs if cond`: the loop sees only what passes
            List kept;
            for (const auto& item : items) {
                frames_.push_back(std::make_shared<Frame>());
                assign(*n.target, item);
                const bool keep = test_truth(eval(*n.condition));
                frames_.pop_back();
                if (keep) kept.push_back(item);
            }
            items = std::move(kept);
        }
        if (items.empty()) {
            frames_.push_back(std::make_shared<Frame>());
            const Flow f = exec(n.else_body, out);
            frames_.pop_back();
            return f == Flow::Normal ? Flow::Normal : f;
        }
        const auto len = static_cast<std::int64_t>(items.size());
        const Value outer_loop = lookup("loop");
        for (std::int64_t k = 0; k < len; ++k) {
            step();  // an empty body still counts
            Dict loop;
            loop.set(Value::string("index"), Value::integer(k + 1));
            loop.set(Value::string("index0"), Value::integer(k));
            loop.set(Value::string("revindex"), Value::integer(len - k));
            loop.set(Value::string("revindex0"), Value::integer(len - k - 1));
            loop.set(Value::string("first"), Value::boolean(k == 0));
            loop.set(Value::string("last"), Value::boolean(k == len - 1));
            loop.set(Value::string("length"), Value::integer(len));
            loop.set(Value::string("depth"), Value::integer(1));
            loop.set(Value::string("depth0"), Value::integer(0));
            loop.set(Value::string("previtem"), k > 0 ? items[static_cast<std::size_t>(k - 1)] : Value::undefined("there is no previous item"));
            loop.set(Value::string("nextitem"), k + 1 < len ? items[static_cast<std::size_t>(k + 1)] : Value::undefined("there is no next item"));
            loop.set(Value::string("cycle"), Value::function([k](Args& a) -> Value {
                         if (a.positional.empty()) throw EvalError{"no items for cycling given"};
                         return a.positional[static_cast<std::size_t>(k) % a.positional.size()];
                     }));
            auto frame = std::make_shared<Frame>();
            (*frame)["loop"] = Value::make_dict(std::move(loop));
            frames_.push_back(frame);
            assign(*n.target, items[static_cast<std::size_t>(k)]);
            const Flow f = exec(n.body, out);
            frames_.pop_back();
            if (f == Flow::Break) break;
        }
        (void)outer_loop;
        return Flow::Normal;
    }
    case Node::Kind::Set: assign(*n.target, eval(*n.expr)); return Flow::Normal;
    case Node::Kind::SetBlock: {
        std::string text;
        exec(n.body, text);
        Value v = Value::string(text);
        for (const auto& f : n.filters) v = eval_filter(*f, v);
        assign(*n.target, v);
        return Flow::Normal;
    }
    case Node::Kind::Macro: (*frames_.back())[n.text] = make_macro(n); return Flow::Normal;
    case Node::Kind::CallBlock: {
        // The call's callee gets `caller`, a macro of the block's body.
        const Expr& call = *n.expr;
        Value callee = eval(*call.items[0]);
        Args args = eval_args(call, 1);
        Value caller = make_macro(n);
        args.named.emplace_back("caller", caller);
        append(out, to_text(this->call(callee, args)));
        return Flow::Normal;
    }
    case Node::Kind::FilterBlock: {
        std::string text;
        frames_.push_back(std::make_shared<Frame>());
        exec(n.body, text);
        frames_.pop_back();
        Value v = Value::string(text);
        for (const auto& f : n.filters) v = eval_filter(*f, v);
        append(out, to_text(v));
        return Flow::Normal;
    }
    case Node::Kind::Break: return Flow::Break;
    case Node::Kind::Continue: return Flow::Continue;
    case Node::Kind::Scope: return exec(n.body, out);
    case Node::Kind::With: {
        auto frame = std::make_shared<Frame>();
        for (const auto& [name, e] : n.params) (*frame)[name] = eval(*e);
        frames_.push_back(frame);
        const Flow f = exec(n.body, out);
        frames_.pop_back();
        return f;
    }
    }
    return Flow::Normal;
}

Value Renderer::make_macro(const Node& node) {
    const Node* def = &node;
    return Value::function([this, def](Args& args) -> Value {
        if (++depth_ > kMaxDepth) throw EvalError{"macros nested more than " + std::to_string(kMaxDepth) + " deep"};
        auto frame = std::make_shared<Frame>();
        const std::string name = def->kind == Node::Kind::Macro ? def->text : "caller";
        std::size_t k = 0;
        for (const auto& [param, def_value] : def->params) {
            Value v;
            if (k < args.positional.size()) v = args.positional[k];
            else {
                bool found = false;
                for (auto it = args.named.begin(); it != args.named.end(); ++it)
                    if (it->first == param) {
                        v = it->second;
                        args.named.erase(it);
                        found = true;
                        break;
                    }
                if (!found) v = def_value ? eval(*def_value) : Value::undefined("parameter '" + param + "' was not provided");
            }
            (*frame)[param] = v;
            ++k;
        }
        List varargs(args.positional.begin() + static_cast<std::ptrdiff_t>(std::min(k, args.positional.size())), args.positional.end());
        (*frame)["varargs"] = Value::make_list(std::move(varargs), true);
        Dict kwargs;
        Value caller;
        for (auto& [key, v] : args.named) {
            if (key == "caller") caller = v;
            else kwargs.set(Value::string(key), v);
        }
        (*frame)["kwargs"] = Value::make_dict(std::move(kwargs));
        if (!caller.is_undefined()) (*frame)["caller"] = caller;
        // A macro sees the template's top-level names and its own.
        auto saved = std::move(frames_);
        const Node* saved_node = at_node_;
        frames_ = {saved.front(), frame};
        std::string out;
        try {
            exec(def->body, out);
        } catch (...) {
            frames_ = std::move(saved);
            --depth_;
            throw;
        }
        frames_ = std::move(saved);
        at_node_ = saved_node;
        --depth_;
        return Value::string(out);
    });
}

Args Renderer::eval_args(const Expr& e, std::size_t first) {
    Args a;
    for (std::size_t k = first; k < e.items.size(); ++k) a.positional.push_back(eval(*e.items[k]));
    for (const auto& [name, v] : e.named) a.named.emplace_back(name, eval(*v));
    return a;
}

Value Renderer::call(const Value& callee, Args& args) {
    if (callee.type != Value::Type::Callable) {
        if (callee.is_undefined()) throw EvalError{callee.s.empty() ? "undefined value is not callable" : callee.s};
        throw EvalError{"'" + type_name(callee) + "' object is not callable"};
    }
    return (*callee.fn)(args);
}

Value Renderer::eval_filter(const Expr& e, const Value& value) {
    Args args = eval_args(e, 1);
    args.callee = e.name;
    const Expr* saved = at_expr_;
    at_expr_ = &e;
    Value v = filter(e.name, value, args);
    at_expr_ = saved;
    return v;
}

Value Renderer::eval(const Expr& e) {
    step();
    at_expr_ = &e;
    switch (e.kind) {
    case Expr::Kind::Literal: return e.literal;
    case Expr::Kind::Name: return lookup(e.name);
    case Expr::Kind::ListLiteral: case Expr::Kind::Tuple: {
        List items;
        for (const auto& i : e.items) items.push_back(eval(*i));
        return Value::make_list(std::move(items), e.kind == Expr::Kind::Tuple);
    }
    case Expr::Kind::Dict: {
        Dict d;
        for (std::size_t k = 0; k + 1 < e.items.size(); k += 2) {
            Value key = eval(*e.items[k]);
            d.set(key, eval(*e.items[k + 1]));
        }
        return Value::make_dict(std::move(d));
    }
    case Expr::Kind::Attr: {
        const Value obj = eval(*e.items[0]);
        at_expr_ = &e;
        return get_attr(obj, e.name);
    }
    case Expr::Kind::Item: {
        const Value obj = eval(*e.items[0]);
        const Value key = eval(*e.items[1]);
        at_expr_ = &e;
        return get_item(obj, key);
    }
    case Expr::Kind::Slice: {
        const Value obj = eval(*e.items[0]);
        Value parts[3];
        for (int k = 0; k < 3; ++k) parts[k] = e.items[static_cast<std::size_t>(k) + 1] ? eval(*e.items[static_cast<std::size_t>(k) + 1]) : Value::none();
        at_expr_ = &e;
        Args a;
        a.callee = "slice";
        a.positional = {obj, parts[0], parts[1], parts[2]};
        return filter("__slice__", obj, a);
    }
    case Expr::Kind::Call: {
        const Value callee = eval(*e.items[0]);
        Args args = eval_args(e, 1);
        at_expr_ = &e;
        if (e.items[0]->kind == Expr::Kind::Attr || e.items[0]->kind == Expr::Kind::Name) args.callee = e.items[0]->name;
        return call(callee, args);
    }
    case Expr::Kind::Filter: {
        const Value v = eval(*e.items[0]);
        return eval_filter(e, v);
    }
    case Expr::Kind::Test: {
        const Value v = eval(*e.items[0]);
        Args args = eval_args(e, 1);
        args.callee = e.name;
        at_expr_ = &e;
        return Value::boolean(test(e.name, v, args) != e.negated);
    }
    case Expr::Kind::Neg: case Expr::Kind::Pos: {
        const Value v = eval(*e.items[0]);
        at_expr_ = &e;
        if (!v.is_number()) throw EvalError{"bad operand type for unary " + std::string(e.kind == Expr::Kind::Neg ? "-" : "+") + ": '" + type_name(v) + "'"};
        if (e.kind == Expr::Kind::Pos) return v.type == Value::Type::Bool ? Value::integer(v.b) : v;
        if (v.type == Value::Type::Float) return Value::number(-v.f);
        return Value::integer(-(v.type == Value::Type::Bool ? static_cast<std::int64_t>(v.b) : v.i));
    }
    case Expr::Kind::Not: return Value::boolean(!test_truth(eval(*e.items[0])));
    case Expr::Kind::And: {
        const Value a = eval(*e.items[0]);
        return test_truth(a) ? eval(*e.items[1]) : a;
    }
    case Expr::Kind::Or: {
        const Value a = eval(*e.items[0]);
        return test_truth(a) ? a : eval(*e.items[1]);
    }
    case Expr::Kind::Cond: {
        if (test_truth(eval(*e.items[1]))) return eval(*e.items[0]);
        return e.items[2] ? eval(*e.items[2]) : Value::undefined("the conditional expression evaluated to false and had no else section");
    }
    case Expr::Kind::Binary: {
        const Value a = eval(*e.items[0]);
        const Value b = eval(*e.items[1]);
        at_expr_ = &e;
        if (e.name == "~") return Value::string(to_text(a) + to_text(b));
        if (a.is_undefined() || b.is_undefined()) throw EvalError{(a.is_undefined() ? a : b).s.empty() ? "undefined value" : (a.is_undefined() ? a : b).s};
        return binary_op(e.name, a, b);
    }
    case Expr::Kind::Compare: {
        Value left = eval(*e.items[0]);
        for (std::size_t k = 0; k < e.ops.size(); ++k) {
            const Value right = eval(*e.items[k + 1]);
            at_expr_ = &e;
            const std::string& op = e.ops[k];
            bool ok;
            if (op == "in" || op == "not in") {
                if (right.is_undefined() && env_.strict_undefined) throw EvalError{right.s};
                ok = contains(right, left) == (op == "in");
            } else {
                ok = compare_op(op, left, right);
            }
            if (!ok) return Value::boolean(false);
            left = right;
        }
        return Value::boolean(true);
    }
    }
    return Value::undefined();
}

}  // namespace lmwb::jinja

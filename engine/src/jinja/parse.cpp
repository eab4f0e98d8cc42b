// Jinja2's parser (parser.py): operator precedence, filters and tests, the statements chat and task templates use.
#include <algorithm>

#include "jinja/lexer.h"
#include "jinja/parse.h"

namespace lmwb::jinja {

namespace {

class Parser {
public:
    Parser(std::vector<Token> tokens, const std::string& name, const Environment& env) : t_(std::move(tokens)), name_(name), env_(env) {}

    Body parse_all() {
        Body body = parse_body({});
        if (peek().type != Tok::End) fail(peek(), "unexpected '" + peek().text + "'");
        return body;
    }

private:
    [[noreturn]] void fail(const Token& at, const std::string& message) const { throw Error(name_, at.line, at.column, message); }
    const Token& peek(std::size_t ahead = 0) const { return t_[std::min(p_ + ahead, t_.size() - 1)]; }
    const Token& next() { return t_[std::min(p_++, t_.size() - 1)]; }
    bool is_op(const char* op, std::size_t ahead = 0) const { return peek(ahead).type == Tok::Op && peek(ahead).text == op; }
    bool is_name(const char* n, std::size_t ahead = 0) const { return peek(ahead).type == Tok::Name && peek(ahead).text == n; }
    void expect_op(const char* op) {
        if (!is_op(op)) fail(peek(), std::string("expected '") + op + "'" + describe());
        ++p_;
    }
    std::string describe() const {
        const Token& k = peek();
        switch (k.type) {
        case Tok::BlockEnd: return ", got end of statement block";
        case Tok::VarEnd: return ", got end of print statement";
        case Tok::End: return ", got end of template";
        default: return ", got '" + k.text + "'";
        }
    }
    std::string expect_name() {
        if (peek().type != Tok::Name) fail(peek(), "expected a name" + describe());
        return next().text;
    }
    void expect_block_end() {
        if (peek().type != Tok::BlockEnd) fail(peek(), "expected end of statement block" + describe());
        ++p_;
    }

    // Statements until one of `ends` (a block tag whose name is in the list; left unconsumed, after its {%).
    Body parse_body(const std::vector<std::string>& ends) {
        Body body;
        while (true) {
            const Token& k = peek();
            if (k.type == Tok::End) {
                if (!ends.empty()) fail(k, "unexpected end of template, expected '" + ends.front() + "'");
                return body;
            }
            if (k.type == Tok::Data) {
                auto n = node(Node::Kind::Text, k);
                n->text = k.text;
                body.push_back(std::move(n));
                ++p_;
                continue;
            }
            if (k.type == Tok::VarBegin) {
                ++p_;
                auto n = node(Node::Kind::Output, k);
                n->expr = parse_tuple();
                if (peek().type != Tok::VarEnd) fail(peek(), "expected end of print statement" + describe());
                ++p_;
                body.push_back(std::move(n));
                continue;
            }
            if (k.type == Tok::BlockBegin) {
                const Token& word = peek(1);
                if (word.type == Tok::Name && std::find(ends.begin(), ends.end(), word.text) != ends.end()) {
                    ++p_;  // at the name
                    return body;
                }
                ++p_;
                body.push_back(parse_statement());
                continue;
            }
            fail(k, "unexpected '" + k.text + "'");
        }
    }

    std::unique_ptr<Node> node(Node::Kind kind, const Token& at) {
        auto n = std::make_unique<Node>();
        n->kind = kind;
        n->line = at.line;
        n->column = at.column;
        return n;
    }

    std::unique_ptr<Node> parse_statement() {
        const Token& word = peek();
        if (word.type != Tok::Name) fail(word, "tag name expected");
        const std::string w = next().text;
        if (w == "if") return parse_if(word);
        if (w == "for") return parse_for(word);
        if (w == "set") return parse_set(word);
        if (w == "macro") return parse_macro(word);
        if (w == "call") return parse_call_block(word);
        if (w == "filter") return parse_filter_block(word);
        if ((w == "break" || w == "continue") && env_.loop_controls) {
            if (loops_ == 0) fail(word, "'" + w + "' outside of a loop");
            expect_block_end();
            return node(w == "break" ? Node::Kind::Break : Node::Kind::Continue, word);
        }
        if (w == "generation" || w == "block") {  // transformers' AssistantTracker; a block outside inheritance renders
            if (w == "block") expect_name();
            expect_block_end();
            auto n = node(Node::Kind::Scope, word);
            n->body = parse_body({"end" + w});
            ++p_;
            if (w == "block" && peek().type == Tok::Name) ++p_;
            expect_block_end();
            return n;
        }
        if (w == "with") {
            auto n = node(Node::Kind::With, word);
            while (peek().type != Tok::BlockEnd) {
                if (!n->params.empty()) expect_op(",");
                std::string target = expect_name();
                expect_op("=");
                n->params.emplace_back(target, parse_expression());
            }
            expect_block_end();
            n->body = parse_body({"endwith"});
            ++p_;
            expect_block_end();
            return n;
        }
        if (w == "include" || w == "import" || w == "from" || w == "extends")
            fail(word, "'" + w + "' is not available: a template cannot read other files");
        fail(word, "Encountered unknown tag '" + w + "'.");
    }

    std::unique_ptr<Node> parse_if(const Token& at) {
        auto n = node(Node::Kind::If, at);
        ExprPtr cond = parse_tuple();
        expect_block_end();
        while (true) {
            Body body = parse_body({"elif", "else", "endif"});
            n->branches.emplace_back(std::move(cond), std::move(body));
            const std::string w = next().text;
            if (w == "elif") {
                cond = parse_tuple();
                expect_block_end();
                continue;
            }
            if (w == "else") {
                expect_block_end();
                n->branches.emplace_back(nullptr, parse_body({"endif"}));
                ++p_;
            }
            expect_block_end();
            return n;
        }
    }

    std::unique_ptr<Node> parse_for(const Token& at) {
        auto n = node(Node::Kind::For, at);
        n->target = parse_assign_target(true);
        if (!is_name("in")) fail(peek(), "expected 'in'" + describe());
        ++p_;
        n->expr = parse_tuple(false, true);
        if (is_name("if")) {
            ++p_;
            n->condition = parse_expression();
        }
        if (is_name("recursive")) fail(peek(), "recursive loops are not supported");
        expect_block_end();
        ++loops_;
        n->body = parse_body({"endfor", "else"});
        --loops_;
        if (next().text == "else") {
            expect_block_end();
            n->else_body = parse_body({"endfor"});
            ++p_;
        }
        expect_block_end();
        return n;
    }

    std::unique_ptr<Node> parse_set(const Token& at) {
        ExprPtr target = parse_assign_target(true);
        if (is_op("=")) {
            ++p_;
            auto n = node(Node::Kind::Set, at);
            n->target = std::move(target);
            n->expr = parse_tuple();
            expect_block_end();
            return n;
        }
        auto n = node(Node::Kind::SetBlock, at);
        n->target = std::move(target);
        while (is_op("|")) {
            ++p_;
            n->filters.push_back(parse_filter_call(nullptr));
        }
        expect_block_end();
        n->body = parse_body({"endset"});
        ++p_;
        expect_block_end();
        return n;
    }

    void parse_signature(std::vector<std::pair<std::string, ExprPtr>>& params) {
        expect_op("(");
        while (!is_op(")")) {
            if (!params.empty()) expect_op(",");
            std::string p = expect_name();
            ExprPtr def;
            if (is_op("=")) {
                ++p_;
                def = parse_expression();
            }
            params.emplace_back(std::move(p), std::move(def));
        }
        ++p_;
    }

    std::unique_ptr<Node> parse_macro(const Token& at) {
        auto n = node(Node::Kind::Macro, at);
        n->text = expect_name();
        parse_signature(n->params);
        expect_block_end();
        const int loops = loops_;
        loops_ = 0;
        n->body = parse_body({"endmacro"});
        loops_ = loops;
        ++p_;
        if (peek().type == Tok::Name) ++p_;
        expect_block_end();
        return n;
    }

    std::unique_ptr<Node> parse_call_block(const Token& at) {
        auto n = node(Node::Kind::CallBlock, at);
        if (is_op("(")) parse_signature(n->params);
        n->expr = parse_expression();
        if (n->expr->kind != Expr::Kind::Call) fail(at, "expected a call");
        expect_block_end();
        n->body = parse_body({"endcall"});
        ++p_;
        expect_block_end();
        return n;
    }

    std::unique_ptr<Node> parse_filter_block(const Token& at) {
        auto n = node(Node::Kind::FilterBlock, at);
        n->filters.push_back(parse_filter_call(nullptr));
        while (is_op("|")) {
            ++p_;
            n->filters.push_back(parse_filter_call(nullptr));
        }
        expect_block_end();
        n->body = parse_body({"endfilter"});
        ++p_;
        expect_block_end();
        return n;
    }

    ExprPtr expr(Expr::Kind kind, const Token& at) {
        auto e = std::make_unique<Expr>();
        e->kind = kind;
        e->line = at.line;
        e->column = at.column;
        return e;
    }

    // A name, `a, b`, or ns.attr (set only).
    ExprPtr parse_assign_target(bool allow_tuple) {
        const Token& at = peek();
        auto one = [&]() -> ExprPtr {
            const Token& k = peek();
            auto e = expr(Expr::Kind::Name, k);
            e->name = expect_name();
            if (is_op(".")) {
                ++p_;
                auto a = expr(Expr::Kind::Attr, k);
                a->name = expect_name();
                a->items.push_back(std::move(e));
                return a;
            }
            return e;
        };
        if (is_op("(")) {
            ++p_;
            auto e = parse_assign_target(true);
            expect_op(")");
            return e;
        }
        ExprPtr first = one();
        if (!allow_tuple || !is_op(",")) return first;
        auto t = expr(Expr::Kind::Tuple, at);
        t->items.push_back(std::move(first));
        while (is_op(",")) {
            ++p_;
            if (peek().type != Tok::Name) break;
            t->items.push_back(one());
        }
        return t;
    }

    // expression (',' expression)* as a tuple when there is a comma; `in` ends it in a for's iterable.
    ExprPtr parse_tuple(bool simplified = false, bool stop_at_if = false) {
        const Token& at = peek();
        (void)simplified;
        ExprPtr first = parse_expression(!stop_at_if);
        if (!is_op(",")) return first;
        auto t = expr(Expr::Kind::Tuple, at);
        t->items.push_back(std::move(first));
        while (is_op(",")) {
            ++p_;
            if (peek().type == Tok::BlockEnd || peek().type == Tok::VarEnd || is_op(")") || is_name("if")) break;
            t->items.push_back(parse_expression(!stop_at_if));
        }
        return t;
    }

    ExprPtr parse_expression(bool with_condexpr = true) { return with_condexpr ? parse_condexpr() : parse_or(); }

    ExprPtr parse_condexpr() {
        const Token& at = peek();
        ExprPtr a = parse_or();
        while (is_name("if")) {
            ++p_;
            auto c = expr(Expr::Kind::Cond, at);
            ExprPtr cond = parse_or();
            ExprPtr otherwise;
            if (is_name("else")) {
                ++p_;
                otherwise = parse_condexpr();
            }
            c->items.push_back(std::move(a));
            c->items.push_back(std::move(cond));
            c->items.push_back(std::move(otherwise));
            a = std::move(c);
        }
        return a;
    }

    ExprPtr binary(Expr::Kind kind, const Token& at, ExprPtr a, ExprPtr b, std::string op = {}) {
        auto e = expr(kind, at);
        e->name = std::move(op);
        e->items.push_back(std::move(a));
        e->items.push_back(std::move(b));
        return e;
    }

    ExprPtr parse_or() {
        const Token& at = peek();
        ExprPtr a = parse_and();
        while (is_name("or")) {
            ++p_;
            a = binary(Expr::Kind::Or, at, std::move(a), parse_and());
        }
        return a;
    }
    ExprPtr parse_and() {
        const Token& at = peek();
        ExprPtr a = parse_not();
        while (is_name("and")) {
            ++p_;
            a = binary(Expr::Kind::And, at, std::move(a), parse_not());
        }
        return a;
    }
    ExprPtr parse_not() {
        if (is_name("not")) {
            const Token& at = next();
            auto e = expr(Expr::Kind::Not, at);
            e->items.push_back(parse_not());
            return e;
        }
        return parse_compare();
    }
    ExprPtr parse_compare() {
        const Token& at = peek();
        ExprPtr a = parse_math1();
        std::unique_ptr<Expr> cmp;
        while (true) {
            std::string op;
            if (peek().type == Tok::Op && (peek().text == "==" || peek().text == "!=" || peek().text == "<" || peek().text == ">" ||
                                           peek().text == "<=" || peek().text == ">=")) {
                op = next().text;
            } else if (is_name("in")) {
                ++p_;
                op = "in";
            } else if (is_name("not") && is_name("in", 1)) {
                p_ += 2;
                op = "not in";
            } else {
                break;
            }
            if (!cmp) {
                cmp = expr(Expr::Kind::Compare, at);
                cmp->items.push_back(std::move(a));
            }
            cmp->ops.push_back(op);
            cmp->items.push_back(parse_math1());
        }
        return cmp ? std::move(cmp) : std::move(a);
    }
    ExprPtr parse_math1() {
        const Token& at = peek();
        ExprPtr a = parse_concat();
        while (is_op("+") || is_op("-")) {
            std::string op = next().text;
            a = binary(Expr::Kind::Binary, at, std::move(a), parse_concat(), op);
        }
        return a;
    }
    ExprPtr parse_concat() {
        const Token& at = peek();
        ExprPtr a = parse_math2();
        while (is_op("~")) {
            ++p_;
            a = binary(Expr::Kind::Binary, at, std::move(a), parse_math2(), "~");
        }
        return a;
    }
    ExprPtr parse_math2() {
        const Token& at = peek();
        ExprPtr a = parse_pow();
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            std::string op = next().text;
            a = binary(Expr::Kind::Binary, at, std::move(a), parse_pow(), op);
        }
        return a;
    }
    ExprPtr parse_pow() {
        const Token& at = peek();
        ExprPtr a = parse_unary();
        while (is_op("**")) {
            ++p_;
            a = binary(Expr::Kind::Binary, at, std::move(a), parse_unary(), "**");
        }
        return a;
    }
    ExprPtr parse_unary(bool with_filter = true) {
        const Token& at = peek();
        ExprPtr e;
        if (is_op("-") || is_op("+")) {
            const bool neg = next().text == "-";
            e = expr(neg ? Expr::Kind::Neg : Expr::Kind::Pos, at);
            e->items.push_back(parse_unary(false));
        } else {
            e = parse_postfix(parse_primary());
        }
        return with_filter ? parse_filters(std::move(e)) : std::move(e);
    }

    ExprPtr parse_primary() {
        const Token& k = peek();
        switch (k.type) {
        case Tok::Name: {
            ++p_;
            if (k.text == "true" || k.text == "True") return literal(k, Value::boolean(true));
            if (k.text == "false" || k.text == "False") return literal(k, Value::boolean(false));
            if (k.text == "none" || k.text == "None") return literal(k, Value::none());
            auto e = expr(Expr::Kind::Name, k);
            e->name = k.text;
            return e;
        }
        case Tok::String: {
            std::string s;
            while (peek().type == Tok::String) s += next().text;  // adjacent literals join
            return literal(k, Value::string(s));
        }
        case Tok::Int: case Tok::Float: ++p_; return literal(k, k.value);
        case Tok::Op:
            if (k.text == "(") {
                ++p_;
                if (is_op(")")) {
                    ++p_;
                    return expr(Expr::Kind::Tuple, k);
                }
                ExprPtr first = parse_expression();
                if (is_op(")")) {
                    ++p_;
                    return first;
                }
                auto t = expr(Expr::Kind::Tuple, k);
                t->items.push_back(std::move(first));
                while (is_op(",")) {
                    ++p_;
                    if (is_op(")")) break;
                    t->items.push_back(parse_expression());
                }
                expect_op(")");
                return t;
            }
            if (k.text == "[") {
                ++p_;
                auto l = expr(Expr::Kind::ListLiteral, k);
                while (!is_op("]")) {
                    if (!l->items.empty()) expect_op(",");
                    if (is_op("]")) break;
                    l->items.push_back(parse_expression());
                }
                ++p_;
                return l;
            }
            if (k.text == "{") {
                ++p_;
                auto d = expr(Expr::Kind::Dict, k);
                while (!is_op("}")) {
                    if (!d->items.empty()) expect_op(",");
                    if (is_op("}")) break;
                    d->items.push_back(parse_expression());
                    expect_op(":");
                    d->items.push_back(parse_expression());
                }
                ++p_;
                return d;
            }
            break;
        default: break;
        }
        fail(k, "unexpected " + (k.type == Tok::BlockEnd ? std::string("end of statement block") : k.type == Tok::VarEnd ? std::string("'}}'")
                                 : k.type == Tok::End ? std::string("end of template") : "'" + k.text + "'"));
    }

    ExprPtr literal(const Token& at, Value v) {
        auto e = expr(Expr::Kind::Literal, at);
        e->literal = std::move(v);
        return e;
    }

    void parse_call_args(Expr& call) {
        expect_op("(");
        std::size_t given = 0;
        while (!is_op(")")) {
            if (given++ > 0) expect_op(",");
            if (is_op(")")) break;
            if (peek().type == Tok::Name && is_op("=", 1)) {
                std::string key = next().text;
                ++p_;
                call.named.emplace_back(std::move(key), parse_expression());
            } else {
                if (!call.named.empty()) fail(peek(), "positional argument follows keyword argument");
                call.items.push_back(parse_expression());
            }
        }
        ++p_;
    }

    ExprPtr parse_postfix(ExprPtr e) {
        while (true) {
            const Token& k = peek();
            if (is_op(".")) {
                ++p_;
                auto a = expr(Expr::Kind::Attr, k);
                if (peek().type == Tok::Int) {  // x.0 is x[0]
                    a->kind = Expr::Kind::Item;
                    a->items.push_back(std::move(e));
                    a->items.push_back(literal(peek(), next().value));
                } else {
                    a->name = expect_name();
                    a->items.push_back(std::move(e));
                }
                e = std::move(a);
            } else if (is_op("[")) {
                ++p_;
                e = parse_subscript(std::move(e), k);
                expect_op("]");
            } else if (is_op("(")) {
                auto c = expr(Expr::Kind::Call, k);
                c->items.push_back(std::move(e));
                parse_call_args(*c);
                e = std::move(c);
            } else {
                return e;
            }
        }
    }

    ExprPtr parse_subscript(ExprPtr on, const Token& at) {
        ExprPtr parts[3];
        bool slice = false;
        int part = 0;
        while (!is_op("]")) {
            if (is_op(":")) {
                ++p_;
                slice = true;
                if (++part > 2) fail(peek(), "expected ']'");
                continue;
            }
            if (parts[part]) fail(peek(), "expected ']'" + describe());
            parts[part] = parse_expression();
        }
        if (!slice) {
            if (!parts[0]) fail(at, "expected a subscript");
            auto e = expr(Expr::Kind::Item, at);
            e->items.push_back(std::move(on));
            e->items.push_back(std::move(parts[0]));
            return e;
        }
        auto e = expr(Expr::Kind::Slice, at);
        e->items.push_back(std::move(on));
        for (auto& p : parts) e->items.push_back(std::move(p));
        return e;
    }

    // name[(args)] as a Filter expression applied to `value` (null: filled at render time).
    ExprPtr parse_filter_call(ExprPtr value) {
        const Token& at = peek();
        auto f = expr(Expr::Kind::Filter, at);
        f->name = expect_name();
        while (is_op(".")) {  // dotted filter names
            ++p_;
            f->name += "." + expect_name();
        }
        f->items.push_back(std::move(value));
        if (is_op("(")) parse_call_args(*f);
        return f;
    }

    ExprPtr parse_filters(ExprPtr e) {
        while (true) {
            if (is_op("|")) {
                ++p_;
                e = parse_filter_call(std::move(e));
            } else if (is_name("is")) {
                const Token& at = next();
                auto t = expr(Expr::Kind::Test, at);
                if (is_name("not")) {
                    ++p_;
                    t->negated = true;
                }
                t->name = expect_name();
                while (is_op(".")) {
                    ++p_;
                    t->name += "." + expect_name();
                }
                t->items.push_back(std::move(e));
                if (is_op("(")) {
                    parse_call_args(*t);
                } else if ((peek().type == Tok::Name && !is_name("else") && !is_name("or") && !is_name("and") && !is_name("if") &&
                            !is_name("in") && !is_name("is") && !is_name("not")) ||
                           peek().type == Tok::String || peek().type == Tok::Int || peek().type == Tok::Float || is_op("[") || is_op("{") ||
                           is_op("-")) {
                    // one argument without parentheses: `is divisibleby 3`, `is sameas false`
                    t->items.push_back(parse_postfix(parse_primary()));
                }
                e = std::move(t);
            } else if (is_op("(")) {
                auto c = expr(Expr::Kind::Call, peek());
                c->items.push_back(std::move(e));
                parse_call_args(*c);
                e = std::move(c);
            } else {
                return e;
            }
        }
    }

    std::vector<Token> t_;
    const std::string& name_;
    const Environment& env_;
    std::size_t p_ = 0;
    int loops_ = 0;
};

}  // namespace

Program parse(std::string_view source, const std::string& name, const Environment& env) {
    Program prog;
    prog.name = name;
    Parser parser(lex(source, prog.name, env), prog.name, env);
    prog.body = parser.parse_all();
    return prog;
}

}  // namespace lmwb::jinja

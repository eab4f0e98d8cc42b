// Jinja2's lexer (lexer.py: whitespace control, trim_blocks, lstrip_blocks, raw blocks, the trailing newline) and
// parser (parser.py: operator precedence, filters and tests, the statements chat and task templates use).
#include <algorithm>
#include <cstring>

#include "jinja/parse.h"
#include "unicode.h"

namespace lmwb::jinja {

using namespace uni;

namespace {

enum class Tok { Data, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, End };

struct Token {
    Tok type;
    std::string text;
    int line = 0, column = 0;
    Value value;  // String, Int, Float
};

bool python_space(char32_t c) { return is_whitespace(c) || (c >= 0x1c && c <= 0x1f); }

// str.rstrip() of Unicode whitespace.
std::string rstrip_space(const std::string& s) {
    auto chars = decode_lossy(s);
    while (!chars.empty() && python_space(chars.back())) chars.pop_back();
    return to_utf8(chars);
}

bool all_space(std::string_view s) {
    if (s.empty()) return false;
    for (char32_t c : decode_lossy(s))
        if (!python_space(c)) return false;
    return true;
}

class Lexer {
public:
    Lexer(std::string_view source, const std::string& name, const Environment& env) : name_(name), env_(env) {
        // Newlines normalised to \n; without keep_trailing_newline one final newline goes.
        src_.reserve(source.size());
        for (std::size_t k = 0; k < source.size(); ++k) {
            if (source[k] == '\r') {
                src_ += '\n';
                if (k + 1 < source.size() && source[k + 1] == '\n') ++k;
            } else {
                src_ += source[k];
            }
        }
        if (!env.keep_trailing_newline && !src_.empty() && src_.back() == '\n') src_.pop_back();
    }

    std::vector<Token> run() {
        bool line_starting = true;
        while (pos_ < src_.size()) {
            std::size_t start = std::string::npos;
            for (const char* open : {"{{", "{%", "{#"}) start = std::min(start, src_.find(open, pos_));
            if (start == std::string::npos) {
                emit_data(src_.substr(pos_), pos_);
                break;
            }
            const char kind = src_[start + 1];
            std::size_t after = start + 2;
            const char sign = after < src_.size() && (src_[after] == '-' || src_[after] == '+') ? src_[after] : 0;
            std::string text = src_.substr(pos_, start - pos_);
            const std::size_t text_at = pos_;
            // The raw tag: {% raw %} … {% endraw %} is data.
            std::size_t raw_end = 0;
            const bool raw = kind == '%' && match_word_tag(after + (sign ? 1 : 0), "raw", raw_end);
            if (sign == '-') {
                text = rstrip_space(text);
            } else if (sign != '+' && env_.lstrip_blocks && kind != '{') {
                const std::size_t l = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
                if ((l > 0 || line_starting) && all_space(std::string_view(text).substr(l))) text.resize(l);
            }
            emit_data(text, text_at);
            if (raw) {
                lex_raw(raw_end, line_starting);
                continue;
            }
            pos_ = after + (sign ? 1 : 0);
            if (kind == '#') {
                lex_comment(start, line_starting);
                continue;
            }
            tokens_.push_back({kind == '{' ? Tok::VarBegin : Tok::BlockBegin, "", line_of(start), column_of(start), {}});
            lex_tag(kind, line_starting);
        }
        tokens_.push_back({Tok::End, "", line_of(src_.size()), column_of(src_.size()), {}});
        return std::move(tokens_);
    }

private:
    [[noreturn]] void fail(std::size_t at, const std::string& message) const { throw Error(name_, line_of(at), column_of(at), message); }

    int line_of(std::size_t at) const { return 1 + static_cast<int>(std::count(src_.begin(), src_.begin() + static_cast<std::ptrdiff_t>(std::min(at, src_.size())), '\n')); }
    int column_of(std::size_t at) const {
        at = std::min(at, src_.size());
        const std::size_t nl = at == 0 ? std::string::npos : src_.rfind('\n', at - 1);
        return static_cast<int>(decode_lossy(std::string_view(src_).substr(nl == std::string::npos ? 0 : nl + 1, at - (nl == std::string::npos ? 0 : nl + 1))).size()) + 1;
    }

    void emit_data(const std::string& text, std::size_t at) {
        if (!text.empty()) tokens_.push_back({Tok::Data, text, line_of(at), column_of(at), {}});
    }

    // At `p`: \s* WORD \s* (-%} | %}); `end` receives where the tag ends, after trim_blocks' newline.
    bool match_word_tag(std::size_t p, const char* word, std::size_t& end, bool* dash = nullptr) const {
        while (p < src_.size() && std::isspace(static_cast<unsigned char>(src_[p]))) ++p;
        const std::size_t n = std::strlen(word);
        if (src_.compare(p, n, word) != 0) return false;
        p += n;
        if (p < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[p])) || src_[p] == '_')) return false;
        while (p < src_.size() && std::isspace(static_cast<unsigned char>(src_[p]))) ++p;
        const bool dashed = src_.compare(p, 3, "-%}") == 0;
        if (dashed) p = after_end(p + 3, '-', true);
        else if (src_.compare(p, 2, "%}") == 0) p += 2;
        else return false;
        if (dash) *dash = dashed;
        end = p;
        return true;
    }

    // After a tag's end marker: -X} strips the whitespace after it, X} takes trim_blocks' newline.
    std::size_t after_end(std::size_t p, char sign, bool block_like) const {
        if (sign == '-') {
            while (p < src_.size()) {
                const auto c = static_cast<unsigned char>(src_[p]);
                if (std::isspace(c)) { ++p; continue; }
                // Unicode whitespace after the tag (\s in Python's re)
                std::size_t len = 1;
                if (c >= 0x80) {
                    const auto chars = decode_lossy(std::string_view(src_).substr(p, 4));
                    if (chars.empty() || !python_space(chars[0])) break;
                    len = utf8_length(chars[0]);
                } else {
                    break;
                }
                p += len;
            }
        } else if (sign == 0 && block_like && env_.trim_blocks && p < src_.size() && src_[p] == '\n') {
            ++p;
        }
        return p;
    }

    void lex_raw(std::size_t from, bool& line_starting) {
        std::size_t p = from;
        while (true) {
            const std::size_t open = src_.find("{%", p);
            if (open == std::string::npos) fail(from, "Missing end of raw directive");
            std::size_t q = open + 2;
            const char sign = q < src_.size() && (src_[q] == '-' || src_[q] == '+') ? src_[q] : 0;
            std::size_t end = 0;
            bool dashed = false;
            if (match_word_tag(q + (sign ? 1 : 0), "endraw", end, &dashed)) {
                std::string text = src_.substr(from, open - from);
                if (sign == '-') text = rstrip_space(text);
                else if (sign != '+' && env_.lstrip_blocks) {
                    const std::size_t l = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
                    if (l > 0 && all_space(std::string_view(text).substr(l))) text.resize(l);
                }
                emit_data(text, from);
                pos_ = dashed ? end : after_end(end, 0, true);  // "%}" takes trim_blocks' newline
                line_starting = pos_ > 0 && src_[pos_ - 1] == '\n';
                return;
            }
            p = open + 2;
        }
    }

    void lex_comment(std::size_t start, bool& line_starting) {
        for (std::size_t p = pos_; p < src_.size(); ++p) {
            if (src_.compare(p, 3, "+#}") == 0) { pos_ = p + 3; line_starting = false; return; }
            if (src_.compare(p, 3, "-#}") == 0) { pos_ = after_end(p + 3, '-', true); line_starting = pos_ > 0 && src_[pos_ - 1] == '\n'; return; }
            if (src_.compare(p, 2, "#}") == 0) { pos_ = after_end(p + 2, 0, true); line_starting = pos_ > 0 && src_[pos_ - 1] == '\n'; return; }
        }
        fail(start, "Missing end of comment tag");
    }

    void lex_tag(char kind, bool& line_starting) {
        const std::string close = kind == '{' ? "}}" : "%}";
        const bool block = kind == '%';
        std::vector<char> balance;
        while (true) {
            if (pos_ >= src_.size()) fail(pos_, std::string("unexpected end of template, expected '") + close + "'");
            const char c = src_[pos_];
            if (balance.empty()) {
                if (block && src_.compare(pos_, 3, "+%}") == 0) { end_tag(pos_, pos_ + 3, line_starting, block); return; }
                if (src_.compare(pos_, 3, "-" + close) == 0) { end_tag(pos_, after_end(pos_ + 3, '-', block), line_starting, block); return; }
                if (src_.compare(pos_, 2, close) == 0) { end_tag(pos_, block ? after_end(pos_ + 2, 0, true) : pos_ + 2, line_starting, block); return; }
            }
            if (std::isspace(static_cast<unsigned char>(c))) { ++pos_; continue; }
            const std::size_t at = pos_;
            if (std::isdigit(static_cast<unsigned char>(c))) { lex_number(); continue; }
            if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
                while (pos_ < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) ++pos_;
                tokens_.push_back({Tok::Name, src_.substr(at, pos_ - at), line_of(at), column_of(at), {}});
                continue;
            }
            if (c == '\'' || c == '"') { lex_string(); continue; }
            static const char* ops[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}",
                                        ">", "<", "=", ".", ":", "|", ",", ";"};
            bool found = false;
            for (const char* op : ops) {
                const std::size_t n = std::strlen(op);
                if (src_.compare(pos_, n, op) != 0) continue;
                const std::string o(op);
                if (o == "(" || o == "[" || o == "{") balance.push_back(o == "(" ? ')' : o == "[" ? ']' : '}');
                else if (o == ")" || o == "]" || o == "}") {
                    if (balance.empty()) fail(at, "unexpected '" + o + "'");
                    if (balance.back() != o[0]) fail(at, "unexpected '" + o + "', expected '" + std::string(1, balance.back()) + "'");
                    balance.pop_back();
                }
                tokens_.push_back({Tok::Op, o, line_of(at), column_of(at), {}});
                pos_ += n;
                found = true;
                break;
            }
            if (!found) fail(at, std::string("unexpected char '") + c + "'");
        }
    }

    void end_tag(std::size_t at, std::size_t next, bool& line_starting, bool block) {
        tokens_.push_back({block ? Tok::BlockEnd : Tok::VarEnd, "", line_of(at), column_of(at), {}});
        pos_ = next;
        line_starting = pos_ > 0 && src_[pos_ - 1] == '\n';
    }

    void lex_number() {
        const std::size_t at = pos_;
        auto digits = [&] {
            while (pos_ < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[pos_])) || (src_[pos_] == '_' && pos_ + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))))) ++pos_;
        };
        digits();
        bool is_float = false;
        if (pos_ + 1 < src_.size() && src_[pos_] == '.' && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))) {
            ++pos_;
            digits();
            is_float = true;
        }
        if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
            std::size_t q = pos_ + 1;
            if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
            if (q < src_.size() && std::isdigit(static_cast<unsigned char>(src_[q]))) {
                pos_ = q;
                digits();
                is_float = true;
            }
        }
        std::string text = src_.substr(at, pos_ - at);
        text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
        Token t{is_float ? Tok::Float : Tok::Int, text, line_of(at), column_of(at), {}};
        try {
            t.value = is_float ? Value::number(std::stod(text)) : Value::integer(std::stoll(text));
        } catch (const std::exception&) {
            fail(at, "number '" + text + "' is out of range");
        }
        tokens_.push_back(std::move(t));
    }

    // Python's unicode-escape decoding of the literal's body (jinja2's lexer does the same).
    void lex_string() {
        const std::size_t at = pos_;
        const char q = src_[pos_++];
        std::string out;
        while (true) {
            if (pos_ >= src_.size()) fail(at, "unexpected end of string");
            const char c = src_[pos_++];
            if (c == q) break;
            if (c != '\\') { out += c; continue; }
            if (pos_ >= src_.size()) fail(at, "unexpected end of string");
            const char e = src_[pos_++];
            auto hex = [&](int n) {
                if (pos_ + static_cast<std::size_t>(n) > src_.size()) fail(at, "truncated \\x, \\u or \\U escape");
                const std::string h = src_.substr(pos_, static_cast<std::size_t>(n));
                if (!std::all_of(h.begin(), h.end(), [](char x) { return std::isxdigit(static_cast<unsigned char>(x)); }))
                    fail(at, "truncated \\x, \\u or \\U escape");
                pos_ += static_cast<std::size_t>(n);
                append_utf8(out, static_cast<char32_t>(std::stoul(h, nullptr, 16)));
            };
            switch (e) {
            case '\n': break;
            case '\\': out += '\\'; break;
            case '\'': out += '\''; break;
            case '"': out += '"'; break;
            case 'a': out += '\a'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'v': out += '\v'; break;
            case 'x': hex(2); break;
            case 'u': hex(4); break;
            case 'U': hex(8); break;
            default:
                if (e >= '0' && e <= '7') {
                    int v = e - '0';
                    for (int k = 0; k < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7'; ++k) v = v * 8 + (src_[pos_++] - '0');
                    append_utf8(out, static_cast<char32_t>(v));
                } else {
                    out += '\\';
                    out += e;
                }
            }
        }
        tokens_.push_back({Tok::String, out, line_of(at), column_of(at), Value::string(out)});
    }

    std::string src_;
    const std::string& name_;
    const Environment& env_;
    std::size_t pos_ = 0;
    std::vector<Token> tokens_;
};

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
    Lexer lexer(source, prog.name, env);
    Parser parser(lexer.run(), prog.name, env);
    prog.body = parser.parse_all();
    return prog;
}

}  // namespace lmwb::jinja

// Jinja2's lexer (lexer.py): the template's text and tags as tokens — whitespace control (-, +), trim_blocks,
// lstrip_blocks, raw blocks, newlines normalised and the trailing newline dropped unless kept.
#include "jinja/lexer.h"

#include <algorithm>
#include <cstring>

#include "lmwb/text.h"
#include "unicode.h"

namespace lmwb::jinja {

using namespace uni;

namespace {

// str.rstrip() of Unicode whitespace.
std::string rstrip_space(const std::string& s) {
    auto chars = decode_lossy(s);
    while (!chars.empty() && text::is_space(chars.back())) chars.pop_back();
    return to_utf8(chars);
}

bool all_space(std::string_view s) {
    if (s.empty()) return false;
    for (char32_t c : decode_lossy(s))
        if (!text::is_space(c)) return false;
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
                    if (chars.empty() || !text::is_space(chars[0])) break;
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

}  // namespace

std::vector<Token> lex(std::string_view source, const std::string& name, const Environment& env) { return Lexer(source, name, env).run(); }

}  // namespace lmwb::jinja

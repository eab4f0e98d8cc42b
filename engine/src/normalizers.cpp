#include <algorithm>
#include <memory>

#include "components.h"
#include "regex.h"
#include "unicode.h"

namespace lmwb {

namespace {

bool all_ascii(const std::u32string& s) {
    for (char32_t c : s)
        if (c >= 0x80) return false;
    return true;
}

// Normalizes segment by segment (a starter and the marks after it) so that alignments stay per segment.
void unicode_normalize(NormString& s, uni::Form form) {
    if (all_ascii(s.text)) return;
    bool compat = form == uni::Form::NFKC || form == uni::Form::NFKD;
    NormString out;
    out.text.reserve(s.text.size());
    out.align.reserve(s.text.size());
    std::size_t i = 0, n = s.text.size();
    while (i < n) {
        std::size_t j = i + 1;
        while (j < n && !uni::starts_segment(s.text[j], compat)) ++j;
        if (j == i + 1 && s.text[i] < 0x80) {
            out.text.push_back(s.text[i]);
            out.align.push_back(s.align[i]);
        } else {
            std::u32string_view seg(s.text.data() + i, j - i);
            std::u32string norm;
            std::vector<std::uint32_t> consumed;
            bool tracked = uni::normalize_tracked(seg, form, norm, consumed);
            if (!tracked) norm = uni::normalize_utf8proc(seg, form);
            if (norm == seg) {
                out.align.insert(out.align.end(), s.align.begin() + static_cast<std::ptrdiff_t>(i),
                                 s.align.begin() + static_cast<std::ptrdiff_t>(j));
            } else if (tracked) {
                // As the reference's alignment tracking: an output code point takes the bytes of the first
                // input code point it consumes; one that consumes none, those of the previous input.
                std::size_t next = 0;
                for (std::size_t k = 0; k < norm.size(); ++k) {
                    if (consumed[k] > 0) {
                        out.align.push_back(s.align[i + std::min(next, j - i - 1)]);
                        next += consumed[k];
                    } else {
                        out.align.push_back(next == 0 ? s.align[i] : s.align[i + std::min(next - 1, j - i - 1)]);
                    }
                }
            } else {
                for (std::size_t k = 0; k < norm.size(); ++k) out.align.push_back(s.align[i + std::min(k, j - i - 1)]);
            }
            out.text += norm;
        }
        i = j;
    }
    s = std::move(out);
}

void lowercase(NormString& s) {
    s.map_chars([](char32_t c, std::u32string& out) { out += uni::to_lower(c); });
}

void remove_chars(NormString& s, bool (*pred)(char32_t)) {
    s.map_chars([pred](char32_t c, std::u32string& out) {
        if (!pred(c)) out.push_back(c);
    });
}

struct UnicodeForm : Normalizer {
    uni::Form form;
    explicit UnicodeForm(uni::Form f) : form(f) {}
    void normalize(NormString& s) const override { unicode_normalize(s, form); }
};

struct Lowercase : Normalizer {
    void normalize(NormString& s) const override { lowercase(s); }
};

struct Strip : Normalizer {
    bool left, right;
    Strip(bool l, bool r) : left(l), right(r) {}
    void normalize(NormString& s) const override { s.strip(left, right); }
};

struct StripAccents : Normalizer {
    void normalize(NormString& s) const override { remove_chars(s, uni::is_combining_mark); }
};

struct Prepend : Normalizer {
    std::u32string prefix;
    void normalize(NormString& s) const override {
        if (!s.empty()) s.prepend(prefix);
    }
};

struct Replace : Normalizer {
    std::unique_ptr<Regex> re;
    std::u32string content;
    void normalize(NormString& s) const override {
        MatchList matches;
        find_matches(*re, s.text, matches);
        if (matches.size() == 1 && !matches[0].second) return;
        NormString out;
        for (auto& [r, is_match] : matches) {
            if (!is_match) {
                out.text.append(s.text, r.first, r.second - r.first);
                out.align.insert(out.align.end(), s.align.begin() + r.first, s.align.begin() + r.second);
            } else {
                // The reference aligns inserted text with the last replaced code point.
                ByteRange a = s.align[r.second - 1];
                out.text += content;
                out.align.insert(out.align.end(), content.size(), a);
            }
        }
        s = std::move(out);
    }
};

bool is_chinese_char(char32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

struct BertNormalizer : Normalizer {
    bool clean_text = true, handle_chinese_chars = true, strip_accents_ = false, lowercase_ = true;
    void normalize(NormString& s) const override {
        if (clean_text) {
            s.map_chars([](char32_t c, std::u32string& out) {
                if (uni::is_bert_removed(c)) return;  // NUL, U+FFFD and the reference's control characters
                out.push_back(uni::is_whitespace(c) ? U' ' : c);
            });
        }
        if (handle_chinese_chars) {
            s.map_chars([](char32_t c, std::u32string& out) {
                if (is_chinese_char(c)) {
                    out.push_back(U' ');
                    out.push_back(c);
                    out.push_back(U' ');
                } else {
                    out.push_back(c);
                }
            });
        }
        if (strip_accents_) {
            unicode_normalize(s, uni::Form::NFD);
            remove_chars(s, uni::is_nonspacing_mark);
        }
        if (lowercase_) lowercase(s);
    }
};

struct ByteLevelNormalizer : Normalizer {
    void normalize(NormString& s) const override {
        s.map_chars(append_byte_chars);
    }
};

// SentencePiece's NMT normalization: drops control characters, maps odd spaces to ' '.
struct Nmt : Normalizer {
    void normalize(NormString& s) const override {
        s.map_chars([](char32_t c, std::u32string& out) {
            if ((c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || c == 0x8F || c == 0x9F)
                return;
            bool space = c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D || c == 0x1680 || (c >= 0x200B && c <= 0x200F) ||
                         c == 0x2028 || c == 0x2029 || c == 0x2581 || c == 0xFEFF || c == 0xFFFD;
            out.push_back(space ? U' ' : c);
        });
    }
};

struct Sequence : Normalizer {
    std::vector<std::unique_ptr<Normalizer>> items;
    void normalize(NormString& s) const override {
        for (auto& n : items) {
            n->normalize(s);
            check_expansion(s.size(), "normalizers");
        }
    }
};

}  // namespace

std::unique_ptr<Regex> compile_regex(const JsonNode& where, const std::string& pattern) {
    try {
        return std::make_unique<Regex>(pattern);
    } catch (const std::invalid_argument& e) {
        where.fail(e.what());
    }
}

std::unique_ptr<Regex> make_pattern(const JsonNode& pattern) {
    if (pattern.has("String")) return compile_regex(pattern, regex_escape(pattern.at("String").str()));
    if (pattern.has("Regex")) return compile_regex(pattern, pattern.at("Regex").str());
    pattern.fail("expected {\"String\": ...} or {\"Regex\": ...}");
}

std::unique_ptr<Normalizer> make_normalizer(const JsonNode& j) {
    std::string type = j.at("type").str();
    if (type == "NFC") return std::make_unique<UnicodeForm>(uni::Form::NFC);
    if (type == "NFD") return std::make_unique<UnicodeForm>(uni::Form::NFD);
    if (type == "NFKC") return std::make_unique<UnicodeForm>(uni::Form::NFKC);
    if (type == "NFKD") return std::make_unique<UnicodeForm>(uni::Form::NFKD);
    if (type == "Lowercase") return std::make_unique<Lowercase>();
    if (type == "StripAccents") return std::make_unique<StripAccents>();
    if (type == "Strip") return std::make_unique<Strip>(j.boolean("strip_left", true), j.boolean("strip_right", true));
    if (type == "Prepend") {
        auto p = std::make_unique<Prepend>();
        p->prefix = uni::decode_lossy(j.at("prepend").str());
        return p;
    }
    if (type == "Replace") {
        auto r = std::make_unique<Replace>();
        r->re = make_pattern(j.at("pattern"));
        r->content = uni::decode_lossy(j.at("content").str());
        return r;
    }
    if (type == "BertNormalizer") {
        auto b = std::make_unique<BertNormalizer>();
        b->clean_text = j.boolean("clean_text", true);
        b->handle_chinese_chars = j.boolean("handle_chinese_chars", true);
        b->lowercase_ = j.boolean("lowercase", true);
        b->strip_accents_ = j.boolean("strip_accents", b->lowercase_);
        return b;
    }
    if (type == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
    if (type == "Nmt") return std::make_unique<Nmt>();
    if (type == "Sequence") {
        auto seq = std::make_unique<Sequence>();
        JsonNode items = j.at("normalizers");
        for (std::size_t i = 0; i < items.size(); ++i) seq->items.push_back(make_normalizer(items.at(i)));
        return seq;
    }
    j.at("type").fail("unsupported normalizer type '" + type + "'");
}

}  // namespace lmwb

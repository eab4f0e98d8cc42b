#include <algorithm>
#include <memory>

#include "components.h"
#include "regex.h"
#include "unicode.h"

namespace lmwb {

const char32_t* byte_to_unicode() {
    static const auto table = [] {
        static char32_t t[256];
        int n = 0;
        for (int b = 0; b < 256; ++b) {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            t[b] = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
        }
        return t;
    }();
    return table;
}

void append_byte_chars(char32_t c, std::u32string& out) {
    const char32_t* table = byte_to_unicode();
    if (c < 0x80) {
        out.push_back(table[c]);
        return;
    }
    char buf[4];
    int n = c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (n == 2) { buf[0] = static_cast<char>(0xC0 | (c >> 6)); }
    else if (n == 3) { buf[0] = static_cast<char>(0xE0 | (c >> 12)); buf[1] = static_cast<char>(0x80 | ((c >> 6) & 0x3F)); }
    else {
        buf[0] = static_cast<char>(0xF0 | (c >> 18));
        buf[1] = static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        buf[2] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    }
    buf[n - 1] = static_cast<char>(0x80 | (c & 0x3F));
    for (int i = 0; i < n; ++i) out.push_back(table[static_cast<unsigned char>(buf[i])]);
}

int unicode_to_byte(char32_t c) {
    static const auto inverse = [] {
        std::vector<int> inv(512, -1);
        const char32_t* t = byte_to_unicode();
        for (int b = 0; b < 256; ++b) inv[t[b]] = b;
        return inv;
    }();
    return c < 512 ? inverse[c] : -1;
}

namespace {

SplitBehavior parse_behavior(const JsonNode& j) {
    std::string b = j.str();
    if (b == "Removed") return SplitBehavior::Removed;
    if (b == "Isolated") return SplitBehavior::Isolated;
    if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
    if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
    if (b == "Contiguous") return SplitBehavior::Contiguous;
    j.fail("unknown split behavior '" + b + "'");
}

struct RegexSplit : PreTokenizer {
    std::unique_ptr<Regex> re;
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false;
    void split(NormString&& piece, std::vector<NormString>& out) const override {
        thread_local MatchList matches;
        find_matches(*re, piece.text, matches);
        split_pieces(piece, matches, behavior, invert, out);
    }
};

struct CharSplit : PreTokenizer {
    bool (*pred)(char32_t) = nullptr;
    SplitBehavior behavior = SplitBehavior::Isolated;
    void split(NormString&& piece, std::vector<NormString>& out) const override {
        MatchList matches;
        find_matches(pred, piece.text, matches);
        split_pieces(piece, matches, behavior, false, out);
    }
};

const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct ByteLevel : PreTokenizer {
    bool add_prefix_space = true;
    bool use_regex = true;
    std::unique_ptr<Regex> re;
    void split(NormString&& piece, std::vector<NormString>& out) const override {
        if (add_prefix_space && (piece.empty() || piece.text[0] != U' ')) piece.prepend(U" ");
        if (piece.empty()) return;
        thread_local std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges;
        if (use_regex) {
            re->find_all(piece.text, ranges);  // Isolated: matches and the gaps between them all become pieces
            std::uint32_t prev = 0, n = static_cast<std::uint32_t>(piece.size());
            std::size_t count = ranges.size();
            for (std::size_t i = 0; i < count; ++i) {
                if (ranges[i].first != prev) ranges.emplace_back(prev, ranges[i].first);
                prev = ranges[i].second;
            }
            if (prev != n) ranges.emplace_back(prev, n);
            if (ranges.size() != count) std::sort(ranges.begin(), ranges.end());
        } else {
            bool ascii = std::all_of(piece.text.begin(), piece.text.end(), [](char32_t c) { return c < 0x80; });
            if (ascii) {  // one byte per code point: map in place, alignments unchanged
                const char32_t* table = byte_to_unicode();
                for (char32_t& c : piece.text) c = table[c];
                out.push_back(std::move(piece));
                return;
            }
            ranges.assign(1, {0u, static_cast<std::uint32_t>(piece.size())});
        }
        // Slice and map to the byte alphabet in one pass.
        const char32_t* table = byte_to_unicode();
        for (auto [b, e] : ranges) {
            NormString& s = out.emplace_back();
            s.text.reserve(e - b);
            s.align.reserve(e - b);
            for (std::uint32_t i = b; i < e; ++i) {
                char32_t c = piece.text[i];
                if (c < 0x80) {
                    s.text.push_back(table[c]);
                    s.align.push_back(piece.align[i]);
                    continue;
                }
                std::size_t before = s.text.size();
                append_byte_chars(c, s.text);
                s.align.insert(s.align.end(), s.text.size() - before, piece.align[i]);
            }
        }
    }
};

struct Metaspace : PreTokenizer {
    char32_t replacement = U'\u2581';
    enum class Prepend { Always, Never, First } scheme = Prepend::Always;
    bool split_ = true;
    void split(NormString&& piece, std::vector<NormString>& out) const override {
        for (char32_t& c : piece.text)
            if (c == U' ') c = replacement;
        bool starts = !piece.empty() && piece.text[0] == replacement;
        if (!starts && !piece.empty()) {
            if (scheme == Prepend::Always || (scheme == Prepend::First && piece.align[0].begin == 0))
                piece.prepend(std::u32string(1, replacement));
        }
        if (!split_) {
            if (!piece.empty()) out.push_back(std::move(piece));
            return;
        }
        MatchList matches;
        char32_t r = replacement;
        find_matches([r](char32_t c) { return c == r; }, piece.text, matches);
        split_pieces(piece, matches, SplitBehavior::MergedWithNext, false, out);
    }
};

// The reference's \w+|[^\w\s]+ with Rust's regex classes: runs of word characters, runs of other
// non-space characters; spaces dropped.
struct Whitespace : PreTokenizer {
    void split(NormString&& piece, std::vector<NormString>& out) const override {
        const std::u32string& t = piece.text;
        std::size_t i = 0, n = t.size();
        while (i < n) {
            if (uni::is_whitespace(t[i])) { ++i; continue; }
            bool word = uni::is_rust_word(t[i]);
            std::size_t j = i + 1;
            while (j < n && !uni::is_whitespace(t[j]) && uni::is_rust_word(t[j]) == word) ++j;
            out.push_back(piece.slice(i, j));
            i = j;
        }
    }
};

bool is_any_punctuation(char32_t c) { return uni::is_reference_punctuation(c); }

struct BertPreTokenizer : PreTokenizer {
    void split(NormString&& piece, std::vector<NormString>& out) const override {
        std::vector<NormString> words;
        MatchList matches;
        find_matches(uni::is_whitespace, piece.text, matches);
        split_pieces(piece, matches, SplitBehavior::Removed, false, words);
        for (auto& w : words) {
            find_matches(is_any_punctuation, w.text, matches);
            split_pieces(w, matches, SplitBehavior::Isolated, false, out);
        }
    }
};

struct Sequence : PreTokenizer {
    std::vector<std::unique_ptr<PreTokenizer>> items;
    void split(NormString&& piece, std::vector<NormString>& out) const override {
        std::vector<NormString> cur, next;
        cur.reserve(piece.size() / 3 + 4);
        next.reserve(piece.size() / 3 + 4);
        cur.push_back(std::move(piece));
        for (auto& p : items) {
            next.clear();
            std::size_t total = 0;
            for (auto& s : cur) p->split(std::move(s), next);
            for (const auto& s : next) total += s.size() + 1;  // a piece costs at least its own entry
            check_expansion(total, "pre-tokenizers");
            std::swap(cur, next);
        }
        for (auto& s : cur) out.push_back(std::move(s));
    }
};

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const JsonNode& j) {
    std::string type = j.at("type").str();
    if (type == "ByteLevel") {
        auto b = std::make_unique<ByteLevel>();
        b->add_prefix_space = j.boolean("add_prefix_space", true);
        b->use_regex = j.boolean("use_regex", true);
        b->re = compile_regex(j, kGpt2Pattern);
        return b;
    }
    if (type == "Split") {
        auto s = std::make_unique<RegexSplit>();
        s->re = make_pattern(j.at("pattern"));
        s->behavior = parse_behavior(j.at("behavior"));
        s->invert = j.boolean("invert", false);
        return s;
    }
    if (type == "Metaspace") {
        auto m = std::make_unique<Metaspace>();
        std::u32string rep = uni::decode_lossy(j.str("replacement", "\u2581"));
        if (rep.size() != 1) j.at("replacement").fail("expected a single character");
        m->replacement = rep[0];
        m->split_ = j.boolean("split", true);
        if (j.has("prepend_scheme")) {
            std::string s = j.at("prepend_scheme").str();
            if (s == "always") m->scheme = Metaspace::Prepend::Always;
            else if (s == "never") m->scheme = Metaspace::Prepend::Never;
            else if (s == "first") m->scheme = Metaspace::Prepend::First;
            else j.at("prepend_scheme").fail("unknown prepend_scheme '" + s + "'");
        } else if (j.has("add_prefix_space")) {
            m->scheme = j.at("add_prefix_space").boolean() ? Metaspace::Prepend::Always : Metaspace::Prepend::Never;
        }
        return m;
    }
    if (type == "Whitespace") return std::make_unique<Whitespace>();
    if (type == "WhitespaceSplit") {
        auto s = std::make_unique<CharSplit>();
        s->pred = uni::is_whitespace;
        s->behavior = SplitBehavior::Removed;
        return s;
    }
    if (type == "Punctuation") {
        auto s = std::make_unique<CharSplit>();
        s->pred = is_any_punctuation;
        s->behavior = j.has("behavior") ? parse_behavior(j.at("behavior")) : SplitBehavior::Isolated;
        return s;
    }
    if (type == "Digits") {
        auto s = std::make_unique<CharSplit>();
        s->pred = uni::is_numeric;
        s->behavior = j.boolean("individual_digits", false) ? SplitBehavior::Isolated : SplitBehavior::Contiguous;
        return s;
    }
    if (type == "CharDelimiterSplit") {
        std::u32string d = uni::decode_lossy(j.at("delimiter").str());
        if (d.size() != 1) j.at("delimiter").fail("expected a single character");
        auto s = std::make_unique<RegexSplit>();
        s->re = compile_regex(j, regex_escape(j.at("delimiter").str()));
        s->behavior = SplitBehavior::Removed;
        return s;
    }
    if (type == "BertPreTokenizer") return std::make_unique<BertPreTokenizer>();
    if (type == "Sequence") {
        auto seq = std::make_unique<Sequence>();
        JsonNode items = j.at("pretokenizers");
        for (std::size_t i = 0; i < items.size(); ++i) seq->items.push_back(make_pre_tokenizer(items.at(i)));
        return seq;
    }
    j.at("type").fail("unsupported pre-tokenizer type '" + type + "'");
}

}  // namespace lmwb

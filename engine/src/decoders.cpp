#include <memory>

#include "components.h"
#include "regex.h"
#include "unicode.h"

namespace lmwb {

std::string cleanup_tokenization(std::string s) {
    static const std::pair<const char*, const char*> rules[] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
        {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (auto [from, to] : rules) {
        std::string out;
        std::string_view f(from);
        std::size_t pos = 0;
        for (;;) {
            std::size_t hit = s.find(f, pos);
            if (hit == std::string::npos) break;
            out.append(s, pos, hit - pos);
            out += to;
            pos = hit + f.size();
        }
        out.append(s, pos, std::string::npos);
        s = std::move(out);
    }
    return s;
}

namespace {

std::string utf8_lossy(const std::string& bytes) { return uni::to_utf8(uni::decode_lossy(bytes)); }

bool valid_utf8(const std::string& bytes) {
    std::u32string c;
    std::vector<std::uint32_t> starts;
    uni::decode_lossy(bytes, c, starts);
    return uni::to_utf8(c) == bytes;
}

struct ByteLevelDecoder : Decoder {
    void decode_chain(std::vector<std::string>& tokens) const override {
        std::string bytes;
        for (auto& t : tokens) {
            std::u32string chars = uni::decode_lossy(t);
            std::string tb;
            bool all = true;
            for (char32_t c : chars) {
                int b = unicode_to_byte(c);
                if (b < 0) { all = false; break; }
                tb.push_back(static_cast<char>(b));
            }
            bytes += all ? tb : t;
        }
        tokens.assign(1, utf8_lossy(bytes));
    }
};

struct MetaspaceDecoder : Decoder {
    char32_t replacement = U'\u2581';
    bool prepend_never = false;
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            std::u32string out;
            for (char32_t c : uni::decode_lossy(tokens[i])) {
                if (c != replacement) out.push_back(c);
                else if (i != 0 || prepend_never) out.push_back(U' ');
            }
            tokens[i] = uni::to_utf8(out);
        }
    }
};

struct ByteFallbackDecoder : Decoder {
    void decode_chain(std::vector<std::string>& tokens) const override {
        std::vector<std::string> out;
        std::string pending;
        auto flush = [&] {
            if (pending.empty()) return;
            if (valid_utf8(pending)) out.push_back(pending);
            else for (std::size_t i = 0; i < pending.size(); ++i) out.push_back("\xEF\xBF\xBD");
            pending.clear();
        };
        for (auto& t : tokens) {
            auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
            if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && hex(t[3]) && hex(t[4])) {
                pending.push_back(static_cast<char>(std::stoi(t.substr(3, 2), nullptr, 16)));
            } else {
                flush();
                out.push_back(t);
            }
        }
        flush();
        tokens = std::move(out);
    }
};

struct FuseDecoder : Decoder {
    void decode_chain(std::vector<std::string>& tokens) const override {
        std::string all;
        for (auto& t : tokens) all += t;
        tokens.assign(1, all);
    }
};

struct StripDecoder : Decoder {
    char32_t content = U' ';
    std::size_t start = 0, stop = 0;
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (auto& t : tokens) {
            std::u32string c = uni::decode_lossy(t);
            std::size_t b = 0, e = c.size();
            for (std::size_t i = 0; i < start && i < c.size() && c[i] == content; ++i) b = i + 1;
            for (std::size_t i = 0; i < stop && i < c.size(); ++i) {
                std::size_t idx = c.size() - i - 1;
                if (c[idx] != content) break;
                e = idx;
            }
            t = b < e ? uni::to_utf8(std::u32string_view(c).substr(b, e - b)) : std::string();
        }
    }
};

struct ReplaceDecoder : Decoder {
    std::unique_ptr<Regex> re;
    std::string content;
    void decode_chain(std::vector<std::string>& tokens) const override {
        MatchList matches;
        for (auto& t : tokens) {
            std::u32string c = uni::decode_lossy(t);
            find_matches(*re, c, matches);
            std::string out;
            for (auto& [r, is_match] : matches) {
                if (is_match) out += content;
                else out += uni::to_utf8(std::u32string_view(c).substr(r.first, r.second - r.first));
            }
            t = std::move(out);
        }
    }
};

struct WordPieceDecoder : Decoder {
    std::string prefix = "##";
    bool cleanup = true;
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            auto& t = tokens[i];
            if (i != 0) {
                if (t.compare(0, prefix.size(), prefix) == 0) t.erase(0, prefix.size());
                else t.insert(0, " ");
            }
            if (cleanup) t = cleanup_tokenization(t);
        }
    }
};

struct BpeDecoder : Decoder {
    std::string suffix = "</w>";
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            std::string& t = tokens[i];
            std::string rep = i + 1 == tokens.size() ? "" : " ";
            std::string out;
            std::size_t pos = 0;
            for (std::size_t hit; !suffix.empty() && (hit = t.find(suffix, pos)) != std::string::npos; pos = hit + suffix.size())
                out += t.substr(pos, hit - pos) + rep;
            out += t.substr(pos);
            t = std::move(out);
        }
    }
};

struct CtcDecoder : Decoder {
    std::string pad = "<pad>", delimiter = "|";
    bool cleanup = true;
    static std::string replace_all(const std::string& s, const std::string& from, const std::string& to) {
        if (from.empty()) return s;
        std::string out;
        std::size_t pos = 0;
        for (std::size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size())
            out += s.substr(pos, hit - pos) + to;
        return out + s.substr(pos);
    }
    void decode_chain(std::vector<std::string>& tokens) const override {
        std::vector<std::string> out;
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            if (i > 0 && tokens[i] == tokens[i - 1]) continue;  // collapse repeats
            std::string t = replace_all(tokens[i], pad, "");
            if (cleanup) t = replace_all(cleanup_tokenization(t), delimiter, " ");
            if (!t.empty()) out.push_back(std::move(t));
        }
        tokens = std::move(out);
    }
};

struct SequenceDecoder : Decoder {
    std::vector<std::unique_ptr<Decoder>> items;
    void decode_chain(std::vector<std::string>& tokens) const override {
        for (auto& d : items) d->decode_chain(tokens);
    }
};

char32_t single_char(const JsonNode& j) {
    std::u32string s = uni::decode_lossy(j.str());
    if (s.size() != 1) j.fail("expected a single character");
    return s[0];
}

}  // namespace

std::unique_ptr<Decoder> make_decoder(const JsonNode& j) {
    std::string type = j.at("type").str();
    if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
    if (type == "Metaspace") {
        auto m = std::make_unique<MetaspaceDecoder>();
        if (j.has("replacement")) m->replacement = single_char(j.at("replacement"));
        if (j.has("prepend_scheme")) m->prepend_never = j.at("prepend_scheme").str() == "never";
        else if (j.has("add_prefix_space")) m->prepend_never = !j.at("add_prefix_space").boolean();
        return m;
    }
    if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
    if (type == "Fuse") return std::make_unique<FuseDecoder>();
    if (type == "Strip") {
        auto s = std::make_unique<StripDecoder>();
        s->content = single_char(j.at("content"));
        s->start = static_cast<std::size_t>(j.integer("start", 0));
        s->stop = static_cast<std::size_t>(j.integer("stop", 0));
        return s;
    }
    if (type == "Replace") {
        auto r = std::make_unique<ReplaceDecoder>();
        r->re = make_pattern(j.at("pattern"));
        r->content = j.at("content").str();
        return r;
    }
    if (type == "WordPiece") {
        auto w = std::make_unique<WordPieceDecoder>();
        w->prefix = j.str("prefix", "##");
        w->cleanup = j.boolean("cleanup", true);
        return w;
    }
    if (type == "BPEDecoder") {
        auto b = std::make_unique<BpeDecoder>();
        b->suffix = j.str("suffix", "</w>");
        return b;
    }
    if (type == "CTC") {
        auto c = std::make_unique<CtcDecoder>();
        c->pad = j.str("pad_token", "<pad>");
        c->delimiter = j.str("word_delimiter_token", "|");
        c->cleanup = j.boolean("cleanup", true);
        return c;
    }
    if (type == "Sequence") {
        auto s = std::make_unique<SequenceDecoder>();
        JsonNode items = j.at("decoders");
        for (std::size_t i = 0; i < items.size(); ++i) s->items.push_back(make_decoder(items.at(i)));
        return s;
    }
    j.at("type").fail("unsupported decoder type '" + type + "'");
}

}  // namespace lmwb

#include <memory>

#include "components.h"
#include "unicode.h"

namespace lmwb {

namespace {

struct SpecialToken {
    std::vector<std::int32_t> ids;
    std::vector<std::string> tokens;
};

void push_special(Encoding& e, const SpecialToken& t, std::uint32_t type_id) {
    for (std::size_t i = 0; i < t.ids.size(); ++i) {
        e.ids.push_back(t.ids[i]);
        e.tokens.push_back(t.tokens[i]);
        e.offsets.push_back({0, 0});
        e.special_tokens_mask.push_back(1);
        e.type_ids.push_back(type_id);
    }
}

void append_sequence(Encoding& out, const Encoding& seq, std::uint32_t type_id) {
    out.ids.insert(out.ids.end(), seq.ids.begin(), seq.ids.end());
    out.tokens.insert(out.tokens.end(), seq.tokens.begin(), seq.tokens.end());
    out.offsets.insert(out.offsets.end(), seq.offsets.begin(), seq.offsets.end());
    out.special_tokens_mask.insert(out.special_tokens_mask.end(), seq.special_tokens_mask.begin(),
                                   seq.special_tokens_mask.end());
    out.type_ids.insert(out.type_ids.end(), seq.ids.size(), type_id);
}

bool is_space_like(char32_t c) { return c == byte_to_unicode()[' '] || uni::is_whitespace(c); }

// Moves offsets past the leading / trailing spaces that byte-level tokens carry ("Ġworld" -> "world").
void trim_offsets(Encoding& e, bool add_prefix_space) {
    for (std::size_t i = 0; i < e.size(); ++i) {
        std::u32string t = uni::decode_lossy(e.tokens[i]);
        std::size_t leading = 0, trailing = 0;
        while (leading < t.size() && is_space_like(t[leading])) ++leading;
        while (trailing < t.size() && is_space_like(t[t.size() - 1 - trailing])) ++trailing;
        TokenSpan& o = e.offsets[i];
        if (leading > 0) {
            bool is_first = i == 0 || o.begin == 0;
            if (is_first && add_prefix_space && leading == 1) leading = 0;
            o.begin = std::min(o.begin + leading, o.end);
        }
        if (trailing > 0 && o.end >= trailing) o.end = std::max(o.end - trailing, o.begin);
    }
}

struct Template : PostProcessor {
    struct Piece {
        bool is_sequence;
        std::string special;  // name in the special-token map
        std::uint32_t type_id;
    };
    std::vector<Piece> single;
    std::vector<std::pair<std::string, SpecialToken>> specials;

    void process(Encoding& enc, std::string_view, bool add_special_tokens) const override {
        if (!add_special_tokens) return;
        Encoding out;
        for (const Piece& p : single) {
            if (p.is_sequence) {
                append_sequence(out, enc, p.type_id);
            } else {
                for (auto& [name, tok] : specials)
                    if (name == p.special) push_special(out, tok, p.type_id);
            }
        }
        enc = std::move(out);
    }
};

struct ClsSep : PostProcessor {  // BertProcessing and RobertaProcessing
    SpecialToken cls, sep;
    bool trim = false, add_prefix_space = false;
    void process(Encoding& enc, std::string_view, bool add_special_tokens) const override {
        if (trim) trim_offsets(enc, add_prefix_space);
        if (!add_special_tokens) return;
        Encoding out;
        push_special(out, cls, 0);
        append_sequence(out, enc, 0);
        push_special(out, sep, 0);
        enc = std::move(out);
    }
};

struct ByteLevelProcessor : PostProcessor {
    bool trim = true, add_prefix_space = true;
    void process(Encoding& enc, std::string_view, bool) const override {
        if (trim) trim_offsets(enc, add_prefix_space);
    }
};

struct SequenceProcessor : PostProcessor {
    std::vector<std::unique_ptr<PostProcessor>> items;
    void process(Encoding& enc, std::string_view original, bool add_special_tokens) const override {
        for (auto& p : items) p->process(enc, original, add_special_tokens);
    }
};

SpecialToken read_pair(const JsonNode& j) {
    if (!j.is_array() || j.size() != 2) j.fail("expected [\"token\", id]");
    return SpecialToken{{j.at(1).token_id()}, {j.at(0).str()}};
}

std::vector<Template::Piece> read_template(const JsonNode& j, const std::vector<std::pair<std::string, SpecialToken>>& specials) {
    std::vector<Template::Piece> out;
    for (std::size_t i = 0; i < j.size(); ++i) {
        JsonNode p = j.at(i);
        if (p.has("Sequence")) {
            JsonNode s = p.at("Sequence");
            out.push_back({true, {}, static_cast<std::uint32_t>(s.integer("type_id", 0))});
        } else if (p.has("SpecialToken")) {
            JsonNode s = p.at("SpecialToken");
            std::string id = s.at("id").str();
            bool known = false;
            for (auto& sp : specials) known = known || sp.first == id;
            if (!known) s.at("id").fail("special token '" + id + "' is missing from special_tokens");
            out.push_back({false, id, static_cast<std::uint32_t>(s.integer("type_id", 0))});
        } else {
            p.fail("expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
        }
    }
    return out;
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const JsonNode& j) {
    std::string type = j.at("type").str();
    if (type == "TemplateProcessing") {
        auto t = std::make_unique<Template>();
        if (j.has("special_tokens")) {
            JsonNode sp = j.at("special_tokens");
            for (auto& [key, value] : sp.raw().items()) {
                JsonNode tok(value, sp.path() + "/" + key, sp.file());
                SpecialToken s;
                JsonNode ids = tok.at("ids"), toks = tok.at("tokens");
                for (std::size_t i = 0; i < ids.size(); ++i) s.ids.push_back(ids.at(i).token_id());
                for (std::size_t i = 0; i < toks.size(); ++i) s.tokens.push_back(toks.at(i).str());
                if (s.ids.size() != s.tokens.size()) tok.fail("'ids' and 'tokens' differ in length");
                t->specials.emplace_back(key, std::move(s));
            }
        }
        t->single = read_template(j.at("single"), t->specials);
        return t;
    }
    if (type == "BertProcessing" || type == "RobertaProcessing") {
        auto p = std::make_unique<ClsSep>();
        p->cls = read_pair(j.at("cls"));
        p->sep = read_pair(j.at("sep"));
        if (type == "RobertaProcessing") {
            p->trim = j.boolean("trim_offsets", true);
            p->add_prefix_space = j.boolean("add_prefix_space", true);
        }
        return p;
    }
    if (type == "ByteLevel") {
        auto p = std::make_unique<ByteLevelProcessor>();
        p->trim = j.boolean("trim_offsets", true);
        p->add_prefix_space = j.boolean("add_prefix_space", true);
        return p;
    }
    if (type == "Sequence") {
        auto s = std::make_unique<SequenceProcessor>();
        JsonNode items = j.at("processors");
        for (std::size_t i = 0; i < items.size(); ++i) s->items.push_back(make_post_processor(items.at(i)));
        return s;
    }
    j.at("type").fail("unsupported post-processor type '" + type + "'");
}

}  // namespace lmwb

#include <memory>

#include "components.h"
#include "unicode.h"

namespace lmwb {

void append_encoding(Encoding& a, const Encoding& b) {
    a.ids.insert(a.ids.end(), b.ids.begin(), b.ids.end());
    a.tokens.insert(a.tokens.end(), b.tokens.begin(), b.tokens.end());
    a.offsets.insert(a.offsets.end(), b.offsets.begin(), b.offsets.end());
    a.char_offsets.insert(a.char_offsets.end(), b.char_offsets.begin(), b.char_offsets.end());
    a.special_tokens_mask.insert(a.special_tokens_mask.end(), b.special_tokens_mask.begin(), b.special_tokens_mask.end());
    a.type_ids.insert(a.type_ids.end(), b.type_ids.begin(), b.type_ids.end());
}

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
        e.char_offsets.push_back({0, 0});
        e.special_tokens_mask.push_back(1);
        e.type_ids.push_back(type_id);
    }
}

void append_with_type(Encoding& out, const Encoding& seq, std::uint32_t type_id) {
    std::size_t n = out.size();
    append_encoding(out, seq);
    std::fill(out.type_ids.begin() + static_cast<std::ptrdiff_t>(n), out.type_ids.end(), type_id);
}

// Ġ (the space byte's code point in byte-level vocabularies), or whitespace.
bool is_space_like(char32_t c) { return c == byte_to_unicode()[0x20] || uni::is_whitespace(c); }

// Moves offsets past the leading / trailing spaces that byte-level tokens carry ("Ġworld" -> "world"). Each
// space is one byte and one code point, so the same counts apply to both kinds of offsets.
void trim_offsets(Encoding& e, bool add_prefix_space) {
    for (std::size_t i = 0; i < e.size(); ++i) {
        std::u32string t = uni::decode_lossy(e.tokens[i]);
        std::size_t leading = 0, trailing = 0;
        while (leading < t.size() && is_space_like(t[leading])) ++leading;
        while (trailing < t.size() && is_space_like(t[t.size() - 1 - trailing])) ++trailing;
        if (leading == 0 && trailing == 0) continue;
        for (TokenSpan* o : {&e.offsets[i], &e.char_offsets[i]}) {
            std::size_t lead = leading;
            if (lead > 0) {
                bool is_first = i == 0 || o->begin == 0;
                if (is_first && add_prefix_space && lead == 1) lead = 0;
                o->begin = std::min(o->begin + lead, o->end);
            }
            if (trailing > 0 && o->end >= trailing) o->end = std::max(o->end - trailing, o->begin);
        }
    }
}

struct Template : PostProcessor {
    struct Piece {
        bool is_sequence;
        bool second;          // $B rather than $A
        std::string special;  // name in the special-token map
        std::uint32_t type_id;
    };
    std::vector<Piece> single, pair;
    std::vector<std::pair<std::string, SpecialToken>> specials;

    void process(std::vector<Encoding>& encs, bool add_special_tokens) const override {
        if (!add_special_tokens) return;
        const auto& pieces = encs.size() > 1 ? pair : single;
        Encoding out;
        for (const Piece& p : pieces) {
            if (p.is_sequence) {
                std::size_t which = p.second ? 1 : 0;
                if (which < encs.size()) append_with_type(out, encs[which], p.type_id);
            } else {
                for (auto& [name, tok] : specials)
                    if (name == p.special) push_special(out, tok, p.type_id);
            }
        }
        encs.assign(1, std::move(out));
    }
};

struct ClsSep : PostProcessor {  // BertProcessing and RobertaProcessing
    SpecialToken cls, sep;
    bool roberta = false, trim = false, add_prefix_space = false;
    void process(std::vector<Encoding>& encs, bool add_special_tokens) const override {
        if (roberta) {
            for (auto& e : encs) {
                if (trim) trim_offsets(e, add_prefix_space);
                std::fill(e.type_ids.begin(), e.type_ids.end(), 0u);
            }
        }
        if (!add_special_tokens) return;
        Encoding out;
        push_special(out, cls, 0);
        append_with_type(out, encs[0], 0);
        push_special(out, sep, 0);
        if (encs.size() > 1) {
            std::uint32_t type = roberta ? 0 : 1;
            if (roberta) push_special(out, sep, type);
            append_with_type(out, encs[1], type);
            push_special(out, sep, type);
        }
        encs.assign(1, std::move(out));
    }
};

struct ByteLevelProcessor : PostProcessor {
    bool trim = true, add_prefix_space = true;
    void process(std::vector<Encoding>& encs, bool) const override {
        if (trim)
            for (auto& e : encs) trim_offsets(e, add_prefix_space);
    }
};

struct SequenceProcessor : PostProcessor {
    std::vector<std::unique_ptr<PostProcessor>> items;
    void process(std::vector<Encoding>& encs, bool add_special_tokens) const override {
        for (auto& p : items) p->process(encs, add_special_tokens);
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
            std::string id = s.str("id", "A");
            if (id != "A" && id != "B") s.at("id").fail("expected \"A\" or \"B\", found '" + id + "'");
            out.push_back({true, id == "B", {}, static_cast<std::uint32_t>(s.integer("type_id", 0))});
        } else if (p.has("SpecialToken")) {
            JsonNode s = p.at("SpecialToken");
            std::string id = s.at("id").str();
            bool known = false;
            for (auto& sp : specials) known = known || sp.first == id;
            if (!known) s.at("id").fail("special token '" + id + "' is missing from special_tokens");
            out.push_back({false, false, id, static_cast<std::uint32_t>(s.integer("type_id", 0))});
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
        t->pair = j.has("pair") ? read_template(j.at("pair"), t->specials) : t->single;
        return t;
    }
    if (type == "BertProcessing" || type == "RobertaProcessing") {
        auto p = std::make_unique<ClsSep>();
        p->cls = read_pair(j.at("cls"));
        p->sep = read_pair(j.at("sep"));
        if (type == "RobertaProcessing") {
            p->roberta = true;
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

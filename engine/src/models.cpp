#include <mutex>
#include <queue>
#include <unordered_map>

#include "components.h"
#include "unicode.h"

namespace lmwb {

namespace {

using Vocab = std::unordered_map<std::string, std::int32_t>;

struct VocabTable {
    Vocab vocab;
    std::vector<std::string> by_id;  // empty string for ids nobody uses
    std::vector<std::uint8_t> used;

    void build_reverse() {
        std::size_t n = 0;
        for (auto& [tok, id] : vocab) n = std::max<std::size_t>(n, static_cast<std::size_t>(id) + 1);
        by_id.assign(n, {});
        used.assign(n, 0);
        for (auto& [tok, id] : vocab) {
            by_id[static_cast<std::size_t>(id)] = tok;
            used[static_cast<std::size_t>(id)] = 1;
        }
    }
    std::optional<std::int32_t> find(std::string_view t) const { return find(std::string(t)); }
    std::optional<std::int32_t> find(const std::string& t) const {
        auto it = vocab.find(t);
        if (it == vocab.end()) return std::nullopt;
        return it->second;
    }
    const std::string* token(std::int32_t id) const {
        if (id < 0 || static_cast<std::size_t>(id) >= by_id.size() || !used[static_cast<std::size_t>(id)]) return nullptr;
        return &by_id[static_cast<std::size_t>(id)];
    }
};

VocabTable read_vocab(const JsonNode& j) {
    VocabTable t;
    if (!j.is_object()) j.fail("expected an object mapping tokens to ids, found " + j.type_name());
    t.vocab.reserve(j.size());
    // Ids index a table of the largest id's size: one far beyond the entries would cost gigabytes for nothing.
    const long long limit = static_cast<long long>(j.size()) + (1LL << 20);
    for (auto& [key, value] : j.raw().items()) {
        if (!value.is_number_integer() || value.get<long long>() < 0 || value.get<long long>() > INT32_MAX)
            j.fail("token id must be a non-negative integer", j.path() + "/" + key);
        if (value.get<long long>() >= limit)
            j.fail("token id " + std::to_string(value.get<long long>()) + " is far beyond the vocabulary's " + std::to_string(j.size()) +
                       " entries (ids must be below " + std::to_string(limit) + ")",
                   j.path() + "/" + key);
        t.vocab.emplace(key, value.get<std::int32_t>());
    }
    t.build_reverse();
    return t;
}

class Bpe : public Model {
public:
    VocabTable table;
    std::unordered_map<std::uint64_t, std::pair<std::uint32_t, std::int32_t>> merges;  // (left, right) -> (rank, new)
    std::string prefix, suffix;
    std::optional<std::int32_t> unk_id;
    bool fuse_unk = false, byte_fallback = false, ignore_merges = false;
    std::int32_t byte_ids[256];
    bool has_byte_tokens = false;

    std::string name() const override { return "BPE"; }
    std::optional<std::int32_t> token_to_id(std::string_view t) const override { return table.find(t); }
    const std::string* id_to_token(std::int32_t id) const override { return table.token(id); }
    std::size_t vocab_size() const override { return table.by_id.size(); }

    void tokenize(const NormString& piece, std::vector<ModelToken>& out) const override {
        if (piece.empty()) return;
        thread_local std::string key;
        key.clear();
        for (char32_t c : piece.text) uni::append_utf8(key, c);
        {
            std::lock_guard<std::mutex> lock(cache_mutex_);
            auto it = cache_.find(key);
            if (it != cache_.end()) {
                out.insert(out.end(), it->second.begin(), it->second.end());
                return;
            }
        }
        std::vector<ModelToken> word;
        std::optional<std::int32_t> whole = ignore_merges ? table.find(key) : std::nullopt;
        if (whole) word.push_back({*whole, 0, static_cast<std::uint32_t>(piece.size())});
        else merge_word(piece.text, word);
        if (key.size() < 256) {
            std::lock_guard<std::mutex> lock(cache_mutex_);
            if (cache_.size() >= kCacheCapacity) cache_.clear();
            cache_.emplace(key, word);
        }
        out.insert(out.end(), word.begin(), word.end());
    }

private:
    static constexpr std::size_t kCacheCapacity = 100000;
    mutable std::mutex cache_mutex_;
    mutable std::unordered_map<std::string, std::vector<ModelToken>> cache_;

    struct Symbol {
        std::int32_t id;
        std::int32_t prev, next;
        std::uint32_t begin, end;  // byte range within the word
        bool alive;
    };
    struct Candidate {
        std::uint32_t rank;
        std::uint32_t pos;
        std::int32_t new_id;
        bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    static std::uint64_t pair_key(std::int32_t a, std::int32_t b) {
        return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
    }

    void merge_word(const std::u32string& chars, std::vector<ModelToken>& out) const {
        // Symbols get byte spans in the order they are added, as the reference computes offsets: a pending
        // unknown run is added after byte-fallback tokens that follow it, and its span follows theirs.
        std::vector<Symbol> sym;
        sym.reserve(chars.size());
        std::uint32_t total = 0;
        auto add = [&sym, &total](std::int32_t id, std::uint32_t bytes) {
            sym.push_back({id, static_cast<std::int32_t>(sym.size()) - 1, static_cast<std::int32_t>(sym.size()) + 1,
                           total, total + bytes, true});
            total += bytes;
        };
        bool pending_unk = false;  // an unknown run waiting to be added
        std::uint32_t unk_len = 0;
        std::string s;
        for (std::uint32_t i = 0; i < chars.size(); ++i) {
            auto len = static_cast<std::uint32_t>(uni::utf8_length(chars[i]));
            s.clear();
            if (i > 0) s += prefix;
            uni::append_utf8(s, chars[i]);
            if (i + 1 == chars.size()) s += suffix;
            if (auto id = table.find(s)) {
                if (pending_unk) { add(*unk_id, unk_len); pending_unk = false; }
                add(*id, len);
                continue;
            }
            if (byte_fallback && has_byte_tokens) {
                bool all = true;
                for (unsigned char b : s) all = all && byte_ids[b] >= 0;
                if (all) {
                    for (unsigned char b : s) add(byte_ids[b], 1);
                    continue;
                }
            }
            if (unk_id) {
                if (pending_unk && fuse_unk) {
                    unk_len += len;
                } else {
                    if (pending_unk) add(*unk_id, unk_len);
                    pending_unk = true;
                    unk_len = len;
                }
            }
        }
        if (pending_unk) add(*unk_id, unk_len);
        if (!sym.empty()) sym.back().next = -1;

        std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
        for (std::size_t i = 0; i + 1 < sym.size(); ++i) {
            auto it = merges.find(pair_key(sym[i].id, sym[i + 1].id));
            if (it != merges.end()) queue.push({it->second.first, static_cast<std::uint32_t>(i), it->second.second});
        }
        while (!queue.empty()) {
            Candidate top = queue.top();
            queue.pop();
            Symbol& cur = sym[top.pos];
            if (!cur.alive || cur.next < 0) continue;
            Symbol& right = sym[static_cast<std::size_t>(cur.next)];
            auto it = merges.find(pair_key(cur.id, right.id));
            if (it == merges.end() || it->second.second != top.new_id) continue;
            cur.id = top.new_id;
            cur.end = right.end;
            cur.next = right.next;
            right.alive = false;
            if (cur.next >= 0) sym[static_cast<std::size_t>(cur.next)].prev = static_cast<std::int32_t>(top.pos);
            if (cur.prev >= 0) {
                auto p = merges.find(pair_key(sym[static_cast<std::size_t>(cur.prev)].id, cur.id));
                if (p != merges.end())
                    queue.push({p->second.first, static_cast<std::uint32_t>(cur.prev), p->second.second});
            }
            if (cur.next >= 0) {
                auto n = merges.find(pair_key(cur.id, sym[static_cast<std::size_t>(cur.next)].id));
                if (n != merges.end()) queue.push({n->second.first, top.pos, n->second.second});
            }
        }
        // Byte spans to code point spans: the code points holding the first and the last byte.
        std::vector<std::uint32_t> char_of_byte;
        char_of_byte.reserve(total + 1);
        for (std::uint32_t i = 0; i < chars.size(); ++i)
            char_of_byte.insert(char_of_byte.end(), uni::utf8_length(chars[i]), i);
        auto last = static_cast<std::uint32_t>(chars.size());
        auto at = [&](std::uint32_t byte) { return byte < char_of_byte.size() ? char_of_byte[byte] : last; };
        for (auto& x : sym)
            if (x.alive) out.push_back({x.id, at(x.begin), x.end > x.begin ? at(x.end - 1) + 1 : at(x.begin)});
    }
};

class WordPiece : public Model {
public:
    VocabTable table;
    std::string unk_token = "[UNK]";
    std::string prefix = "##";
    std::size_t max_chars = 100;

    std::string name() const override { return "WordPiece"; }
    std::optional<std::int32_t> token_to_id(std::string_view t) const override { return table.find(t); }
    const std::string* id_to_token(std::int32_t id) const override { return table.token(id); }
    std::size_t vocab_size() const override { return table.by_id.size(); }

    void tokenize(const NormString& piece, std::vector<ModelToken>& out) const override {
        auto n = static_cast<std::uint32_t>(piece.size());
        if (n == 0) return;
        auto unk = [&] {
            auto id = table.find(unk_token);
            if (!id) throw TokenizerError("WordPiece: the unk token '" + unk_token + "' is not in the vocabulary");
            out.push_back({*id, 0, n});
        };
        if (n > max_chars) return unk();
        std::vector<ModelToken> subs;
        std::uint32_t start = 0;
        while (start < n) {
            std::uint32_t end = n;
            std::optional<std::int32_t> found;
            while (start < end) {
                std::string s = start > 0 ? prefix : std::string();
                s += uni::to_utf8(std::u32string_view(piece.text).substr(start, end - start));
                if ((found = table.find(s))) break;
                --end;
            }
            if (!found) return unk();
            subs.push_back({*found, start, end});
            start = end;
        }
        out.insert(out.end(), subs.begin(), subs.end());
    }
};

class WordLevel : public Model {
public:
    VocabTable table;
    std::string unk_token;
    std::string name() const override { return "WordLevel"; }
    std::optional<std::int32_t> token_to_id(std::string_view t) const override { return table.find(t); }
    const std::string* id_to_token(std::int32_t id) const override { return table.token(id); }
    std::size_t vocab_size() const override { return table.by_id.size(); }
    void tokenize(const NormString& piece, std::vector<ModelToken>& out) const override {
        if (piece.empty()) return;
        auto n = static_cast<std::uint32_t>(piece.size());
        if (auto id = table.find(uni::to_utf8(piece.text))) return out.push_back({*id, 0, n});
        auto id = table.find(unk_token);
        if (!id) throw TokenizerError("WordLevel: the unk token '" + unk_token + "' is not in the vocabulary");
        out.push_back({*id, 0, n});
    }
};

}  // namespace

namespace {

std::unique_ptr<Model> make_bpe(VocabTable vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                                const JsonNode& j) {
    auto bpe = std::make_unique<Bpe>();
    bpe->table = std::move(vocab);
    bpe->prefix = j.str("continuing_subword_prefix", "");
    bpe->suffix = j.str("end_of_word_suffix", "");
    bpe->fuse_unk = j.boolean("fuse_unk", false);
    bpe->byte_fallback = j.boolean("byte_fallback", false);
    bpe->ignore_merges = j.boolean("ignore_merges", false);
    if (j.has("unk_token")) {
        std::string unk = j.at("unk_token").str();
        bpe->unk_id = bpe->table.find(unk);
        if (!bpe->unk_id) j.at("unk_token").fail("unk token '" + unk + "' is not in the vocabulary");
    }
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        auto id = bpe->table.find(std::string(name));
        bpe->byte_ids[b] = id ? *id : -1;
        bpe->has_byte_tokens = bpe->has_byte_tokens || id.has_value();
    }
    bpe->merges.reserve(merges.size());
    for (std::size_t rank = 0; rank < merges.size(); ++rank) {
        auto& [a, b] = merges[rank];
        auto ia = bpe->table.find(a), ib = bpe->table.find(b);
        // As the reference: the right part loses as many leading bytes as the prefix has.
        std::string merged = a + (b.size() >= bpe->prefix.size() ? b.substr(bpe->prefix.size()) : b);
        auto im = bpe->table.find(merged);
        std::string where = j.path() + "/merges/" + std::to_string(rank);
        if (!ia) j.fail("merge token '" + a + "' is not in the vocabulary", where);
        if (!ib) j.fail("merge token '" + b + "' is not in the vocabulary", where);
        if (!im) j.fail("merged token '" + merged + "' is not in the vocabulary", where);
        // A repeated pair keeps its last rank, as in the reference's map built in rank order.
        bpe->merges.insert_or_assign((static_cast<std::uint64_t>(static_cast<std::uint32_t>(*ia)) << 32) | static_cast<std::uint32_t>(*ib),
                            std::make_pair(static_cast<std::uint32_t>(rank), *im));
    }
    return bpe;
}

}  // namespace

std::unique_ptr<Model> make_model(const JsonNode& j) {
    std::string type = j.has("type") ? j.at("type").str() : "";
    if (type.empty()) {
        // Older files omit the type: infer it as the reference does from the fields present.
        if (j.has("merges")) type = "BPE";
        else if (j.has("continuing_subword_prefix") || j.has("max_input_chars_per_word")) type = "WordPiece";
        else if (j.has("vocab") && j.at("vocab").is_array()) type = "Unigram";
        else type = "WordLevel";
    }
    if (type == "BPE") {
        std::vector<std::pair<std::string, std::string>> merges;
        JsonNode m = j.at("merges");
        merges.reserve(m.size());
        for (std::size_t i = 0; i < m.size(); ++i) {
            JsonNode e = m.at(i);
            if (e.is_string()) {
                std::string s = e.str();
                auto sp = s.find(' ');
                if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
                    e.fail("a merge must be two tokens separated by one space, found '" + s + "'");
                merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
            } else if (e.is_array() && e.size() == 2) {
                merges.emplace_back(e.at(0).str(), e.at(1).str());
            } else {
                e.fail("a merge must be \"a b\" or [\"a\", \"b\"]");
            }
        }
        if (j.has("dropout") && j.at("dropout").number() > 0.0)
            j.at("dropout").fail("BPE dropout is random at encode time; set it to null for evaluation");
        return make_bpe(read_vocab(j.at("vocab")), merges, j);
    }
    if (type == "WordPiece") {
        auto w = std::make_unique<WordPiece>();
        w->table = read_vocab(j.at("vocab"));
        w->unk_token = j.str("unk_token", "[UNK]");
        w->prefix = j.str("continuing_subword_prefix", "##");
        w->max_chars = static_cast<std::size_t>(j.integer("max_input_chars_per_word", 100));
        return w;
    }
    if (type == "WordLevel") {
        auto w = std::make_unique<WordLevel>();
        w->table = read_vocab(j.at("vocab"));
        w->unk_token = j.str("unk_token", "<unk>");
        return w;
    }
    j.fail("unsupported model type '" + type + "' (supported: BPE, WordPiece, WordLevel)", j.path() + "/type");
}

}  // namespace lmwb

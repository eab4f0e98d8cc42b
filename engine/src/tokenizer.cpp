#include "lmwb/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "added_vocabulary.h"
#include "lmwb/text.h"
#include "components.h"
#include "unicode.h"

namespace lmwb {

struct Tokenizer::Impl {
    std::string source;
    std::unique_ptr<Normalizer> normalizer;
    std::unique_ptr<PreTokenizer> pre_tokenizer;
    std::unique_ptr<Model> model;
    std::unique_ptr<PostProcessor> post_processor;
    std::unique_ptr<Decoder> decoder;
    std::vector<AddedToken> added;
    std::unordered_map<std::string, std::int32_t> added_by_content;
    std::unordered_map<std::int32_t, std::size_t> added_by_id;
    AddedTokenMatcher raw_matcher, normalized_matcher;
    std::vector<std::string> summary;
};

namespace {

std::string read_file(const std::string& path) {
    std::string why;
    auto content = text::read_file(path, &why);
    if (!content) throw TokenizerError(path + ": " + why);
    return *content;
}

// Real tokenizer.json files nest a handful of levels; components are built recursively, so a hostile file's depth
// is refused before parsing, by one scan of the text (brackets outside strings).
constexpr int kMaxJsonDepth = 128;

void check_depth(const std::string& text, const std::string& source) {
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxJsonDepth) {
                std::size_t line = 1, col = 1;
                for (std::size_t k = 0; k < i; ++k) {
                    if (text[k] == '\n') line++, col = 1;
                    else ++col;
                }
                throw TokenizerError(source + ":" + std::to_string(line) + ":" + std::to_string(col) + ": JSON nested deeper than " +
                                     std::to_string(kMaxJsonDepth) + " levels (a Sequence inside a Sequence, many times over?)");
            }
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
}

nlohmann::json parse_json(const std::string& text, const std::string& source) {
    check_depth(text, source);
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        std::size_t line = 1, col = 1;
        for (std::size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
            if (text[i] == '\n') { ++line; col = 1; } else { ++col; }
        }
        throw TokenizerError(source + ":" + std::to_string(line) + ":" + std::to_string(col) +
                             ": malformed JSON: " + e.what());
    } catch (const nlohmann::json::exception& e) {  // a number beyond double's range ("1e400")
        throw TokenizerError(source + ": malformed JSON: " + e.what());
    }
}

std::string type_of(const JsonNode& j) { return j.has("type") ? j.at("type").str() : "?"; }

}  // namespace

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Tokenizer Tokenizer::from_json(const std::string& json_text, const std::string& source_name) {
    nlohmann::json doc = parse_json(json_text, source_name);
    auto impl = std::make_shared<Impl>();
    impl->source = source_name;
    JsonNode root(doc, "", impl->source);
    if (!root.is_object()) root.fail("expected a tokenizer.json object, found " + root.type_name());

    impl->model = make_model(root.at("model"));
    impl->summary.push_back(impl->model->name());
    if (root.has("normalizer")) {
        impl->normalizer = make_normalizer(root.at("normalizer"));
        impl->summary.push_back("normalizer " + type_of(root.at("normalizer")));
    }
    if (root.has("pre_tokenizer")) {
        impl->pre_tokenizer = make_pre_tokenizer(root.at("pre_tokenizer"));
        impl->summary.push_back("pre-tokenizer " + type_of(root.at("pre_tokenizer")));
    }
    if (root.has("post_processor")) {
        impl->post_processor = make_post_processor(root.at("post_processor"));
        impl->summary.push_back("post-processor " + type_of(root.at("post_processor")));
    }
    if (root.has("decoder")) {
        impl->decoder = make_decoder(root.at("decoder"));
        impl->summary.push_back("decoder " + type_of(root.at("decoder")));
    }
    if (root.has("added_tokens")) {
        JsonNode list = root.at("added_tokens");
        for (std::size_t i = 0; i < list.size(); ++i) {
            JsonNode t = list.at(i);
            AddedToken a;
            a.id = t.at("id").token_id();
            a.content = t.at("content").str();
            a.single_word = t.boolean("single_word", false);
            a.lstrip = t.boolean("lstrip", false);
            a.rstrip = t.boolean("rstrip", false);
            a.normalized = t.boolean("normalized", !t.boolean("special", false));
            a.special = t.boolean("special", false);
            if (a.content.empty()) continue;
            impl->added_by_content[a.content] = a.id;
            impl->added_by_id[a.id] = impl->added.size();
            impl->added.push_back(a);
        }
        for (std::size_t i = 0; i < impl->added.size(); ++i) {
            const AddedToken& a = impl->added[i];
            if (!a.normalized) {
                impl->raw_matcher.add(uni::decode_lossy(a.content), i);
            } else {
                NormString s;
                s.text = uni::decode_lossy(a.content);
                s.align.assign(s.text.size(), ByteRange{});
                if (impl->normalizer) impl->normalizer->normalize(s);
                impl->normalized_matcher.add(s.text, i);
            }
        }
    }
    return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_gpt2_files(const std::string& vocab_json, const std::string& merges_txt) {
    nlohmann::json vocab = parse_json(read_file(vocab_json), vocab_json);
    if (!vocab.is_object()) throw TokenizerError(vocab_json + ": /: expected an object mapping tokens to ids");
    std::string merges_text = read_file(merges_txt);
    nlohmann::json merges = nlohmann::json::array();
    std::istringstream lines(merges_text);
    std::string line;
    std::size_t line_no = 0;
    while (std::getline(lines, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
        auto sp = line.find(' ');
        if (sp == std::string::npos || line.find(' ', sp + 1) != std::string::npos)
            throw TokenizerError(merges_txt + ":" + std::to_string(line_no) +
                                 ": expected two tokens separated by one space");
        merges.push_back(line);
    }
    // The pipeline transformers' GPT2TokenizerFast builds from these two files.
    nlohmann::json doc = {
        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
        {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
        {"post_processor", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}}},
        {"decoder", {{"type", "ByteLevel"}}},
        {"added_tokens", nlohmann::json::array()}};
    if (vocab.contains("<|endoftext|>"))
        doc["added_tokens"].push_back({{"id", vocab["<|endoftext|>"]}, {"content", "<|endoftext|>"}, {"special", true},
                                       {"normalized", false}, {"lstrip", false}, {"rstrip", false}, {"single_word", false}});
    return from_json(doc.dump(), vocab_json);
}

std::string Tokenizer::describe_file(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path file(path);
    if (fs::is_directory(file, ec)) {
        if (fs::exists(file / "tokenizer.json")) {
            file /= "tokenizer.json";
        } else if (fs::exists(file / "vocab.json") && fs::exists(file / "merges.txt")) {
            return "BPE, pre-tokenizer ByteLevel, post-processor ByteLevel, decoder ByteLevel";  // as from_gpt2_files builds it
        } else {
            throw TokenizerError(path + ": no tokenizer.json (nor vocab.json + merges.txt) in this folder");
        }
    }
    if (!fs::exists(file, ec)) throw TokenizerError(file.string() + ": no such file");
    const std::string text = read_file(file.string()), source = file.string();
    check_depth(text, source);
    // The model's vocabulary and merges are most of the file and none of the description: dropped as parsed.
    nlohmann::json::parser_callback_t skip = [](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        return !(depth == 2 && event == nlohmann::json::parse_event_t::key && (parsed == "vocab" || parsed == "merges"));
    };
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(text, skip);
    } catch (const nlohmann::json::exception&) {
        parse_json(text, source);  // throws with the line and column
        throw;
    }
    JsonNode root(doc, "", source);
    if (!root.is_object()) root.fail("expected a tokenizer.json object, found " + root.type_name());
    if (!root.at("model").has("type")) return from_json(text, source).describe();  // older files: inferred from the fields
    std::string out = type_of(root.at("model"));
    for (const auto& [key, label] : {std::pair<const char*, const char*>{"normalizer", "normalizer "}, {"pre_tokenizer", "pre-tokenizer "},
                                     {"post_processor", "post-processor "}, {"decoder", "decoder "}})
        if (root.has(key)) out += std::string(", ") + label + type_of(root.at(key));
    return out;
}

Tokenizer Tokenizer::from_file(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        fs::path dir(path);
        if (fs::exists(dir / "tokenizer.json")) return from_file((dir / "tokenizer.json").string());
        if (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt"))
            return from_gpt2_files((dir / "vocab.json").string(), (dir / "merges.txt").string());
        throw TokenizerError(path + ": no tokenizer.json (nor vocab.json + merges.txt) in this folder");
    }
    if (!fs::exists(path, ec)) throw TokenizerError(path + ": no such file");
    return from_json(read_file(path), path);
}

namespace {

// One text through added-token extraction, normalization, pre-tokenization and the model; no post-processing.
Encoding encode_single(const Tokenizer::Impl& m, std::string_view text, std::uint32_t type_id) {
    NormString whole;
    std::vector<std::uint32_t> starts;
    uni::decode_lossy(text, whole.text, starts);
    const ExpansionLimit limit(whole.text.size());
    whole.align.resize(whole.text.size());
    for (std::size_t i = 0; i < whole.text.size(); ++i) whole.align[i] = {starts[i], starts[i + 1]};

    std::vector<Segment> raw, segments;
    m.raw_matcher.split(std::move(whole), m.added, raw);
    for (Segment& seg : raw) {
        if (seg.id) { segments.push_back(std::move(seg)); continue; }
        if (m.normalizer) m.normalizer->normalize(seg.text), check_expansion(seg.text.size(), "normalizers");
        m.normalized_matcher.split(std::move(seg.text), m.added, segments);
    }

    Encoding enc;
    std::size_t estimate = text.size() / 3 + 4;
    enc.ids.reserve(estimate);
    enc.tokens.reserve(estimate);
    enc.offsets.reserve(estimate);
    std::vector<NormString> pieces;
    pieces.reserve(text.size() / 4 + 4);
    std::vector<ModelToken> tokens;
    auto push = [&enc](std::int32_t id, std::string token, ByteRange r) {
        enc.ids.push_back(id);
        enc.tokens.push_back(std::move(token));
        enc.offsets.push_back({r.begin, r.end});
    };
    for (Segment& seg : segments) {
        if (seg.text.empty()) continue;
        if (seg.id) {
            push(*seg.id, uni::to_utf8(seg.text.text), seg.text.original(0, seg.text.size()));
            continue;
        }
        pieces.clear();
        if (m.pre_tokenizer) m.pre_tokenizer->split(std::move(seg.text), pieces);
        else pieces.push_back(std::move(seg.text));
        for (const NormString& piece : pieces) {
            if (piece.empty()) continue;
            tokens.clear();
            m.model->tokenize(piece, tokens);
            for (const ModelToken& t : tokens) {
                const std::string* s = m.model->id_to_token(t.id);
                push(t.id, s ? *s : std::string(), piece.original(t.begin, t.end));
            }
        }
    }
    // Code point offsets: every byte offset here falls on a code point boundary of the input. Offsets mostly
    // grow, so a cursor that only searches when it has to go back is enough.
    enc.char_offsets.reserve(enc.size());
    std::size_t cursor = 0;
    auto to_char = [&starts, &cursor](std::size_t byte) {
        if (cursor >= starts.size() || starts[cursor] > byte)
            cursor = static_cast<std::size_t>(std::lower_bound(starts.begin(), starts.end(), byte) - starts.begin());
        while (cursor < starts.size() && starts[cursor] < byte) ++cursor;
        return cursor;
    };
    for (const TokenSpan& o : enc.offsets) {
        std::size_t b = to_char(o.begin);
        enc.char_offsets.push_back({b, to_char(o.end)});
    }
    enc.special_tokens_mask.assign(enc.size(), 0);
    enc.type_ids.assign(enc.size(), type_id);
    return enc;
}

Encoding post_process(const Tokenizer::Impl& m, std::vector<Encoding> encs, bool add_special_tokens) {
    if (m.post_processor) m.post_processor->process(encs, add_special_tokens);
    Encoding out = std::move(encs[0]);
    for (std::size_t i = 1; i < encs.size(); ++i) append_encoding(out, encs[i]);
    return out;
}

}  // namespace

Encoding Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
    std::vector<Encoding> encs;
    encs.push_back(encode_single(*impl_, text, 0));
    return post_process(*impl_, std::move(encs), add_special_tokens);
}

Encoding Tokenizer::encode_pair(std::string_view first, std::string_view second, bool add_special_tokens) const {
    std::vector<Encoding> encs;
    encs.push_back(encode_single(*impl_, first, 0));
    encs.push_back(encode_single(*impl_, second, 1));
    return post_process(*impl_, std::move(encs), add_special_tokens);
}

std::string Tokenizer::decode(const std::vector<std::int32_t>& ids, bool skip_special_tokens) const {
    const Impl& m = *impl_;
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (std::int32_t id : ids) {
        auto a = m.added_by_id.find(id);
        if (a != m.added_by_id.end()) {
            const AddedToken& t = m.added[a->second];
            if (skip_special_tokens && t.special) continue;
            tokens.push_back(t.content);
            continue;
        }
        const std::string* s = m.model->id_to_token(id);
        if (!s) continue;  // unknown ids are dropped, as the reference does
        if (skip_special_tokens) {
            auto c = m.added_by_content.find(*s);
            if (c != m.added_by_content.end() && m.added[m.added_by_id.at(c->second)].special) continue;
        }
        tokens.push_back(*s);
    }
    if (!m.decoder) {
        std::string out;
        for (std::size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
        return out;
    }
    m.decoder->decode_chain(tokens);
    std::string out;
    for (auto& t : tokens) out += t;
    return out;
}

std::optional<std::int32_t> Tokenizer::token_to_id(std::string_view token) const {
    auto a = impl_->added_by_content.find(std::string(token));
    if (a != impl_->added_by_content.end()) return a->second;
    return impl_->model->token_to_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(std::int32_t id) const {
    auto a = impl_->added_by_id.find(id);
    if (a != impl_->added_by_id.end()) return impl_->added[a->second].content;
    if (const std::string* s = impl_->model->id_to_token(id)) return *s;
    return std::nullopt;
}

std::size_t Tokenizer::vocab_size(bool with_added_tokens) const {
    std::size_t n = impl_->model->vocab_size();
    if (with_added_tokens)
        for (auto& a : impl_->added) n = std::max(n, static_cast<std::size_t>(a.id) + 1);
    return n;
}

bool Tokenizer::is_special(std::int32_t id) const {
    auto a = impl_->added_by_id.find(id);
    return a != impl_->added_by_id.end() && impl_->added[a->second].special;
}

std::string Tokenizer::describe() const {
    std::string out;
    for (std::size_t i = 0; i < impl_->summary.size(); ++i) out += (i ? ", " : "") + impl_->summary[i];
    return out;
}

const std::string& Tokenizer::source() const { return impl_->source; }

}  // namespace lmwb

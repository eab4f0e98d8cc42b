// The tokenizer pipeline's stages, each built from its tokenizer.json section.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json_node.h"
#include "lmwb/tokenizer.h"
#include "normalized.h"

namespace lmwb {

struct Normalizer {
    virtual ~Normalizer() = default;
    virtual void normalize(NormString& s) const = 0;
};

struct PreTokenizer {
    virtual ~PreTokenizer() = default;
    // Splits (and may transform) one piece into the pieces appended to out.
    virtual void split(NormString&& piece, std::vector<NormString>& out) const = 0;
};

struct ModelToken {
    std::int32_t id;
    std::uint32_t begin;  // code point range within the piece
    std::uint32_t end;
};

struct Model {
    virtual ~Model() = default;
    virtual void tokenize(const NormString& piece, std::vector<ModelToken>& out) const = 0;
    virtual std::optional<std::int32_t> token_to_id(std::string_view token) const = 0;
    virtual const std::string* id_to_token(std::int32_t id) const = 0;
    virtual std::size_t vocab_size() const = 0;  // highest id + 1
    virtual std::string name() const = 0;
};

struct PostProcessor {
    virtual ~PostProcessor() = default;
    // encodings holds one sequence or a pair; the caller concatenates what is left. Offsets are trimmed
    // (trim_offsets) always, special tokens added only when asked.
    virtual void process(std::vector<Encoding>& encodings, bool add_special_tokens) const = 0;
};

// Appends b to a (tokens, offsets, masks, type ids as they are).
void append_encoding(Encoding& a, const Encoding& b);

struct Decoder {
    virtual ~Decoder() = default;
    virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

class Regex;
// A {"String": ...} or {"Regex": ...} pattern, or a regex source; errors name the JSON path.
std::unique_ptr<Regex> make_pattern(const JsonNode& pattern);
std::unique_ptr<Regex> compile_regex(const JsonNode& where, const std::string& pattern);

std::unique_ptr<Normalizer> make_normalizer(const JsonNode& j);
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const JsonNode& j);
std::unique_ptr<Model> make_model(const JsonNode& j);
std::unique_ptr<PostProcessor> make_post_processor(const JsonNode& j);
std::unique_ptr<Decoder> make_decoder(const JsonNode& j);

// GPT-2's byte-to-unicode table: printable bytes map to themselves, the others to U+0100 onwards.
const char32_t* byte_to_unicode();
int unicode_to_byte(char32_t c);  // -1 when c is not in the table
// Appends the byte-level characters of c's UTF-8 bytes.
void append_byte_chars(char32_t c, std::u32string& out);

// Rust's cleanup applied by WordPiece and CTC decoders.
std::string cleanup_tokenization(std::string s);

}  // namespace lmwb

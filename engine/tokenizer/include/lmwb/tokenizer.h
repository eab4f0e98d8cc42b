// Hugging Face compatible tokenizer: loads tokenizer.json (or GPT-2's vocab.json + merges.txt) and encodes and
// decodes exactly as the reference `tokenizers` library does. Plain value types only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lmwb {

// Load or configuration problem. what() names the file and the JSON path of the offending field.
class TokenizerError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct TokenSpan {
    std::size_t begin = 0;  // byte offsets into the text given to encode(); [begin, end)
    std::size_t end = 0;
    bool operator==(const TokenSpan& o) const { return begin == o.begin && end == o.end; }
};

struct Encoding {
    std::vector<std::int32_t> ids;
    std::vector<std::string> tokens;   // vocabulary strings, e.g. "Ġworld"
    // Offsets into the input the token came from (the first or the second text of a pair); tokens added by the
    // post-processor get {0,0}. Bytes for slicing, code points as the reference's Python and Node APIs report.
    std::vector<TokenSpan> offsets;
    std::vector<TokenSpan> char_offsets;
    std::vector<std::uint8_t> special_tokens_mask;
    std::vector<std::uint32_t> type_ids;
    std::size_t size() const { return ids.size(); }
};

class Tokenizer {
public:
    // tokenizer.json from a file, or a folder holding tokenizer.json or vocab.json + merges.txt.
    static Tokenizer from_file(const std::string& path);
    // source_name is used in error messages only.
    static Tokenizer from_json(const std::string& json_text, const std::string& source_name);
    static Tokenizer from_gpt2_files(const std::string& vocab_json, const std::string& merges_txt);
    // describe() of the tokenizer from_file(path) would load, read without its vocabulary and merges (a tenth of the
    // time for a 128k vocabulary); the file's syntax is checked, its components are not built.
    static std::string describe_file(const std::string& path);

    // Invalid UTF-8 is read as U+FFFD per maximal invalid subsequence (as Rust's from_utf8_lossy).
    Encoding encode(std::string_view text, bool add_special_tokens = true) const;
    // A pair of texts (e.g. premise and hypothesis), joined by the post-processor's pair template.
    Encoding encode_pair(std::string_view first, std::string_view second, bool add_special_tokens = true) const;
    std::string decode(const std::vector<std::int32_t>& ids, bool skip_special_tokens = false) const;

    std::optional<std::int32_t> token_to_id(std::string_view token) const;
    std::optional<std::string> id_to_token(std::int32_t id) const;
    // Highest id + 1 over the model vocabulary and, when asked, the added tokens.
    std::size_t vocab_size(bool with_added_tokens = true) const;
    bool is_special(std::int32_t id) const;
    // Short description of the pipeline, e.g. "BPE, pre-tokenizer ByteLevel, decoder ByteLevel".
    std::string describe() const;
    const std::string& source() const;

    struct Impl;
    explicit Tokenizer(std::shared_ptr<const Impl> impl);

private:
    std::shared_ptr<const Impl> impl_;
};

}  // namespace lmwb

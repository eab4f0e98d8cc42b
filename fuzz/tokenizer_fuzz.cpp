// tokenizer.json loading and encoding. Input: a tokenizer.json, then optionally the separator and a text to encode
// (default: a mixed-script text). A load may fail with TokenizerError; anything else escaping, a crash, a hang or an
// encoding whose parts disagree is a bug.
#include <cstdint>

#include "fuzz_support.h"
#include "lmwb/tokenizer.h"

using lmwb::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = lmwb::fuzz::split_files({reinterpret_cast<const char*>(data), size}, 2);
    const std::string_view text = parts.size() > 1 ? parts[1] : "Hello, world! Ünïcödé 東京 🚀 <s> don't  42";
    try {
        const auto tok = lmwb::Tokenizer::from_json(std::string(parts[0]), "fuzz/tokenizer.json");
        const auto enc = tok.encode(text);
        check(enc.tokens.size() == enc.size() && enc.offsets.size() == enc.size() && enc.char_offsets.size() == enc.size() &&
                  enc.special_tokens_mask.size() == enc.size() && enc.type_ids.size() == enc.size(),
              "encoding parts differ in length");
        for (const auto& o : enc.offsets) check(o.begin <= o.end && o.end <= text.size(), "offset outside the text");
        tok.decode(enc.ids);
        tok.decode(enc.ids, true);
        tok.encode(text, false);
        tok.encode_pair(text, text.substr(text.size() / 2));
        for (const std::int32_t id : enc.ids) tok.id_to_token(id);
        tok.describe();
    } catch (const lmwb::TokenizerError&) {
    }
    return 0;
}

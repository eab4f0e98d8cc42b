// Encoding any bytes (invalid UTF-8, control characters, lone surrogates, huge runs) with real tokenizers of each
// kind: byte-level BPE (GPT-2), SentencePiece-style BPE with byte fallback (Llama 2), WordPiece (BERT), a normalizer
// sequence. Byte-level BPE must give back exactly the text it was given when that text is valid UTF-8.
#include <cstdint>
#include <memory>
#include <vector>

#include "fuzz_support.h"
#include "lmwb/tokenizer.h"

using lmwb::fuzz::check;

namespace {

const std::vector<lmwb::Tokenizer>& tokenizers() {
    static const std::vector<lmwb::Tokenizer> all = [] {
        std::vector<lmwb::Tokenizer> t;
        for (const char* name : {"gpt2", "llama2", "bert-wordpiece", "normalizers-sequence", "gpt4o"})
            t.push_back(lmwb::Tokenizer::from_file(std::string(LMWB_FIXTURES) + "/tokenizers/" + name + "/tokenizer.json"));
        return t;
    }();
    return all;
}

bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        std::uint32_t cp = n == 1 ? c : c & (0x7f >> n);
        for (std::size_t k = 1; k < n; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b >> 6) != 2) return false;
            cp = cp << 6 | (b & 0x3f);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto& all = tokenizers();
    for (std::size_t t = 0; t < all.size(); ++t) {
        const auto enc = all[t].encode(text, false);
        for (const auto& o : enc.offsets) check(o.begin <= o.end && o.end <= text.size(), "offset outside the text");
        for (const std::int32_t id : enc.ids) check(id >= 0 && static_cast<std::size_t>(id) < all[t].vocab_size(), "id outside the vocabulary");
        const std::string back = all[t].decode(enc.ids);
        if (t == 0 && valid_utf8(text)) check(back == text, "GPT-2 byte-level BPE did not decode to its input");
    }
    return 0;
}

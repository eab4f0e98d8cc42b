#include "lmwb/prompt_encoding.h"

#include <algorithm>

#include "lmwb/text.h"

namespace lmwb {

Encoding encode_prompt(const Tokenizer& tok, std::string_view prompt) {
    const Encoding none = tok.encode("", true);  // what the post-processor adds around any text
    if (!none.ids.empty())
        if (auto first = tok.id_to_token(none.ids.front()); first && !first->empty() && prompt.substr(0, first->size()) == *first)
            return tok.encode(prompt, false);
    return tok.encode(prompt, true);
}

namespace {

// The slice of an encoding from token `from` on, with offsets shifted back by `bytes` and `chars` (clamped at 0).
Encoding tail(const Encoding& e, std::size_t from, std::size_t bytes, std::size_t chars) {
    Encoding out;
    auto shift = [](TokenSpan s, std::size_t by) { return TokenSpan{s.begin > by ? s.begin - by : 0, s.end > by ? s.end - by : 0}; };
    for (std::size_t i = from; i < e.ids.size(); ++i) {
        out.ids.push_back(e.ids[i]);
        if (i < e.tokens.size()) out.tokens.push_back(e.tokens[i]);
        if (i < e.offsets.size()) out.offsets.push_back(shift(e.offsets[i], bytes));
        if (i < e.char_offsets.size()) out.char_offsets.push_back(shift(e.char_offsets[i], chars));
        if (i < e.special_tokens_mask.size()) out.special_tokens_mask.push_back(e.special_tokens_mask[i]);
        if (i < e.type_ids.size()) out.type_ids.push_back(e.type_ids[i]);
    }
    return out;
}

}  // namespace

std::pair<std::string, std::string> move_trailing_space(std::string_view prompt, std::string_view continuation) {
    const std::u32string chars = text::decode(prompt);
    std::size_t keep = chars.size();
    while (keep > 0 && text::is_space(chars[keep - 1])) --keep;
    return {text::encode(std::u32string_view(chars).substr(0, keep)), text::encode(std::u32string_view(chars).substr(keep)) + std::string(continuation)};
}

PromptAndContinuation encode_with_continuation(const Tokenizer& tok, std::string_view prompt, std::string_view continuation) {
    const auto [head, moved] = move_trailing_space(prompt, continuation);
    PromptAndContinuation out;
    out.prompt = encode_prompt(tok, head);
    const Encoding whole = encode_prompt(tok, head + moved);
    const std::size_t n = std::min(out.prompt.ids.size(), whole.ids.size());
    // Offsets into the continuation as given: the whole text's offsets less the prompt's length (moved whitespace
    // included, so its tokens start before 0 and are clamped).
    out.continuation = tail(whole, n, prompt.size(), text::decode(prompt).size());
    return out;
}

}  // namespace lmwb

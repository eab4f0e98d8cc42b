// Text being tokenized, as code points that each remember which bytes of the original input they came from.
// Normalizers and pre-tokenizers transform it; token offsets are read back from the alignments.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace lmwb {

class Regex;

struct ByteRange {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
};

struct NormString {
    std::u32string text;
    std::vector<ByteRange> align;  // one per code point of text: its source bytes in the original input

    bool empty() const { return text.empty(); }
    std::size_t size() const { return text.size(); }
    NormString slice(std::size_t begin, std::size_t end) const;
    // Original byte range of text[begin, end): first code point's start to last code point's end.
    ByteRange original(std::size_t begin, std::size_t end) const;
    // Inserts chars before position 0; they take the first code point's alignment.
    void prepend(std::u32string_view chars);
    void append(std::u32string_view chars);
    // Rebuilds the string code point by code point: f(c, out) appends the replacement for c.
    void map_chars(const std::function<void(char32_t, std::u32string&)>& f);
    void strip(bool left, bool right);
};

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// A pattern splits a string into alternating matched / unmatched code point ranges covering it entirely.
using MatchList = std::vector<std::pair<std::pair<std::uint32_t, std::uint32_t>, bool>>;
void find_matches(const Regex& re, std::u32string_view text, MatchList& out);
void find_matches(const std::function<bool(char32_t)>& pred, std::u32string_view text, MatchList& out);
// Applies the reference library's delimiter behaviour; appends non-empty pieces to out.
void split_pieces(const NormString& s, const MatchList& matches, SplitBehavior behavior, bool invert,
                  std::vector<NormString>& out);

// How far a tokenizer's normalizers and pre-tokenizers may grow the text of one encode: kExpansionFactor times its
// code points, plus kExpansionSlack. A tokenizer.json whose steps multiply text (a Sequence of 30 ByteLevel
// pre-tokenizers, 40 Replace a -> aaaa) is refused within that work instead of exhausting time and memory.
constexpr std::size_t kExpansionFactor = 64, kExpansionSlack = 4096;
// Sets the limit for the encode running on this thread (none outside one).
class ExpansionLimit {
public:
    explicit ExpansionLimit(std::size_t input_code_points);
    ~ExpansionLimit();
    ExpansionLimit(const ExpansionLimit&) = delete;
    ExpansionLimit& operator=(const ExpansionLimit&) = delete;

private:
    std::size_t previous_;
};
// Throws TokenizerError naming the stage when `code_points` (the text as it now stands) passes the limit.
void check_expansion(std::size_t code_points, const char* stage);

}  // namespace lmwb

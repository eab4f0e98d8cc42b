#include "normalized.h"

#include <algorithm>

#include "lmwb/tokenizer.h"
#include "regex.h"
#include "unicode.h"

namespace lmwb {

NormString NormString::slice(std::size_t begin, std::size_t end) const {
    NormString out;
    out.text.assign(text, begin, end - begin);
    out.align.assign(align.begin() + static_cast<std::ptrdiff_t>(begin), align.begin() + static_cast<std::ptrdiff_t>(end));
    return out;
}

ByteRange NormString::original(std::size_t begin, std::size_t end) const {
    if (begin >= end || align.empty()) return {};
    return {align[begin].begin, align[end - 1].end};
}

void NormString::prepend(std::u32string_view chars) {
    ByteRange a = align.empty() ? ByteRange{} : align.front();
    text.insert(0, chars);
    align.insert(align.begin(), chars.size(), a);
}

void NormString::append(std::u32string_view chars) {
    ByteRange a = align.empty() ? ByteRange{} : align.back();
    text.append(chars);
    align.insert(align.end(), chars.size(), a);
}

void NormString::map_chars(const std::function<void(char32_t, std::u32string&)>& f) {
    std::u32string new_text;
    std::vector<ByteRange> new_align;
    new_text.reserve(text.size());
    new_align.reserve(text.size());
    std::u32string buf;
    for (std::size_t i = 0; i < text.size(); ++i) {
        buf.clear();
        f(text[i], buf);
        new_text += buf;
        new_align.insert(new_align.end(), buf.size(), align[i]);
    }
    text = std::move(new_text);
    align = std::move(new_align);
}

void NormString::strip(bool left, bool right) {
    std::size_t b = 0, e = text.size();
    if (left) while (b < e && uni::is_whitespace(text[b])) ++b;
    if (right) while (e > b && uni::is_whitespace(text[e - 1])) --e;
    if (b != 0 || e != text.size()) *this = slice(b, e);
}

static void push_gaps(std::u32string_view text, const std::vector<std::pair<std::uint32_t, std::uint32_t>>& ranges,
                      MatchList& out) {
    out.clear();
    if (text.empty()) {
        out.push_back({{0, 0}, false});
        return;
    }
    std::uint32_t prev = 0;
    for (auto [b, e] : ranges) {
        if (prev != b) out.push_back({{prev, b}, false});
        out.push_back({{b, e}, true});
        prev = e;
    }
    if (prev != text.size()) out.push_back({{prev, static_cast<std::uint32_t>(text.size())}, false});
}

void find_matches(const Regex& re, std::u32string_view text, MatchList& out) {
    thread_local std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges;
    re.find_all(text, ranges);
    push_gaps(text, ranges, out);
}

void find_matches(const std::function<bool(char32_t)>& pred, std::u32string_view text, MatchList& out) {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges;
    for (std::uint32_t i = 0; i < text.size(); ++i)
        if (pred(text[i])) ranges.emplace_back(i, i + 1);
    push_gaps(text, ranges, out);
}

void split_pieces(const NormString& s, const MatchList& input, SplitBehavior behavior, bool invert,
                  std::vector<NormString>& out) {
    MatchList inverted;
    if (invert) {
        inverted = input;
        for (auto& m : inverted) m.second = !m.second;
    }
    const MatchList& matches = invert ? inverted : input;

    if (behavior == SplitBehavior::Isolated) {
        for (auto& m : matches)
            if (m.first.first != m.first.second) out.push_back(s.slice(m.first.first, m.first.second));
        return;
    }
    MatchList pieces;  // second: whether to drop the piece
    switch (behavior) {
        case SplitBehavior::Isolated:  // handled above
            break;
        case SplitBehavior::Removed:
            pieces = matches;
            break;
        case SplitBehavior::Contiguous: {
            bool prev_match = false;
            for (auto& [r, is_match] : matches) {
                if (is_match == prev_match && !pieces.empty()) pieces.back().first.second = r.second;
                else pieces.push_back({r, false});
                prev_match = is_match;
            }
            break;
        }
        case SplitBehavior::MergedWithPrevious: {
            bool prev_match = false;
            for (auto& [r, is_match] : matches) {
                if (is_match && !prev_match && !pieces.empty()) pieces.back().first.second = r.second;
                else pieces.push_back({r, false});
                prev_match = is_match;
            }
            break;
        }
        case SplitBehavior::MergedWithNext: {
            bool prev_match = false;
            for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
                auto& [r, is_match] = *it;
                if (is_match && !prev_match && !pieces.empty()) pieces.back().first.first = r.first;
                else pieces.push_back({r, false});
                prev_match = is_match;
            }
            std::reverse(pieces.begin(), pieces.end());
            break;
        }
    }
    for (auto& [r, drop] : pieces) {
        if (drop || r.first == r.second) continue;
        out.push_back(s.slice(r.first, r.second));
    }
}

namespace {
thread_local std::size_t expansion_limit = 0;  // 0: no encode running on this thread
}

ExpansionLimit::ExpansionLimit(std::size_t n) : previous_(expansion_limit) { expansion_limit = kExpansionFactor * n + kExpansionSlack; }
ExpansionLimit::~ExpansionLimit() { expansion_limit = previous_; }

void check_expansion(std::size_t code_points, const char* stage) {
    if (expansion_limit && code_points > expansion_limit)
        throw TokenizerError(std::string("the tokenizer's ") + stage + " grow this input past " + std::to_string(kExpansionFactor) +
                             " times its length (" + std::to_string(code_points) + " code points): a tokenizer.json whose steps "
                             "multiply text is refused");
}

}  // namespace lmwb

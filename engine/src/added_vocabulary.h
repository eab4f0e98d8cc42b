// Added tokens (special and not) are cut out of the text before the model sees it, as the reference does:
// first those matched on the raw text, then the `normalized` ones on the normalized text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "normalized.h"

namespace lmwb {

struct AddedToken {
    std::int32_t id = 0;
    std::string content;
    bool single_word = false, lstrip = false, rstrip = false, normalized = true, special = false;
};

struct Segment {
    NormString text;
    std::optional<std::int32_t> id;  // set when the segment is an added token
};

class AddedTokenMatcher {
public:
    void add(const std::u32string& pattern, std::size_t token_index);
    bool empty() const { return nodes_.size() <= 1; }
    // Splits s into segments, marking the added tokens; leftmost-longest, non-overlapping.
    void split(NormString&& s, const std::vector<AddedToken>& tokens, std::vector<Segment>& out) const;

private:
    struct Node {
        std::unordered_map<char32_t, std::uint32_t> next;
        std::int64_t token = -1;
    };
    std::vector<Node> nodes_{Node{}};
    std::vector<bool> first_bmp_ = std::vector<bool>(0x10000, false);  // quick reject of positions
    bool first_astral_ = false;
};

}  // namespace lmwb

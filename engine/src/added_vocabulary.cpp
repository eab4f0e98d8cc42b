#include "added_vocabulary.h"

#include "unicode.h"

namespace lmwb {


void AddedTokenMatcher::add(const std::u32string& pattern, std::size_t token_index) {
    if (pattern.empty()) return;
    if (pattern[0] < 0x10000) first_bmp_[pattern[0]] = true;
    else first_astral_ = true;
    std::uint32_t node = 0;
    for (char32_t c : pattern) {
        auto it = nodes_[node].next.find(c);
        if (it == nodes_[node].next.end()) {
            nodes_.push_back(Node{});
            auto fresh = static_cast<std::uint32_t>(nodes_.size() - 1);
            nodes_[node].next.emplace(c, fresh);
            node = fresh;
        } else {
            node = it->second;
        }
    }
    nodes_[node].token = static_cast<std::int64_t>(token_index);
}

void AddedTokenMatcher::split(NormString&& s, const std::vector<AddedToken>& tokens, std::vector<Segment>& out) const {
    if (empty() || s.empty()) {
        out.push_back({std::move(s), std::nullopt});
        return;
    }
    const std::u32string& t = s.text;
    std::size_t n = t.size(), emitted = 0, pos = 0;
    while (pos < n) {
        char32_t c0 = t[pos];
        if (c0 < 0x10000 ? !first_bmp_[c0] : !first_astral_) { ++pos; continue; }
        // Longest pattern starting at pos.
        std::uint32_t node = 0;
        std::int64_t best = -1;
        std::size_t best_end = 0;
        for (std::size_t i = pos; i < n; ++i) {
            auto it = nodes_[node].next.find(t[i]);
            if (it == nodes_[node].next.end()) break;
            node = it->second;
            if (nodes_[node].token >= 0) { best = nodes_[node].token; best_end = i + 1; }
        }
        if (best < 0) { ++pos; continue; }
        const AddedToken& tok = tokens[static_cast<std::size_t>(best)];
        std::size_t start = pos, stop = best_end;
        pos = best_end;
        if (tok.single_word) {
            bool start_ok = start == 0 || !uni::is_rust_word(t[start - 1]);
            bool stop_ok = stop == n || !uni::is_rust_word(t[stop]);
            if (!start_ok || !stop_ok) continue;
        }
        if (tok.lstrip) {
            std::size_t b = start;
            while (b > 0 && uni::is_whitespace(t[b - 1])) --b;
            start = std::max(b, emitted);
        }
        if (tok.rstrip) {
            while (stop < n && uni::is_whitespace(t[stop])) ++stop;
            pos = stop;
        }
        if (emitted < start) out.push_back({s.slice(emitted, start), std::nullopt});
        out.push_back({s.slice(start, stop), tok.id});
        emitted = stop;
    }
    if (emitted < n) out.push_back({emitted == 0 ? std::move(s) : s.slice(emitted, n), std::nullopt});
}

}  // namespace lmwb

// Per-head diagnostics (bertviz's model view in numbers; Olsson et al. 2022 for induction heads): how spread each
// head's attention is, how much it rests on the first token, how much it looks one token back, and, on a random token
// sequence repeated twice, how much a token of the second copy attends to the token after its earlier occurrence.
#include <algorithm>
#include <cmath>
#include <random>

#include "lmwb/attribution.h"
#include "lmwb/model.h"
#include "lmwb/prompt_encoding.h"

namespace lmwb::attr {

HeadSummaries head_summaries(const LanguageModel& m, std::string_view text, int repeat_length, std::uint64_t seed, const Control& control) {
    CancelScope cancel_scope(control.cancel);
    const auto& caps = m.info().capabilities;
    if (std::find(caps.begin(), caps.end(), "attentions") == caps.end())
        throw AttributionError("this model does not expose attentions (" + m.info().format + ")");
    if (repeat_length < 2) throw AttributionError("--repeat-length must be at least 2");
    if (2 * static_cast<std::int64_t>(repeat_length) > m.info().context_length)
        throw AttributionError("--repeat-length " + std::to_string(repeat_length) + " repeated twice exceeds the model's context of " +
                               std::to_string(m.info().context_length));
    HeadSummaries out;
    out.layers = static_cast<int>(m.info().layers);
    auto ids = encode_prompt(m.tokenizer(), text).ids;
    if (ids.size() < 2) throw AttributionError("the text needs at least two tokens");
    out.length = static_cast<int>(ids.size());
    auto at = [&](int layer, int head) -> HeadSummary& {
        if (out.heads.empty()) out.heads.resize(static_cast<std::size_t>(out.layers * out.heads_per_layer));
        return out.heads[static_cast<std::size_t>(layer * out.heads_per_layer + head)];
    };
    control.report(0, 2, "passes");
    stream_attention_blocks(m, ids, [&](int layer, int heads, int first, int rows, int T, const float* a) {
        out.heads_per_layer = heads;
        for (int h = 0; h < heads; ++h) {
            HeadSummary& s = at(layer, h);
            s.layer = layer, s.head = h;
            for (int r = 0; r < rows; ++r) {
                const int q = first + r;
                const float* row = a + (static_cast<std::size_t>(h) * static_cast<std::size_t>(rows) + static_cast<std::size_t>(r)) * static_cast<std::size_t>(T);
                for (int k = 0; k <= q; ++k)
                    if (row[k] > 0) s.entropy -= row[k] * std::log(static_cast<double>(row[k]));
                s.first_token += row[0];
                if (q > 0) s.previous_token += row[q - 1];
            }
            if (first + rows < T) continue;  // sums so far; the layer's last block turns them into means
            s.entropy /= T;
            s.first_token /= T;
            s.previous_token /= T - 1;
        }
    });
    control.report(1, 2, "passes");
    // The induction diagnostic: random ids (outside the first 10, to avoid special tokens) repeated twice.
    std::mt19937_64 rng(seed);
    const auto V = static_cast<std::uint64_t>(m.info().vocab_size);
    std::vector<std::int32_t> half(static_cast<std::size_t>(repeat_length));
    for (auto& id : half) id = static_cast<std::int32_t>(10 + rng() % (V > 20 ? V - 10 : V));
    std::vector<std::int32_t> rep = half;
    rep.insert(rep.end(), half.begin(), half.end());
    const int L = repeat_length;
    out.induction_tokens = rep;
    stream_attention_blocks(m, rep, [&](int layer, int heads, int first, int rows, int T, const float* a) {
        for (int h = 0; h < heads; ++h) {
            double& score = at(layer, h).induction;
            for (int q = std::max(L, first); q < first + rows; ++q)  // the token after q's earlier occurrence is q − L + 1
                score += a[(static_cast<std::size_t>(h) * static_cast<std::size_t>(rows) + static_cast<std::size_t>(q - first)) * static_cast<std::size_t>(T) +
                           static_cast<std::size_t>(q - L + 1)];
            if (first + rows == T) score /= L;
        }
    });
    control.report(2, 2, "passes");
    return out;
}

}  // namespace lmwb::attr

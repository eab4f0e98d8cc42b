#include <algorithm>
#include <cmath>
#include <numeric>

#include "lmwb/attribution.h"
#include "lmwb/model.h"
#include "utf8.h"

namespace lmwb::attr {

namespace {

// Logits [rows][vocab] into log-probabilities, in place.
void log_softmax_rows(float* x, std::size_t rows, std::size_t vocab) {
    for (std::size_t p = 0; p < rows; ++p) {
        float* r = x + p * vocab;
        const double mx = *std::max_element(r, r + vocab);
        double sum = 0;
        for (std::size_t t = 0; t < vocab; ++t) sum += std::exp(static_cast<double>(r[t]) - mx);
        const double lse = mx + std::log(sum);
        for (std::size_t t = 0; t < vocab; ++t) r[t] = static_cast<float>(r[t] - lse);
    }
}

}  // namespace

LogitLens logit_lens(const LanguageModel& m, std::string_view text, std::string_view target, int top_k, const Control& control) {
    CancelScope cancel_scope(control.cancel);
    if (top_k < 1) throw AttributionError("--top-k must be at least 1");
    LogitLens out;
    std::vector<std::int32_t> ids;
    out.tokens = prompt_tokens(m.tokenizer(), text, ids);
    if (ids.empty()) throw AttributionError("the text has no tokens");
    const int T = static_cast<int>(ids.size());
    out.length = T;
    out.rows = static_cast<int>(m.info().layers) + 1;
    out.targets.assign(static_cast<std::size_t>(T), -1);
    for (int p = 0; p + 1 < T; ++p) out.targets[static_cast<std::size_t>(p)] = ids[static_cast<std::size_t>(p + 1)];
    if (!target.empty()) {
        std::vector<std::int32_t> t;
        continuation_tokens(m.tokenizer(), text, target, t);
        if (t.empty()) throw AttributionError("the target has no tokens");
        out.targets.back() = t.front();
    }
    // The final distribution first (the model's own output), for the divergence of every row from it.
    // Log-probabilities in place of the logits, and the probabilities once (every row's KL weighs by them).
    std::vector<float> final_lp = m.logits(ids);
    const auto V = final_lp.size() / static_cast<std::size_t>(T);
    log_softmax_rows(final_lp.data(), static_cast<std::size_t>(T), V);
    std::vector<float> final_p(final_lp.size());
    for (std::size_t i = 0; i < final_lp.size(); ++i) final_p[i] = std::exp(final_lp[i]);
    out.cells.resize(static_cast<std::size_t>(out.rows * T));
    const auto k = static_cast<std::size_t>(std::min<std::size_t>(static_cast<std::size_t>(top_k), V));
    control.report(0, static_cast<std::size_t>(out.rows), "layers");
    auto visit = [&](int row, int length, int vocab, const float* lp) {
        std::vector<std::int32_t> order(static_cast<std::size_t>(vocab));
        for (int p = 0; p < length; ++p) {
            const float* r = lp + static_cast<std::size_t>(p) * static_cast<std::size_t>(vocab);
            LensCell& c = out.cells[static_cast<std::size_t>(row * length + p)];
            std::iota(order.begin(), order.end(), 0);
            std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                              [&](std::int32_t a, std::int32_t b) { return r[a] > r[b] || (r[a] == r[b] && a < b); });
            for (std::size_t i = 0; i < k; ++i) {
                c.top_ids.push_back(order[i]);
                c.top_tokens.push_back(m.tokenizer().decode({order[i]}, false));
                c.top_probs.push_back(std::exp(static_cast<double>(r[order[i]])));
            }
            const std::int32_t tgt = out.targets[static_cast<std::size_t>(p)];
            if (tgt >= 0 && tgt < vocab) {
                c.target_logprob = r[tgt];
                c.target_rank = 1 + static_cast<int>(std::count_if(r, r + vocab, [&](float x) { return x > r[tgt]; }));
            }
            double kl = 0;
            const float* f = final_lp.data() + static_cast<std::size_t>(p) * V;
            const float* fp = final_p.data() + static_cast<std::size_t>(p) * V;
            for (int v = 0; v < vocab; ++v) kl += static_cast<double>(fp[v]) * (static_cast<double>(f[v]) - static_cast<double>(r[v]));
            c.kl_to_final = std::max(0.0, kl);
        }
        control.report(static_cast<std::size_t>(row + 1), static_cast<std::size_t>(out.rows), "layers");
    };
    // Each residual stream through the model's head, as log-probabilities [T][V], one row at a time: row 0 is what
    // the first layer reads, row l + 1 the output of layer l (the last row: the model's own output).
    auto lens_row = [&](int row) {
        return [&, row](HookValue& v) {
            const int length = static_cast<int>(v.shape[0]);
            std::vector<float> lp = m.unembed_residual(std::vector<float>(v.data, v.data + length * v.shape[1]), length);
            const std::size_t vocab = lp.size() / static_cast<std::size_t>(length);
            log_softmax_rows(lp.data(), static_cast<std::size_t>(length), vocab);
            visit(row, length, static_cast<int>(vocab), lp.data());
        };
    };
    std::vector<Hook> hooks = {{HookPoint{0, HookKind::ResidPre}, lens_row(0)}};
    for (int l = 0; l + 1 < out.rows; ++l) hooks.push_back({HookPoint{l, HookKind::ResidPost}, lens_row(l + 1)});
    m.run_hooked(ids, nullptr, {hooks}, {});
    return out;
}

}  // namespace lmwb::attr

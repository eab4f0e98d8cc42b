#include <algorithm>
#include <cmath>
#include <limits>

#include "lmwb/attribution.h"
#include "lmwb/model.h"
#include "pass_size.h"
#include "utf8.h"

namespace lmwb::attr {

GenerationAttribution explain_generation(const LanguageModel& m, std::string_view prompt, std::string_view continuation,
                                         const GenerationAttributionOptions& o) {
    CancelScope cancel_scope(o.control.cancel);
    if (o.method != Method::Saliency && o.method != Method::GradientXInput && o.method != Method::IntegratedGradients)
        throw AttributionError("generated text is attributed with grad, grad-x-input or ig, not " + to_string(o.method));
    GenerationAttribution r;
    r.method = to_string(o.method);
    r.prompt = std::string(prompt);
    std::vector<std::int32_t> pid, gid;
    r.prompt_tokens = prompt_tokens(m.tokenizer(), prompt, pid);
    if (pid.empty()) throw AttributionError("the prompt has no tokens");
    if (continuation.empty()) {
        if (o.max_new_tokens < 1) throw AttributionError("--max-new-tokens must be at least 1");
        GenerationOptions g;
        g.max_new_tokens = o.max_new_tokens;
        g.alternatives = 0;
        auto out = m.generate(prompt, g);
        for (const auto& t : out.tokens) {
            gid.push_back(t.id);
            r.generated_tokens.push_back(Token{t.id, t.text, -1, -1});
            r.continuation += t.text;
        }
        if (gid.empty()) throw AttributionError("the model generated no tokens (end of text at once); give a continuation");
    } else {
        r.continuation = std::string(continuation);
        r.generated_tokens = continuation_tokens(m.tokenizer(), prompt, continuation, gid);
        if (gid.empty()) throw AttributionError("the continuation has no tokens");
    }
    const std::size_t P = pid.size(), N = gid.size(), F = P + N - 1, C = P + N;
    const auto D = static_cast<std::size_t>(m.info().hidden_size);
    std::vector<std::int32_t> inputs = pid;
    inputs.insert(inputs.end(), gid.begin(), gid.end() - 1);
    const auto x = m.embeddings(inputs);
    std::vector<double> base(F * D, 0.0);
    std::string base_desc = "zero embedding";
    if (o.method == Method::IntegratedGradients && o.baseline_token >= 0) {
        if (o.baseline_token >= m.info().vocab_size)
            throw AttributionError("--baseline-token " + std::to_string(o.baseline_token) + " is outside the vocabulary of " +
                                   std::to_string(m.info().vocab_size));
        auto b = m.embeddings(std::vector<std::int32_t>(F, o.baseline_token));
        base.assign(b.begin(), b.end());
        base_desc = "embedding of token " + std::to_string(o.baseline_token);
    }
    Rule rule{{1.0}, {1.0}};
    if (o.method == Method::IntegratedGradients) {
        if (o.internal_batch < 0) throw AttributionError("--internal-batch must be 0 (as many points as fit in memory) or more");
        rule = quadrature_rule(o.quadrature, o.steps);
        r.details = std::to_string(o.steps) + " steps, " + to_string(o.quadrature) + ", baseline: " + base_desc + " at every input";
    } else {
        r.details = o.method == Method::Saliency ? "L2 norm of the gradient over the embedding" : "gradient times input embedding";
    }
    std::vector<double> alphas = rule.alphas;
    const std::size_t n_rule = alphas.size();
    if (o.method == Method::IntegratedGradients) alphas.insert(alphas.end(), {1.0, 0.0});  // F(x) and F(baseline)
    // Points per pass: --internal-batch, or as many as fit the memory the model may use (at most 64).
    PassShape pass;
    pass.tokens = static_cast<std::int64_t>(C);
    pass.gradients = true;
    pass.logit_positions = static_cast<std::int64_t>(N);
    const std::size_t batch = rows_per_pass(m, o.internal_batch, pass, std::min<std::size_t>(64, alphas.size()));
    std::vector<double> avg(N * F * D, 0.0);
    for (std::size_t s = 0, e = 0; s < alphas.size(); s = e) {
        o.control.report(s, alphas.size(), "points");
        e = std::min(alphas.size(), s + batch);
        std::vector<std::vector<float>> pts;
        for (std::size_t k = s; k < e; ++k) {
            std::vector<float> p(F * D);
            for (std::size_t q = 0; q < F * D; ++q) p[q] = static_cast<float>(base[q] + alphas[k] * (x[q] - base[q]));
            pts.push_back(std::move(p));
        }
        // The ends (α = 1 and 0) are values only: their gradients are never read.
        auto res = m.continuation_logprob_gradients(pid, gid, pts, true, e <= n_rule ? pts.size() : (s < n_rule ? n_rule - s : 0));
        r.evaluations += pts.size();
        for (std::size_t k = s; k < e; ++k) {
            const auto& pt = res[k - s];
            if (k == n_rule || (o.method != Method::IntegratedGradients)) r.token_logprobs = pt.token_logprobs;
            if (k == n_rule + 1) r.baseline_logprobs = pt.token_logprobs;
            if (k >= n_rule) continue;
            for (std::size_t q = 0; q < N * F * D; ++q) avg[q] += rule.weights[k] * pt.token_gradients[q];
        }
    }
    o.control.report(alphas.size(), alphas.size(), "points");
    r.matrix.assign(N * C, 0.0);
    for (std::size_t j = 0; j < N; ++j) {
        const double* g = avg.data() + j * F * D;
        for (std::size_t i = 0; i < P + j; ++i) {  // what token j can see
            double v = 0;
            for (std::size_t d = 0; d < D; ++d) {
                const double gd = g[i * D + d];
                v += o.method == Method::Saliency ? gd * gd
                     : o.method == Method::GradientXInput ? x[i * D + d] * gd
                                                          : (x[i * D + d] - base[i * D + d]) * gd;
            }
            r.matrix[j * C + i] = o.method == Method::Saliency ? std::sqrt(v) : v;
        }
    }
    if (o.method == Method::IntegratedGradients)
        for (std::size_t j = 0; j < N; ++j) {
            double row = 0;
            for (std::size_t i = 0; i < C; ++i) row += r.matrix[j * C + i];
            r.deltas.push_back(row - (r.token_logprobs[j] - r.baseline_logprobs[j]));
        }
    return r;
}

}  // namespace lmwb::attr

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "lmwb/attribution.h"
#include "lmwb/model.h"
#include "lmwb/prompt_encoding.h"
#include "pass_size.h"
#include "utf8.h"

namespace lmwb::attr {

namespace {

std::vector<Token> tokens_from(const Tokenizer& tok, const Encoding& e, std::string_view text, std::vector<std::int32_t>& ids) {
    ids = e.ids;
    auto chars = to_u32(text);
    std::vector<Token> out;
    for (std::size_t i = 0; i < e.ids.size(); ++i) {
        Token t;
        t.id = e.ids[i];
        t.start = static_cast<int>(e.char_offsets[i].begin);
        t.end = static_cast<int>(e.char_offsets[i].end);
        if (t.end > t.start && static_cast<std::size_t>(t.end) <= chars.size())
            t.text = to_utf8(std::u32string_view(chars).substr(static_cast<std::size_t>(t.start), static_cast<std::size_t>(t.end - t.start)));
        else
            t.text = tok.decode({e.ids[i]}, false);
        out.push_back(t);
    }
    return out;
}

}  // namespace

std::vector<Token> prompt_tokens(const Tokenizer& tok, std::string_view prompt, std::vector<std::int32_t>& ids) {
    return tokens_from(tok, encode_prompt(tok, prompt), prompt, ids);
}

std::vector<Token> continuation_tokens(const Tokenizer& tok, std::string_view prompt, std::string_view continuation,
                                       std::vector<std::int32_t>& ids) {
    return tokens_from(tok, encode_with_continuation(tok, prompt, continuation).continuation, continuation, ids);
}

Token greedy_next_token(const LanguageModel& m, std::string_view prompt) {
    GenerationOptions g;
    g.max_new_tokens = 1;
    g.alternatives = 0;
    auto gen = m.generate(prompt, g);
    if (gen.tokens.empty() || gen.text.empty())
        throw AttributionError("the model's greedy next token is empty (end of text); give a target");
    const auto& t = gen.tokens.front();
    return Token{t.id, t.text, 0, static_cast<int>(to_u32(t.text).size())};
}

namespace {

bool is_space_cp(char32_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x3000 || c == 0xA0; }


// Words of the prompt (runs of non-space characters) and the tokens each holds.
std::vector<Span> word_spans(std::string_view text, const std::vector<Token>& tokens) {
    auto chars = to_u32(text);
    std::vector<Span> words;
    for (std::size_t i = 0; i < chars.size();) {
        if (is_space_cp(chars[i])) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < chars.size() && !is_space_cp(chars[j])) ++j;
        Span w;
        w.start = static_cast<int>(i);
        w.end = static_cast<int>(j);
        w.text = to_utf8(std::u32string_view(chars).substr(i, j - i));
        w.first = w.last = -1;
        words.push_back(w);
        i = j;
    }
    if (words.empty()) return words;
    for (std::size_t t = 0; t < tokens.size(); ++t) {
        if (tokens[t].end <= tokens[t].start) continue;  // covers no text (a BOS the tokenizer added): in no word
        int c = tokens[t].start;
        while (c < tokens[t].end && static_cast<std::size_t>(c) < chars.size() && is_space_cp(chars[static_cast<std::size_t>(c)])) ++c;
        std::size_t k = 0;
        while (k + 1 < words.size() && words[k].end <= c) ++k;
        auto& w = words[k];
        if (w.first < 0) w.first = static_cast<int>(t);
        w.last = static_cast<int>(t) + 1;
    }
    words.erase(std::remove_if(words.begin(), words.end(), [](const Span& w) { return w.first < 0; }), words.end());
    // Tokens are contiguous per word; a whitespace-only token joined the word it precedes or ends.
    return words;
}

void aggregate_spans(Result& r, const std::string& prompt, const Options& o) {
    r.words = word_spans(prompt, r.prompt_tokens);
    for (auto& w : r.words) {
        w.score = 0;
        for (int t = w.first; t < w.last; ++t) w.score += r.scores[static_cast<std::size_t>(t)];
    }
    for (auto [a, b] : o.spans) {
        if (a < 0 || b > static_cast<int>(r.prompt_tokens.size()) || a >= b)
            throw AttributionError("span [" + std::to_string(a) + ", " + std::to_string(b) + ") is not a range of the prompt's " +
                                   std::to_string(r.prompt_tokens.size()) + " tokens");
        Span s;
        s.first = a;
        s.last = b;
        s.start = r.prompt_tokens[static_cast<std::size_t>(a)].start;
        s.end = r.prompt_tokens[static_cast<std::size_t>(b - 1)].end;
        for (int t = a; t < b; ++t) s.text += r.prompt_tokens[static_cast<std::size_t>(t)].text, s.score += r.scores[static_cast<std::size_t>(t)];
        r.spans.push_back(s);
    }
}

std::int32_t default_absent_token(const Tokenizer& tok) {
    for (const char* t : {"<unk>", "<|endoftext|>", "<|end_of_text|>", "</s>", "<pad>", "[UNK]", "[PAD]"})
        if (auto id = tok.token_to_id(t)) return *id;
    return 0;
}

// log p(target) and its gradient at each point, minus log p(foil) and its gradient when there is a foil: per-token
// values and gradients of the foil follow the target's, negated, so that their sums are F and its gradient.
std::vector<EmbeddingPoint> objective(const LanguageModel& m, const std::vector<std::int32_t>& pid, const std::vector<std::int32_t>& tid,
                                      const std::vector<std::int32_t>& fid, const std::vector<std::vector<float>>& points, bool rows,
                                      std::size_t gradient_points) {
    auto res = m.target_logprob_gradients(pid, tid, points, rows, gradient_points);
    if (fid.empty()) return res;
    auto foil = m.target_logprob_gradients(pid, fid, points, rows, gradient_points);
    for (std::size_t k = 0; k < res.size(); ++k) {
        res[k].logprob -= foil[k].logprob;
        for (std::size_t q = 0; q < res[k].gradient.size(); ++q) res[k].gradient[q] -= foil[k].gradient[q];
        for (double lp : foil[k].token_logprobs) res[k].token_logprobs.push_back(-lp);
        for (float g : foil[k].token_gradients) res[k].token_gradients.push_back(-g);
    }
    return res;
}

void gradient_methods(const LanguageModel& m, Result& r, const std::vector<std::int32_t>& pid, const std::vector<std::int32_t>& tid,
                      const std::vector<std::int32_t>& fid, const Options& o) {
    const std::size_t P = pid.size(), Tt = tid.size() + fid.size();
    const std::size_t D = static_cast<std::size_t>(m.info().hidden_size);
    auto x = m.embeddings(pid);
    if (x.size() != P * D) throw AttributionError("the model's embeddings have an unexpected size");
    auto to_d = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };
    std::vector<double> base(P * D, 0.0);
    std::string base_desc = "zero embedding";
    if (o.method == Method::IntegratedGradients) {
        if (o.baseline_token >= 0) {
            if (o.baseline_token >= m.info().vocab_size)
                throw AttributionError("baseline token " + std::to_string(o.baseline_token) + " is outside the vocabulary of " +
                                       std::to_string(m.info().vocab_size));
            base = to_d(m.embeddings(std::vector<std::int32_t>(P, o.baseline_token)));
            base_desc = "embedding of token " + std::to_string(o.baseline_token);
        } else if (!o.baseline_text.empty()) {
            auto bid = m.tokenizer().encode(o.baseline_text, false).ids;
            if (bid.size() != P)
                throw AttributionError("the baseline text has " + std::to_string(bid.size()) + " tokens and the prompt " + std::to_string(P) +
                                       "; integrated gradients needs the same number");
            base = to_d(m.embeddings(bid));
            base_desc = "embeddings of \"" + o.baseline_text + "\"";
        }
    }
    std::vector<double> xd = to_d(x);
    std::vector<double> coeff(P * D);  // what multiplies the (averaged) gradient
    Rule rule;
    std::vector<std::vector<float>> points;
    if (o.method == Method::IntegratedGradients) {
        if (o.internal_batch < 0) throw AttributionError("--internal-batch must be 0 (as many points as fit in memory) or more");
        rule = quadrature_rule(o.quadrature, o.steps);
        for (std::size_t k = 0; k < P * D; ++k) coeff[k] = xd[k] - base[k];
        r.details = std::to_string(o.steps) + " steps, " + to_string(o.quadrature) + ", baseline: " + base_desc;
    } else {
        rule.alphas = {1.0};
        rule.weights = {1.0};
        coeff = xd;
        r.details = o.method == Method::Saliency ? "L2 norm of the gradient over the embedding" : "gradient times input embedding";
    }
    const bool rows = o.matrix;
    std::vector<double> avg_sum(P * D, 0.0), avg_rows(rows ? Tt * P * D : 0, 0.0);
    std::vector<double> sum_rows_sq;  // saliency: per-row gradients for norms
    auto point_at = [&](double a) {
        std::vector<float> p(P * D);
        for (std::size_t k = 0; k < P * D; ++k) p[k] = static_cast<float>(base[k] + a * (xd[k] - base[k]));
        return p;
    };
    // IG also needs F at the input (α = 1) and at the baseline (α = 0) for the delta: two more points, after the
    // rule's in the same batches.
    std::vector<double> alphas = rule.alphas;
    const std::size_t n_rule = alphas.size();
    if (o.method == Method::IntegratedGradients) alphas.insert(alphas.end(), {1.0, 0.0});
    // Points per pass: --internal-batch, or as many as fit the memory the model may use (at most 64: past that a
    // pass is no faster per point, and progress moves less often).
    PassShape pass;
    pass.tokens = static_cast<std::int64_t>(P + Tt);
    pass.gradients = true;
    pass.logit_positions = static_cast<std::int64_t>(Tt);
    const std::size_t batch = rows_per_pass(m, o.internal_batch, pass, std::min<std::size_t>(64, alphas.size()));
    for (std::size_t s = 0, e = 0; s < alphas.size(); s = e) {
        o.control.report(s, alphas.size(), "points");
        e = std::min(alphas.size(), s + batch);
        std::vector<std::vector<float>> pts;
        for (std::size_t k = s; k < e; ++k) pts.push_back(point_at(alphas[k]));
        // The ends (α = 1 and 0) are values only: their gradients are never read.
        auto res = objective(m, pid, tid, fid, pts, rows, e <= n_rule ? pts.size() : (s < n_rule ? n_rule - s : 0));
        r.evaluations += pts.size();
        for (std::size_t k = s; k < e; ++k) {
            const auto& pt = res[k - s];
            if (k >= n_rule) {  // the two ends
                if (k == n_rule) {
                    r.target_logprob = pt.logprob;
                    r.target_token_logprobs = pt.token_logprobs;
                } else {
                    r.baseline_logprob = pt.logprob;
                }
                continue;
            }
            double w = rule.weights[k];
            for (std::size_t q = 0; q < P * D; ++q) avg_sum[q] += w * pt.gradient[q];
            if (rows)
                for (std::size_t q = 0; q < Tt * P * D; ++q) avg_rows[q] += w * pt.token_gradients[q];
            if (o.method != Method::IntegratedGradients) {
                r.target_logprob = pt.logprob;
                r.target_token_logprobs = pt.token_logprobs;
            }
        }
    }
    o.control.report(alphas.size(), alphas.size(), "points");
    auto token_score = [&](const double* g, std::size_t i) {
        double s = 0;
        if (o.method == Method::Saliency) {
            for (std::size_t d = 0; d < D; ++d) s += g[i * D + d] * g[i * D + d];
            return std::sqrt(s);
        }
        for (std::size_t d = 0; d < D; ++d) s += coeff[i * D + d] * g[i * D + d];
        return s;
    };
    r.scores.assign(P, 0.0);
    for (std::size_t i = 0; i < P; ++i) r.scores[i] = token_score(avg_sum.data(), i);
    if (rows) {
        r.matrix.assign(Tt * P, 0.0);
        for (std::size_t j = 0; j < Tt; ++j)
            for (std::size_t i = 0; i < P; ++i) r.matrix[j * P + i] = token_score(avg_rows.data() + j * P * D, i);
    }
    if (o.method == Method::IntegratedGradients) {
        double total = std::accumulate(r.scores.begin(), r.scores.end(), 0.0);
        r.delta = total - (r.target_logprob - r.baseline_logprob);
    }
}

// Partition hierarchy: tokens under their words, words under a balanced binary tree.
std::vector<std::vector<int>> word_hierarchy(int n_features, const std::vector<std::vector<int>>& word_members) {
    std::vector<std::vector<int>> nodes(1);
    std::vector<int> word_nodes;  // child codes of each word
    for (const auto& members : word_members) {
        if (members.size() == 1) {
            word_nodes.push_back(members[0]);
        } else {
            nodes.push_back(members);
            word_nodes.push_back(n_features + static_cast<int>(nodes.size()) - 1);
        }
    }
    std::function<int(std::size_t, std::size_t)> build = [&](std::size_t a, std::size_t b) -> int {
        if (b - a == 1) return word_nodes[a];
        std::size_t mid = (a + b) / 2;
        int l = build(a, mid), r = build(mid, b);
        nodes.push_back({l, r});
        return n_features + static_cast<int>(nodes.size()) - 1;
    };
    if (word_nodes.size() == 1) {
        int only = word_nodes[0];
        nodes[0] = only >= n_features ? nodes[static_cast<std::size_t>(only - n_features)] : std::vector<int>{only};
        return nodes;
    }
    std::size_t mid = word_nodes.size() / 2;
    int l = build(0, mid), r = build(mid, word_nodes.size());
    nodes[0] = {l, r};
    return nodes;
}

void shap(const LanguageModel& m, Result& r, const std::vector<std::int32_t>& pid, const std::vector<std::int32_t>& tid,
          const std::vector<std::int32_t>& fid, const Options& o, const std::string& prompt) {
    const std::size_t P = pid.size(), Tt = tid.size() + fid.size();
    // Features: tokens, or words (each a set of tokens). A token that covers no text of the prompt (a BOS the
    // tokenizer added) is no feature: it stays in every coalition, as the model always sees it.
    // Past SHAP's 63 features (a coalition is a 64-bit mask) tokens become words, and words spans of consecutive
    // words, as few per span as fit: long prompts are explained, coarser, instead of refused.
    constexpr std::size_t kMaxFeatures = 63;
    std::vector<std::vector<int>> feature_tokens;
    auto words = word_spans(prompt, r.prompt_tokens);
    std::vector<std::vector<int>> word_features;
    for (const auto& w : words) {
        std::vector<int> t;
        for (int k = w.first; k < w.last; ++k) t.push_back(k);
        word_features.push_back(t);
    }
    std::string unit = o.shap_words ? "words" : "tokens", grouping;
    if (o.shap_words) {
        feature_tokens = word_features;
    } else {
        for (std::size_t i = 0; i < P; ++i)
            if (r.prompt_tokens[i].end > r.prompt_tokens[i].start) feature_tokens.push_back({static_cast<int>(i)});
        if (feature_tokens.size() > kMaxFeatures) {
            grouping = std::to_string(feature_tokens.size()) + " tokens are more than SHAP's " + std::to_string(kMaxFeatures) + " features: grouped";
            feature_tokens = word_features;
            unit = "words";
        }
    }
    if (feature_tokens.size() > kMaxFeatures) {
        const std::size_t per = (feature_tokens.size() + kMaxFeatures - 1) / kMaxFeatures;
        if (grouping.empty()) grouping = std::to_string(feature_tokens.size()) + " words are more than SHAP's " + std::to_string(kMaxFeatures) + " features: grouped";
        std::vector<std::vector<int>> spans;
        for (std::size_t w = 0; w < feature_tokens.size(); w += per) {
            spans.emplace_back();
            for (std::size_t k = w; k < std::min(feature_tokens.size(), w + per); ++k)
                spans.back().insert(spans.back().end(), feature_tokens[k].begin(), feature_tokens[k].end());
        }
        feature_tokens = std::move(spans);
        unit = "spans of " + std::to_string(per) + " words";
    }
    const int n = static_cast<int>(feature_tokens.size());
    std::int32_t absent = o.baseline_token >= 0 ? o.baseline_token : default_absent_token(m.tokenizer());
    std::vector<int> feature_of(P, -1);  // -1: always present
    for (int f = 0; f < n; ++f)
        for (int t : feature_tokens[static_cast<std::size_t>(f)]) feature_of[static_cast<std::size_t>(t)] = f;
    // Progress counts evaluated coalitions against what the algorithm may use: all 2^n (exact) or the budget.
    std::size_t evaluated = 0, planned = o.budget;
    // Coalitions per forward pass: --batch-size, or as many as fit the memory the model may use (at most 64).
    PassShape pass;
    pass.tokens = static_cast<std::int64_t>(P + Tt);
    const int rows = static_cast<int>(rows_per_pass(m, o.batch_size, pass, 64));
    CoalitionValues value = [&](const std::vector<std::uint64_t>& coalitions) {
        // In chunks, so that progress moves within a call (cancellation is checked inside every pass).
        const std::size_t chunk = static_cast<std::size_t>(rows) * 4;
        if (coalitions.size() > chunk) {
            std::vector<std::vector<double>> all;
            for (std::size_t s = 0; s < coalitions.size(); s += chunk) {
                std::vector<std::uint64_t> part(coalitions.begin() + static_cast<std::ptrdiff_t>(s),
                                                coalitions.begin() + static_cast<std::ptrdiff_t>(std::min(coalitions.size(), s + chunk)));
                auto v = value(part);
                all.insert(all.end(), v.begin(), v.end());
            }
            return all;
        }
        std::vector<TokenScoreRequest> reqs;
        for (auto mask : coalitions) {
            TokenScoreRequest q;
            for (std::size_t i = 0; i < P; ++i) {
                const bool present = feature_of[i] < 0 || ((mask >> feature_of[i]) & 1);
                if (present) q.context.push_back(pid[i]);
                else if (!o.shap_delete) q.context.push_back(absent);
            }
            q.continuation = tid;
            reqs.push_back(q);
            if (!fid.empty()) {  // the same coalition with the foil: its token log-probs enter negated
                q.continuation = fid;
                reqs.push_back(std::move(q));
            }
        }
        auto res = m.score_tokens(reqs, rows);
        evaluated += coalitions.size();
        o.control.report(evaluated, std::max(evaluated, planned), "coalitions");
        std::vector<std::vector<double>> out;
        const std::size_t per = fid.empty() ? 1 : 2;
        for (std::size_t c = 0; c < coalitions.size(); ++c) {
            const auto& t = res[c * per];
            out.emplace_back(t.token_logprobs.begin(), t.token_logprobs.end());
            if (per == 2)
                for (float lp : res[c * per + 1].token_logprobs) out.back().push_back(-static_cast<double>(lp));
        }
        return out;
    };
    auto algo = o.shap;
    std::vector<std::vector<int>> hierarchy;
    if (algo == Options::ShapAlgorithm::Auto) {
        if (n <= 12 && (1ull << n) <= o.budget) {
            algo = Options::ShapAlgorithm::Exact;
        } else {
            algo = Options::ShapAlgorithm::Partition;
        }
    }
    if (algo == Options::ShapAlgorithm::Partition) {
        std::vector<std::vector<int>> members;
        if (unit != "tokens") {
            for (int f = 0; f < n; ++f) members.push_back({f});
        } else {  // tokens grouped by their words first
            for (const auto& w : words) {
                std::vector<int> t;
                for (int k = w.first; k < w.last; ++k) t.push_back(k);
                members.push_back(t);
            }
        }
        hierarchy = word_hierarchy(n, members);
    }
    ShapleyResult s;
    try {
        if (algo == Options::ShapAlgorithm::Exact) {
            if (n > 20)
                throw AttributionError("exact Shapley values take at most 20 features (2^20 evaluations); this prompt has " + std::to_string(n) +
                                       " (use --kernel or --partition, or --words)");
            if ((1ull << n) > o.budget)
                throw AttributionError("exact Shapley values over " + std::to_string(n) + " features need " + std::to_string(1ull << n) +
                                       " evaluations, more than the budget of " + std::to_string(o.budget) +
                                       " (use --kernel or --partition, or raise --budget)");
            planned = std::size_t{1} << n;
            s = shapley_exact(n, Tt, value);
        } else if (algo == Options::ShapAlgorithm::Kernel) {
            s = kernel_shap(n, Tt, value, o.budget, o.seed);
        } else {
            try {
                s = partition_shap(n, Tt, value, hierarchy, o.budget);
            } catch (const AttributionError&) {
                if (o.shap != Options::ShapAlgorithm::Auto) throw;
                s = kernel_shap(n, Tt, value, o.budget, o.seed);  // automatic choice: fall back within the budget
            }
        }
    } catch (const ModelError& e) {
        throw AttributionError(std::string("evaluating coalitions: ") + e.what());
    }
    r.evaluations = s.evaluations;
    // Per target token and feature; tokens of a word feature share its value equally.
    r.matrix.assign(Tt * P, 0.0);
    for (std::size_t j = 0; j < Tt; ++j)
        for (int f = 0; f < n; ++f) {
            const auto& toks = feature_tokens[static_cast<std::size_t>(f)];
            for (int t : toks) r.matrix[j * P + static_cast<std::size_t>(t)] = s.phi[j][static_cast<std::size_t>(f)] / static_cast<double>(toks.size());
        }
    r.scores.assign(P, 0.0);
    for (std::size_t j = 0; j < Tt; ++j)
        for (std::size_t i = 0; i < P; ++i) r.scores[i] += r.matrix[j * P + i];
    double full = 0, empty = 0;
    for (std::size_t j = 0; j < Tt; ++j) full += s.full[j], empty += s.empty[j];
    r.target_logprob = full;
    r.target_token_logprobs = s.full;
    r.baseline_logprob = empty;
    r.delta = std::accumulate(r.scores.begin(), r.scores.end(), 0.0) - (full - empty);
    auto tok_text = m.tokenizer().id_to_token(absent).value_or(std::to_string(absent));
    r.details = s.algorithm + " over " + std::to_string(n) + " " + unit + (grouping.empty() ? "" : " (" + grouping + ")") + ", " + std::to_string(s.evaluations) +
                " evaluations; absent features " + (o.shap_delete ? std::string("deleted") : "replaced by token " + std::to_string(absent) + " (" + tok_text + ")");
}

void attention_method(const LanguageModel& m, Result& r, const std::vector<std::int32_t>& pid, const std::vector<std::int32_t>& tid,
                      const Options& o) {
    std::vector<std::int32_t> ids = pid;
    ids.insert(ids.end(), tid.begin(), tid.end());
    const int T = static_cast<int>(ids.size()), L = static_cast<int>(m.info().layers);
    int want = o.layer < 0 ? L - 1 : o.layer;
    if (o.method == Method::Attention && (want < 0 || (L > 0 && want >= L)))
        throw AttributionError("layer " + std::to_string(o.layer) + " does not exist (the model has " + std::to_string(L) + ")");
    Rollout rollout(T);
    std::size_t rolled = 0;
    std::vector<double> chosen;
    int heads = 0;
    o.control.report(0, static_cast<std::size_t>(L), "layers");
    stream_attentions(m, ids, [&](int layer, int h, int len, const float* a) {
        o.control.report(static_cast<std::size_t>(layer) + 1, static_cast<std::size_t>(L), "layers");
        heads = h;
        const std::size_t TT = static_cast<std::size_t>(len) * static_cast<std::size_t>(len);
        std::vector<double> mean(TT, 0.0);
        for (int k = 0; k < h; ++k)
            for (std::size_t q = 0; q < TT; ++q) mean[q] += a[static_cast<std::size_t>(k) * TT + q] / static_cast<double>(h);
        if (layer == want && o.method == Method::Attention) {
            if (o.head >= h) throw AttributionError("head " + std::to_string(o.head) + " does not exist (the model has " + std::to_string(h) + ")");
            if (o.head >= 0) {
                chosen.assign(a + static_cast<std::size_t>(o.head) * TT, a + static_cast<std::size_t>(o.head + 1) * TT);
            } else if (o.head_reduce == "max") {
                chosen.assign(TT, 0.0);
                for (int k = 0; k < h; ++k)
                    for (std::size_t q = 0; q < TT; ++q) chosen[q] = std::max(chosen[q], static_cast<double>(a[static_cast<std::size_t>(k) * TT + q]));
            } else {
                chosen = mean;
            }
        }
        if (o.method == Method::Rollout) rollout.add(mean.data()), ++rolled;
    }, o.method == Method::Attention ? std::vector<int>{want} : std::vector<int>{});  // one layer's maps, or every layer's
    o.control.report(static_cast<std::size_t>(L), static_cast<std::size_t>(L), "layers");
    r.evaluations = 1;
    if (o.method == Method::Rollout) {
        r.attention = rollout.result();
        r.details = "attention rollout over " + std::to_string(rolled) + " layers (heads averaged, identity added)";
    } else {
        if (chosen.empty()) throw AttributionError("layer " + std::to_string(want) + " did not report attentions");
        r.attention = std::move(chosen);
        r.layer = want;
        r.head = o.head;
        r.details = "layer " + std::to_string(want) + ", " + (o.head >= 0 ? "head " + std::to_string(o.head) : "head " + o.head_reduce) +
                    " of " + std::to_string(heads);
    }
    // The rows that predict the target tokens, over the prompt's columns.
    const std::size_t P = pid.size(), Tt = tid.size();
    r.matrix.assign(Tt * P, 0.0);
    r.scores.assign(P, 0.0);
    for (std::size_t j = 0; j < Tt; ++j)
        for (std::size_t i = 0; i < P; ++i) {
            double v = r.attention[(P - 1 + j) * static_cast<std::size_t>(T) + i];
            r.matrix[j * P + i] = v;
            r.scores[i] += v;
        }
    auto sc = m.score_tokens({{pid, tid}}, 1).front();
    r.target_logprob = sc.logprob;
    r.target_token_logprobs.assign(sc.token_logprobs.begin(), sc.token_logprobs.end());
}

}  // namespace

Method method_from_name(const std::string& name) {
    if (name == "grad" || name == "saliency") return Method::Saliency;
    if (name == "grad-x-input" || name == "gradxinput") return Method::GradientXInput;
    if (name == "ig" || name == "integrated-gradients") return Method::IntegratedGradients;
    if (name == "shap") return Method::Shap;
    if (name == "attention") return Method::Attention;
    if (name == "rollout") return Method::Rollout;
    throw AttributionError("unknown method '" + name + "' (ig, shap, grad, grad-x-input, attention, rollout)");
}

std::string to_string(Method m) {
    switch (m) {
    case Method::Saliency: return "grad";
    case Method::GradientXInput: return "grad-x-input";
    case Method::IntegratedGradients: return "ig";
    case Method::Shap: return "shap";
    case Method::Attention: return "attention";
    case Method::Rollout: return "rollout";
    }
    return "?";
}

Result explain(const LanguageModel& m, std::string_view prompt, std::string_view target, const Options& o) {
    CancelScope cancel_scope(o.control.cancel);
    Result r;
    r.method = to_string(o.method);
    r.prompt = prompt;
    std::vector<std::int32_t> pid, tid;
    r.prompt_tokens = prompt_tokens(m.tokenizer(), prompt, pid);
    if (pid.empty()) throw AttributionError("the prompt has no tokens");
    if (target.empty() && !o.generated_target)
        throw AttributionError("the target is empty: give the continuation to explain, or explain the model's own output "
                               "(lmwb explain without --target)");
    if (target.empty()) {
        GenerationOptions g;
        g.max_new_tokens = 16;
        g.stop = {"\n"};
        g.alternatives = 0;
        auto gen = m.generate(prompt, g);
        if (gen.tokens.empty()) throw AttributionError("the model generated nothing to explain; give a target");
        r.target = gen.text;
        int pos = 0;
        for (const auto& t : gen.tokens) {
            tid.push_back(t.id);
            Token tok;
            tok.id = t.id;
            tok.text = t.text;
            tok.start = pos;
            pos += static_cast<int>(to_u32(t.text).size());
            tok.end = pos;
            r.target_tokens.push_back(tok);
        }
    } else {
        r.target = target;
        r.target_tokens = continuation_tokens(m.tokenizer(), prompt, target, tid);
        if (tid.empty()) throw AttributionError("the target has no tokens");
    }
    std::vector<std::int32_t> fid;
    if (!o.contrast.empty()) {
        if (o.method == Method::Attention || o.method == Method::Rollout)
            throw AttributionError("--contrast applies to the gradient methods and SHAP, not to attention");
        r.contrast = o.contrast;
        r.contrast_tokens = continuation_tokens(m.tokenizer(), prompt, o.contrast, fid);
        if (fid.empty()) throw AttributionError("--contrast: the foil has no tokens");
        if (fid == tid) throw AttributionError("--contrast: the foil is the target itself");
        if (static_cast<std::int64_t>(pid.size() + fid.size()) > m.info().context_length)
            throw AttributionError("prompt and foil have " + std::to_string(pid.size() + fid.size()) + " tokens, more than the model's context");
    }
    if (static_cast<std::int64_t>(pid.size() + tid.size()) > m.info().context_length)
        throw AttributionError("prompt and target have " + std::to_string(pid.size() + tid.size()) + " tokens, more than the model's context of " +
                               std::to_string(m.info().context_length));
    // Options no method can use, named as the command line names them.
    if (o.layer < -1) throw AttributionError("--layer " + std::to_string(o.layer) + ": a layer from 0, or -1 for the last");
    if (o.head < -1) throw AttributionError("--head " + std::to_string(o.head) + ": a head from 0, or -1 for all");
    if (o.baseline_token < -1) throw AttributionError("--baseline-token " + std::to_string(o.baseline_token) + ": a token id from 0, or -1 for none");
    if (o.batch_size < 0) throw AttributionError("--batch-size must be 0 (as many as fit in memory) or more");
    if (o.steps < 1) throw AttributionError("--steps must be at least 1");
    auto need = [&](const char* cap, const char* why) {
        const auto& c = m.info().capabilities;
        if (std::find(c.begin(), c.end(), cap) == c.end())
            throw AttributionError(std::string(why) + " needs the model capability '" + cap + "', which this model lacks (" + m.info().format + ")");
    };
    try {
        switch (o.method) {
        case Method::Saliency:
        case Method::GradientXInput:
        case Method::IntegratedGradients:
            need("embedding_gradients", "a gradient method");
            gradient_methods(m, r, pid, tid, fid, o);
            break;
        case Method::Shap: shap(m, r, pid, tid, fid, o, std::string(prompt)); break;
        case Method::Attention:
        case Method::Rollout:
            need("attentions", "attention");
            r.tokens = r.prompt_tokens;
            r.tokens.insert(r.tokens.end(), r.target_tokens.begin(), r.target_tokens.end());
            attention_method(m, r, pid, tid, o);
            break;
        }
    } catch (const ModelError& e) {
        throw AttributionError(e.what());
    }
    aggregate_spans(r, std::string(prompt), o);
    const double gap = r.target_logprob - r.baseline_logprob;
    if (o.method == Method::IntegratedGradients && std::isfinite(r.delta) && std::fabs(r.delta) > 0.05 * std::max(1e-9, std::fabs(gap))) {
        char text[400];
        std::snprintf(text, sizeof text,
                      "the convergence delta %.3g is %.0f%% of F(input) - F(baseline) = %.4g: the scores do not add up to what they "
                      "explain. Raise the steps, or use a token baseline (a zero embedding is far off the path on LayerNorm / "
                      "RMSNorm models)", r.delta, 100 * std::fabs(r.delta) / std::max(1e-9, std::fabs(gap)), gap);
        r.warnings.push_back(text);
    }
    return r;
}

}  // namespace lmwb::attr

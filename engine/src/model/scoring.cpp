// Scoring: log-likelihoods of continuations (lm-eval's conventions), batched, with shared prefixes computed once.
#include <torch/torch.h>

#include <algorithm>
#include <map>

#include "lmwb/prompt_encoding.h"
#include "compute_threads.h"
#include "hf_model.h"

namespace lmwb {

// Context + continuation tokens into what the model reads, truncated on the left to the context.
HfModel::Prepared HfModel::prepare(std::size_t i, std::vector<std::int32_t> ctx, std::vector<std::int32_t> whole) const {
    const std::int64_t max_len = info_.context_length;
    Prepared p;
    std::size_t n_ctx = std::min(ctx.size(), whole.size());
    p.cont.assign(whole.begin() + static_cast<std::ptrdiff_t>(n_ctx), whole.end());
    if (p.cont.empty()) throw RequestError(i, "the continuation is empty after tokenization");
    if (static_cast<std::int64_t>(p.cont.size()) > max_len)
        throw RequestError(i, "the continuation has " + std::to_string(p.cont.size()) + " tokens, more than the model's context of " +
                                  std::to_string(max_len));
    std::size_t keep = std::min<std::size_t>(whole.size(), static_cast<std::size_t>(max_len) + 1);
    p.truncated = keep < whole.size();
    if (p.truncated && !options_.truncate_left)
        throw RequestError(i, std::to_string(whole.size()) + " tokens do not fit the model's context of " + std::to_string(max_len));
    p.input.assign(whole.end() - static_cast<std::ptrdiff_t>(keep), whole.end() - 1);
    return p;
}

std::vector<ScoreResult> HfModel::score(const std::vector<ScoreRequest>& requests, int batch_size) const {
    std::vector<Prepared> prep(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
        // The prompt rule of every path (lmwb/prompt_encoding.h): lm-eval's _encode_pair.
        auto [context, continuation] = move_trailing_space(requests[i].context, requests[i].continuation);
        std::vector<std::int32_t> ctx, whole;
        if (!context.empty()) {
            auto pc = encode_with_continuation(tokenizer(), context, continuation);
            ctx = std::move(pc.prompt.ids);
            whole = ctx;
            whole.insert(whole.end(), pc.continuation.ids.begin(), pc.continuation.ids.end());
        }
        if (ctx.empty()) {  // empty, or nothing the tokenizer keeps: condition on the prefix token
            ctx = {static_cast<std::int32_t>(prefix_)};
            whole = ctx;
            auto c = tokenizer().encode(continuation, false).ids;
            whole.insert(whole.end(), c.begin(), c.end());
        }
        prep[i] = prepare(i, std::move(ctx), std::move(whole));
    }
    return score_prepared(prep, batch_size);
}

std::vector<ScoreResult> HfModel::score_tokens(const std::vector<TokenScoreRequest>& requests, int batch_size) const {
    std::vector<Prepared> prep(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
        std::vector<std::int32_t> ctx = requests[i].context;
        if (ctx.empty()) ctx = {static_cast<std::int32_t>(prefix_)};
        std::vector<std::int32_t> whole = ctx;
        whole.insert(whole.end(), requests[i].continuation.begin(), requests[i].continuation.end());
        prep[i] = prepare(i, std::move(ctx), std::move(whole));
    }
    return score_prepared(prep, batch_size);
}

std::vector<std::vector<std::size_t>> HfModel::shared_prefix_groups(const std::vector<Prepared>& prep, std::vector<bool>& grouped) const {
    std::vector<std::vector<std::size_t>> groups;
    grouped.assign(prep.size(), false);
    if (!options_.share_prefixes || !kv_cache_) return groups;  // off, or a network without a KV cache
    std::map<std::vector<std::int64_t>, std::vector<std::size_t>> by_prefix;
    for (std::size_t i = 0; i < prep.size(); ++i) {
        const auto& p = prep[i];
        const std::size_t shared = p.input.size() - p.cont.size();
        if (length_switched_rope_ > 0 && static_cast<std::int64_t>(p.input.size()) > length_switched_rope_) continue;
        if (shared >= kSharedPrefixMin) by_prefix[std::vector<std::int64_t>(p.input.begin(), p.input.begin() + static_cast<std::ptrdiff_t>(shared))].push_back(i);
    }
    for (auto& [prefix, members] : by_prefix)
        if (members.size() >= 2) {
            for (auto i : members) grouped[i] = true;
            groups.push_back(std::move(members));
        }
    return groups;
}

void HfModel::score_shared_prefix(const std::vector<Prepared>& prep, const std::vector<std::size_t>& members, std::vector<ScoreResult>& results) const {
    const Prepared& first = prep[members.front()];
    const auto L = static_cast<std::int64_t>(first.input.size() - first.cont.size());
    std::int64_t C = 0;
    for (auto i : members) C = std::max<std::int64_t>(C, static_cast<std::int64_t>(prep[i].cont.size()));
    const auto K = static_cast<std::int64_t>(members.size());
    const auto opts = torch::TensorOptions().dtype(torch::kLong).device(device());
    auto prefix_cache = net().new_cache(1, L);
    std::vector<std::int64_t> prefix(first.input.begin(), first.input.begin() + L);
    net().forward_ids(ids_tensor(prefix, 1), torch::ones({1, L}, opts), torch::arange(L, opts).view({1, L}), prefix_cache.get());
    auto cache = repeat_cache(*prefix_cache, K, L + C);
    // Each continuation's input positions (the last shared token is not among them: it is the prefix's last),
    // right-padded to C; the scored rows are its real positions.
    std::vector<std::int64_t> ids(static_cast<std::size_t>(K * C), 0), mask(static_cast<std::size_t>(K * (L + C)), 0), scored, targets;
    for (std::int64_t r = 0; r < K; ++r) {
        const Prepared& p = prep[members[static_cast<std::size_t>(r)]];
        const auto c = static_cast<std::int64_t>(p.cont.size());
        for (std::int64_t j = 0; j < L; ++j) mask[static_cast<std::size_t>(r * (L + C) + j)] = 1;
        for (std::int64_t j = 0; j < c; ++j) {
            ids[static_cast<std::size_t>(r * C + j)] = p.input[static_cast<std::size_t>(L + j)];
            mask[static_cast<std::size_t>(r * (L + C) + L + j)] = 1;
            scored.push_back(r * C + j);
            targets.push_back(p.cont[static_cast<std::size_t>(j)]);
        }
    }
    auto states = net().forward_ids(ids_tensor(ids, K), long_tensor(mask).view({K, L + C}).to(device()),
                                    torch::arange(L, L + C, opts).view({1, C}).expand({K, C}), cache.get());
    auto picked = states.reshape({K * C, -1}).index_select(0, long_tensor(scored).to(device()));
    collect(prep, members, picked, targets, results);
}

// Log-probabilities of the targets at the picked states, back into each request's result (members in row order).
// Logits for a block of rows at a time (about 32 MB of them), keeping per row only the target's log-probability
// (logit - logsumexp) and whether it is the argmax: a 1,000-token continuation at a 128k vocabulary never holds its
// 0.5 GB of logits, let alone the copies a log-softmax makes.
void HfModel::collect(const std::vector<Prepared>& prep, const std::vector<std::size_t>& members, const torch::Tensor& picked, const std::vector<std::int64_t>& targets, std::vector<ScoreResult>& results) const {
    const std::int64_t rows = picked.size(0);
    const std::int64_t block = std::max<std::int64_t>(1, (std::int64_t{32} << 20) / 4 / std::max<std::int64_t>(1, info_.vocab_size));
    const auto tgt_all = long_tensor(targets).to(device());
    auto tok_lp = torch::empty({rows}, torch::kFloat32);
    auto greedy = torch::empty({rows}, torch::kBool);
    for (std::int64_t s = 0; s < rows; s += block) {
        const std::int64_t c = std::min(block, rows - s);
        const auto lg = net().logits(picked.narrow(0, s, c)).to(torch::kFloat32);
        const auto tgt = tgt_all.narrow(0, s, c);
        const auto lse = lg.logsumexp(-1);
        check_finite(lse, "scoring");
        tok_lp.narrow(0, s, c).copy_(lg.gather(1, tgt.view({-1, 1})).view({-1}) - lse);
        greedy.narrow(0, s, c).copy_(lg.argmax(1).eq(tgt));
    }
    check_finite(tok_lp, "scoring");
    auto lp = tok_lp.accessor<float, 1>();
    auto gr = greedy.accessor<bool, 1>();
    std::size_t k = 0;
    for (std::size_t idx : members) {
        const Prepared& p = prep[idx];
        ScoreResult& out = results[idx];
        out.tokens = p.cont;
        out.truncated = p.truncated;
        out.is_greedy = true;
        for (std::size_t c = 0; c < p.cont.size(); ++c, ++k) {
            out.token_logprobs.push_back(lp[static_cast<std::int64_t>(k)]);
            out.logprob += lp[static_cast<std::int64_t>(k)];
            out.is_greedy = out.is_greedy && gr[static_cast<std::int64_t>(k)];
        }
    }
}

std::vector<ScoreResult> HfModel::score_prepared(const std::vector<Prepared>& prep, int batch_size) const {
    const ModelThreads threads(threads_);
    torch::InferenceMode guard;
    std::vector<ScoreResult> results(prep.size());
    if (!prep.empty()) {
        std::int64_t longest = 0;
        for (const auto& p : prep) longest = std::max<std::int64_t>(longest, static_cast<std::int64_t>(p.input.size()));
        const auto rows = static_cast<std::int64_t>(std::min(static_cast<std::size_t>(std::max(1, batch_size)), prep.size()));
        check_memory(pass_of(rows, longest), "scoring " + std::to_string(rows) + " × " + std::to_string(longest) + " tokens at once",
                     "a smaller --batch-size, shorter inputs, or --dtype auto for a 16-bit checkpoint");
    }
    std::vector<bool> grouped;
    for (const auto& members : shared_prefix_groups(prep, grouped)) {
        check_cancelled();
        score_shared_prefix(prep, members, results);
    }
    // The rest in padded batches, longest first so that a batch pads little; results go back to request order.
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < prep.size(); ++i)
        if (!grouped[i]) order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return prep[a].input.size() > prep[b].input.size(); });
    std::size_t bs = static_cast<std::size_t>(std::max(1, batch_size));
    for (std::size_t start = 0; start < order.size(); start += bs) {
        check_cancelled();
        std::size_t end = std::min(order.size(), start + bs);
        std::int64_t B = static_cast<std::int64_t>(end - start);
        std::int64_t T = static_cast<std::int64_t>(prep[order[start]].input.size());
        std::vector<std::int64_t> ids(static_cast<std::size_t>(B * T), 0), mask(static_cast<std::size_t>(B * T), 0);
        std::vector<std::int64_t> scored, targets;  // flat positions (row * T + column) and their next tokens
        for (std::int64_t r = 0; r < B; ++r) {
            const Prepared& p = prep[order[start + static_cast<std::size_t>(r)]];
            for (std::size_t t = 0; t < p.input.size(); ++t) {
                ids[static_cast<std::size_t>(r * T) + t] = p.input[t];
                mask[static_cast<std::size_t>(r * T) + t] = 1;
            }
            std::int64_t n = static_cast<std::int64_t>(p.input.size()), c = static_cast<std::int64_t>(p.cont.size());
            for (std::int64_t k = 0; k < c; ++k) {
                scored.push_back(r * T + n - c + k);
                targets.push_back(p.cont[static_cast<std::size_t>(k)]);
            }
        }
        auto id_t = ids_tensor(ids, B);
        auto mask_t = long_tensor(mask).view({B, T}).to(device());
        auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(device())).expand({B, T});
        auto picked = net().forward_ids_rows(id_t, mask_t, pos, long_tensor(scored).to(device()));
        collect(prep, std::vector<std::size_t>(order.begin() + static_cast<std::ptrdiff_t>(start), order.begin() + static_cast<std::ptrdiff_t>(end)),
                picked, targets, results);
    }
    return results;
}

RollingResult HfModel::rolling_loglikelihood(std::string_view text) const {
    const ModelThreads threads(threads_);
    torch::InferenceMode guard;
    auto ids32 = tokenizer().encode(text, false).ids;
    std::vector<std::int64_t> tokens(ids32.begin(), ids32.end());
    RollingResult out;
    out.tokens = tokens.size();
    const std::size_t max_len = static_cast<std::size_t>(info_.context_length);
    std::size_t predicted = 0;
    // lm-eval's rolling windows (context length 1): each window predicts the tokens it has not seen yet,
    // conditioned on up to max_len earlier tokens (the first on the prefix token).
    while (predicted < tokens.size()) {
        check_cancelled();
        std::vector<std::int64_t> input;
        std::size_t n_pred;
        if (predicted == 0) {
            n_pred = std::min(max_len, tokens.size());
            input.push_back(prefix_);
            input.insert(input.end(), tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(n_pred - 1));
        } else {
            n_pred = std::min(tokens.size() - predicted, max_len);
            std::size_t end = predicted + n_pred;
            std::size_t begin = end >= max_len + 1 ? end - max_len - 1 : 0;
            input.assign(tokens.begin() + static_cast<std::ptrdiff_t>(begin), tokens.begin() + static_cast<std::ptrdiff_t>(end - 1));
        }
        auto T = static_cast<std::int64_t>(input.size());
        check_memory(pass_of(1, T), "a window of " + std::to_string(T) + " tokens", "a shorter text, or --dtype auto for a 16-bit checkpoint");
        auto id_t = ids_tensor(input, 1);
        auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(device())).view({1, T});
        auto hidden = net().forward_ids(id_t, torch::ones({1, T}, torch::kLong).to(device()), pos, nullptr);
        auto last = hidden[0].narrow(0, T - static_cast<std::int64_t>(n_pred), static_cast<std::int64_t>(n_pred));
        auto tgt = long_tensor(std::vector<std::int64_t>(tokens.begin() + static_cast<std::ptrdiff_t>(predicted),
                                                          tokens.begin() + static_cast<std::ptrdiff_t>(predicted + n_pred)))
                       .to(device());
        // Logits for a block of positions at a time: a window's full [T, V] logits would cost more memory
        // than a small model's weights; log p = logit - logsumexp needs no log-softmax copy either.
        constexpr std::int64_t block = 128;
        for (std::int64_t s = 0; s < static_cast<std::int64_t>(n_pred); s += block) {
            std::int64_t c = std::min<std::int64_t>(block, static_cast<std::int64_t>(n_pred) - s);
            auto lg = net().logits(last.narrow(0, s, c)).to(torch::kFloat);
            auto lp = (lg.gather(1, tgt.narrow(0, s, c).view({-1, 1})).view({-1}) - lg.logsumexp(-1)).cpu().contiguous();
            check_finite(lp, "scoring");
            for (std::int64_t k = 0; k < lp.size(0); ++k) {
                float v = lp.data_ptr<float>()[k];
                out.token_logprobs.push_back(v);
                out.logprob += v;
            }
        }
        predicted += n_pred;
    }
    return out;
}

std::vector<float> HfModel::logits(const std::vector<std::int32_t>& ids32) const {
    const ModelThreads threads(threads_);
    torch::InferenceMode guard;
    auto T = static_cast<std::int64_t>(ids32.size());
    if (T == 0) return {};
    if (T > info_.context_length)
        throw ModelError(std::to_string(T) + " tokens exceed the model's context of " + std::to_string(info_.context_length));
    PassShape pass = pass_of(1, T);
    pass.logit_positions = T;
    check_memory(pass, "the logits of " + std::to_string(T) + " tokens", "fewer tokens");
    std::vector<std::int64_t> ids(ids32.begin(), ids32.end());
    auto id_t = ids_tensor(ids, 1);
    auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(device())).view({1, T});
    auto out = net().logits(net().forward_ids(id_t, torch::ones({1, T}, torch::kLong).to(device()), pos, nullptr)[0])
                   .cpu().contiguous();
    return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
}

std::vector<float> HfModel::embeddings(const std::vector<std::int32_t>& ids32) const {
    const ModelThreads threads(threads_);
    torch::InferenceMode guard;
    if (ids32.empty()) return {};
    std::vector<std::int64_t> ids(ids32.begin(), ids32.end());
    auto e = net().embed(ids_tensor(ids, 1))[0].to(torch::kFloat32).cpu().contiguous();
    return std::vector<float>(e.data_ptr<float>(), e.data_ptr<float>() + e.numel());
}

}  // namespace lmwb

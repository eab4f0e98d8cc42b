// Generation: greedy and sampled decoding, one prompt or several left-padded rows with a KV cache.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>

#include "lmwb/prompt_encoding.h"
#include "lmwb/text.h"
#include "decode_math.h"
#include "compute_threads.h"
#include "hf_model.h"
#include "hooked_passes.h"

namespace lmwb {

namespace {
// Sampling state: a seeded 64-bit generator, so the same seed gives the same tokens on every machine.
struct Sampler {
    std::mt19937_64 rng;
    double uniform() { return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0); }
};
}  // namespace

// One row of a generation: its prompt, sampler and tokens so far. `take` chooses the next token from the row's
// logits and records it; the row is done at end-of-text, a stop string or max_new_tokens.
struct HfModel::Row {
    GenerationOptions opt;
    GenerationResult out;
    std::vector<std::int64_t> seq;  // prompt and generated ids
    Sampler sampler;
    std::vector<std::int32_t> generated;
    std::string prev_text;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    bool done = false;

    // The next token under repetition penalty, temperature, top-k and top-p, from the row's logits in double (a copy).
    std::int64_t choose(torch::Tensor work) {
        if (opt.repetition_penalty != 1.0) {
            std::vector<std::int64_t> seen(seq.begin(), seq.end());
            std::sort(seen.begin(), seen.end());
            seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
            auto idx = long_tensor(seen);
            auto v = work.index_select(0, idx);
            work.index_put_({idx}, torch::where(v < 0, v * opt.repetition_penalty, v / opt.repetition_penalty));
        }
        std::int64_t next;
        if (opt.temperature == 0.0) {
            next = work.argmax().item<std::int64_t>();
        } else {
            work = work / opt.temperature;
            if (opt.top_k > 0 && opt.top_k < work.size(0)) {
                auto kth = std::get<0>(work.topk(opt.top_k)).min();
                work = work.masked_fill(work < kth, -std::numeric_limits<double>::infinity());
            }
            auto probs = torch::softmax(work, -1);
            auto sorted = probs.sort(0, true);
            auto p_sorted = std::get<0>(sorted), i_sorted = std::get<1>(sorted);
            auto pa = p_sorted.accessor<double, 1>();
            auto ia = i_sorted.accessor<std::int64_t, 1>();
            // Nucleus: the smallest prefix whose mass reaches top_p (at least one token).
            double mass = 0;
            std::int64_t keep = 0;
            while (keep < p_sorted.size(0) && (keep == 0 || mass < opt.top_p)) mass += pa[keep++];
            double u = sampler.uniform() * mass, acc = 0;
            next = ia[keep - 1];
            for (std::int64_t k = 0; k < keep; ++k) {
                acc += pa[k];
                if (u < acc) { next = ia[k]; break; }
            }
        }
        return next;
    }

    void take(const HfModel& m, const torch::Tensor& logits_row) {
        const auto logits = logits_row.to(torch::kFloat32).contiguous();
        const float* x = logits.data_ptr<float>();
        // Maximum, log-normaliser and entropy in two vectorised passes (model/decode_math.h): a decode step does this
        // for every row; in LibTorch it took ten passes over the row in double (2.3 ms of a 21 ms 8-row step).
        const auto stats = decode_math::logit_stats(x, logits.numel());
        if (!stats.finite) check_finite(logits, "generating");
        const double log_norm = stats.log_norm;
        GeneratedToken tok;
        tok.entropy = static_cast<float>(stats.entropy);
        // Choose the next token from the processed distribution (greedy on the logits as they are: their argmax).
        std::int64_t next = stats.argmax;
        if (opt.repetition_penalty != 1.0 || opt.temperature != 0.0) next = choose(logits.to(torch::kFloat64));
        tok.id = static_cast<std::int32_t>(next);
        tok.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        tok.logprob = static_cast<float>(static_cast<double>(x[next]) - log_norm);
        const auto n_alt = std::min<std::int64_t>(std::max(0, opt.alternatives), logits.size(0));
        if (n_alt > 0) {
            auto best = logits.topk(n_alt);
            for (std::int64_t k = 0; k < n_alt; ++k) {
                auto id = std::get<1>(best)[k].item<std::int64_t>();
                tok.top.push_back({static_cast<std::int32_t>(id), m.tokenizer().decode({static_cast<std::int32_t>(id)}),
                                   static_cast<float>(std::get<0>(best)[k].item<double>() - log_norm)});
            }
        }
        seq.push_back(next);
        generated.push_back(tok.id);
        // Text of this token: what it adds to the decoded continuation. A character split over several tokens
        // decodes to U+FFFD until its last byte arrives; the pieces before that show nothing.
        std::string text = m.tokenizer().decode(generated, true);
        if (text.size() >= 3 && text.compare(text.size() - 3, 3, "\xEF\xBF\xBD") == 0) {
            tok.text.clear();
        } else {
            std::size_t common = 0;
            while (common < prev_text.size() && common < text.size() && prev_text[common] == text[common]) ++common;
            tok.text = text.substr(common);
            prev_text = text;
        }
        out.tokens.push_back(std::move(tok));
        if (std::find(m.eos_.begin(), m.eos_.end(), next) != m.eos_.end()) {
            out.stop_reason = "eos";
            done = true;
            return;
        }
        std::size_t cut = std::string::npos;
        for (auto& stop : opt.stop)
            if (!stop.empty()) cut = std::min(cut, text.find(stop));
        if (cut != std::string::npos) {
            prev_text = text.substr(0, cut);
            out.stop_reason = "stop";
            done = true;
            return;
        }
        done = static_cast<int>(generated.size()) >= opt.max_new_tokens;
    }

    void finish(const HfModel& m) {
        out.text = out.stop_reason == "stop" ? prev_text : m.tokenizer().decode(generated, true);
        // Bytes of a character still incomplete at the end decode to U+FFFD: they belong to the last token.
        if (!out.tokens.empty() && out.text.compare(0, prev_text.size(), prev_text) == 0)
            out.tokens.back().text += out.text.substr(prev_text.size());
    }
};

HfModel::Row HfModel::start_row(std::string_view prompt, const GenerationOptions& opt) const {
    if (opt.max_new_tokens < 0) throw ModelError("max_new_tokens must not be negative");
    if (opt.temperature < 0) throw ModelError("temperature must not be negative");
    if (opt.top_p <= 0 || opt.top_p > 1) throw ModelError("top_p must be in (0, 1]");
    if (opt.repetition_penalty <= 0) throw ModelError("repetition_penalty must be positive");
    Row row;
    row.opt = opt;
    row.sampler = Sampler{std::mt19937_64(opt.seed)};
    auto enc = encode_prompt(tokenizer(), prompt).ids;
    if (enc.empty()) enc.push_back(static_cast<std::int32_t>(prefix_));
    const std::int64_t ctx = info_.context_length;
    std::int64_t room = ctx - opt.max_new_tokens;
    if (room < 1) throw ModelError("max_new_tokens " + std::to_string(opt.max_new_tokens) + " leaves no room for the prompt in a context of " + std::to_string(ctx));
    if (static_cast<std::int64_t>(enc.size()) > room) {
        if (!options_.truncate_left)
            throw ModelError("the prompt has " + std::to_string(enc.size()) + " tokens; with " + std::to_string(opt.max_new_tokens) +
                             " new tokens it does not fit the context of " + std::to_string(ctx));
        enc.erase(enc.begin(), enc.end() - room);
        row.out.truncated = true;
    }
    row.out.prompt_tokens = enc;
    row.seq.assign(enc.begin(), enc.end());
    row.out.stop_reason = "max_new_tokens";
    row.done = opt.max_new_tokens == 0;
    return row;
}

GenerationResult HfModel::generate(std::string_view prompt, const GenerationOptions& opt) const {
    const ModelThreads threads(threads_);
    torch::InferenceMode guard;
    Row row = start_row(prompt, opt);
    const auto n_prompt = static_cast<std::int64_t>(row.seq.size());
    PassShape pass = pass_of(1, n_prompt);
    pass.cached_tokens = n_prompt + opt.max_new_tokens;
    check_memory(pass, "generating from " + std::to_string(n_prompt) + " prompt tokens", "a shorter prompt or fewer --max-new-tokens");
    auto cache = opt.use_cache ? net().new_cache(1, n_prompt + opt.max_new_tokens) : nullptr;
    auto opts_long = torch::TensorOptions().dtype(torch::kLong).device(device());
    // Hooks (steering): the pass's new positions, row 0, as run_hooked calls them.
    if (!opt.hooks.empty() && !net().runs_hooks())
        throw ModelError("generation with hooks needs the components of every layer, which a TorchScript bundle does not expose");
    std::map<HookPoint, std::vector<const Hook*>> hooks_at;
    for (const auto& h : opt.hooks) {
        if (h.point.layer < 0 || h.point.layer >= info_.layers)
            throw ModelError(h.point.name() + ": layer " + std::to_string(h.point.layer) + " is outside the model's " + std::to_string(info_.layers) + " layers");
        if (!h.call) throw ModelError(h.point.name() + ": a hook without a function");
        hooks_at[h.point].push_back(&h);
    }
    std::int64_t first_position = 0;
    TensorHooks hooks{[&](const HookPoint& p) { return hooks_at.count(p) > 0; },
                      [&](const HookPoint& p, torch::Tensor& value) {
                          value = value.contiguous().clone();
                          call_hooks_on_row(hooks_at.at(p), value, 0, static_cast<int>(first_position));
                      },
                      {}};
    auto step = [&](const std::vector<std::int64_t>& ids, std::int64_t past, std::int64_t total, KVCache* kv) {
        auto positions = torch::arange(past, total, opts_long).view({1, total - past});
        first_position = past;
        return net().forward(net().embed(ids_tensor(ids, 1)), torch::ones({1, total}, opts_long), positions, kv, hooks_at.empty() ? nullptr : &hooks);
    };
    while (!row.done) {
        check_cancelled();
        torch::Tensor hidden;
        auto total = static_cast<std::int64_t>(row.seq.size());
        if (cache) {
            std::int64_t past = cache_length(*cache);
            hidden = step(std::vector<std::int64_t>(row.seq.begin() + past, row.seq.end()), past, total, cache.get());
        } else {
            hidden = step(row.seq, 0, total, nullptr);
        }
        row.take(*this, net().logits(hidden[0][hidden.size(1) - 1]).cpu());
    }
    row.finish(*this);
    return std::move(row.out);
}

std::vector<GenerationResult> HfModel::generate_batch(const std::vector<std::string>& prompts, const std::vector<GenerationOptions>& options) const {
    const ModelThreads threads(threads_);
    if (prompts.size() != options.size()) throw ModelError("generate_batch: one set of options per prompt");
    std::vector<GenerationResult> results;
    const auto B = static_cast<std::int64_t>(prompts.size());
    // One row, a network without a KV cache, or options that ask for no cache: one prompt at a time.
    bool batched = B > 1 && kv_cache_;
    for (const auto& o : options) batched = batched && o.use_cache && o.hooks.empty();
    if (!batched) {
        for (std::size_t i = 0; i < prompts.size(); ++i) results.push_back(generate(prompts[i], options[i]));
        return results;
    }
    torch::InferenceMode guard;
    std::vector<Row> rows;
    std::int64_t longest = 0, steps = 0;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        rows.push_back(start_row(prompts[i], options[i]));
        longest = std::max<std::int64_t>(longest, static_cast<std::int64_t>(rows.back().seq.size()));
        steps = std::max<std::int64_t>(steps, options[i].max_new_tokens);
    }
    // Prompts left-padded to the longest: every row's last prompt token sits in the same column, and each row's own
    // positions count from its first real token. Pads are masked out as keys throughout.
    const std::int64_t S = longest + steps;
    PassShape pass = pass_of(B, longest);
    pass.cached_tokens = S;
    check_memory(pass, "generating " + std::to_string(B) + " rows of up to " + std::to_string(longest) + " prompt tokens",
                 "fewer prompts at once (--batch-size), shorter prompts or fewer --max-new-tokens");
    auto cache = net().new_cache(B, S);
    std::vector<std::int64_t> ids(static_cast<std::size_t>(B * longest), 0), pos(static_cast<std::size_t>(B * longest), 0);
    std::vector<std::int64_t> keys(static_cast<std::size_t>(B * S), 0);  // which cache columns hold a real token, per row
    for (std::int64_t r = 0; r < B; ++r) {
        const auto& seq = rows[static_cast<std::size_t>(r)].seq;
        const std::int64_t pad = longest - static_cast<std::int64_t>(seq.size());
        for (std::int64_t j = 0; j < static_cast<std::int64_t>(seq.size()); ++j) {
            ids[static_cast<std::size_t>(r * longest + pad + j)] = seq[static_cast<std::size_t>(j)];
            pos[static_cast<std::size_t>(r * longest + pad + j)] = j;
            keys[static_cast<std::size_t>(r * S + pad + j)] = 1;
        }
    }
    auto key_mask = [&](std::int64_t columns) {
        std::vector<std::int64_t> m(static_cast<std::size_t>(B * columns));
        for (std::int64_t r = 0; r < B; ++r)
            for (std::int64_t j = 0; j < columns; ++j) m[static_cast<std::size_t>(r * columns + j)] = keys[static_cast<std::size_t>(r * S + j)];
        return long_tensor(m).view({B, columns}).to(device());
    };
    check_cancelled();
    auto hidden = net().forward_ids(ids_tensor(ids, B), key_mask(longest), long_tensor(pos).view({B, longest}).to(device()), cache.get());
    auto logits = net().logits(hidden.select(1, longest - 1)).cpu();
    for (std::int64_t col = longest;; ++col) {
        bool any = false;
        std::vector<std::int64_t> next(static_cast<std::size_t>(B), 0), next_pos(static_cast<std::size_t>(B), 0);
        for (std::int64_t r = 0; r < B; ++r) {
            Row& row = rows[static_cast<std::size_t>(r)];
            if (row.done) continue;
            row.take(*this, logits[r]);
            if (row.done) continue;  // finished rows feed a masked pad from here on
            any = true;
            next[static_cast<std::size_t>(r)] = row.seq.back();
            next_pos[static_cast<std::size_t>(r)] = static_cast<std::int64_t>(row.seq.size()) - 1;
            keys[static_cast<std::size_t>(r * S + col)] = 1;
        }
        if (!any || col >= S) break;
        check_cancelled();
        hidden = net().forward_ids(ids_tensor(next, B), key_mask(col + 1), long_tensor(next_pos).view({B, 1}).to(device()), cache.get());
        logits = net().logits(hidden.select(1, 0)).cpu();
    }
    for (auto& row : rows) {
        row.finish(*this);
        results.push_back(std::move(row.out));
    }
    return results;
}

}  // namespace lmwb

// LanguageModel on a Hugging Face checkpoint folder: tokenization conventions, batching and decoding around the
// Transformer.
#include <dlfcn.h>

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "lmwb/control.h"
#include "lmwb/model.h"
#include "lmwb/model_source.h"
#include "lmwb/prompt_encoding.h"
#include "lmwb/text.h"
#include "components.h"
#include "decode_math.h"
#include "few_rows.h"
#include "host_memory.h"
#include "transformer.h"

namespace lmwb {

namespace {

namespace fs = std::filesystem;

// Between batches and decode steps; networks that check per layer (ours) also stop inside a pass.
void check_cancelled() {
    if (const CancelToken* t = CancelScope::current()) t->check();
}

// Matrix products, nearly all the work, run in OpenBLAS's own pool with `threads` threads, or for a few rows in
// the few-row kernels' pool of as many. LibTorch's OpenMP pool stays at one thread: its idle workers spin after
// each parallel region and would take the cores OpenBLAS needs (measured: generation steps twice as slow once
// element-wise ops on the KV cache went parallel).
void set_threads(int threads) {
    if (threads < 0 || threads > 1024) throw ModelError("threads " + std::to_string(threads) + ": expected 0 (all cores) to 1024");
    int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(1);
    few_rows::set_threads(n);
    using SetThreads = void (*)(int);
    if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(n);
    else at::set_num_threads(n);  // another BLAS: let LibTorch parallelise instead
}

std::vector<std::int64_t> read_generation_eos(const fs::path& dir) {
    std::vector<std::int64_t> out;
    std::error_code ec;
    if (!fs::exists(dir / "generation_config.json", ec)) return out;  // optional
    const auto j = read_json_object((dir / "generation_config.json").string(), "generation settings");
    if (j.contains("eos_token_id")) {
        auto& e = j["eos_token_id"];
        if (e.is_number_integer()) out.push_back(e.get<std::int64_t>());
        else if (e.is_array())
            for (auto& v : e) if (v.is_number_integer()) out.push_back(v.get<std::int64_t>());
    }
    return out;
}

torch::Tensor long_tensor(const std::vector<std::int64_t>& v) {
    return torch::tensor(v, torch::TensorOptions().dtype(torch::kLong));
}

void check_finite(const torch::Tensor& logits, const std::string& what) {
    if (!torch::isfinite(logits).all().item<bool>())
        throw ModelError("the model produced NaN or infinite logits while " + what +
                         " (broken weights, or a dtype that overflows: try --dtype float32)");
}

void check_finite_gradients(const torch::Tensor& g) {
    if (!torch::isfinite(g).all().item<bool>())
        throw ModelError("the model produced NaN or infinite gradients while attributing (broken weights, or a dtype that "
                         "overflows: try --dtype float32)");
}

class HfModel : public LanguageModel {
public:
    HfModel(const std::string& path, const ModelOptions& options) : options_(options) {
        options_.control = {};  // the opener's hooks serve the opening only
        fs::path dir(path);
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) throw ModelError(path + ": not a folder (expected a Hugging Face checkpoint folder)");
        set_threads(options.threads);
        try {
            tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::from_file(path));
        } catch (const TokenizerError& e) {
            throw ModelError(e.what());
        }
        info_.path = path;
        info_.tokenizer_file = (dir / (fs::exists(dir / "tokenizer.json") ? "tokenizer.json" : "vocab.json")).string();
        info_.device = options.device;
        if (fs::exists(dir / "lmwb.json")) {
            open_bundle(dir, options);
            info_.compute_dtype = "float32";  // as exported (load_torchscript refuses any other)
        } else {
            info_.compute_dtype = compute_dtype(options);
            open_hf_folder(dir, options);
        }
        device_ = torch::Device(options.device);  // validated by the network
        kv_cache_ = model_ && model_->new_cache(1, 1) != nullptr;  // TorchScript bundles without a step method keep none
        // Prefix for an empty context and for rolling windows: BOS, else end-of-text, as lm-eval does.
        if (prefix_ < 0 || prefix_ >= info_.vocab_size) prefix_ = eos_.empty() ? 0 : eos_.front();
        if (prefix_ < 0 || prefix_ >= info_.vocab_size) prefix_ = 0;
    }

    void name_source(const std::string& repository, const std::string& revision) {
        info_.repository = repository;
        info_.revision = revision;
    }

    void open_hf_folder(const fs::path& dir, const ModelOptions& options) {
        ArchConfig cfg = read_config((dir / "config.json").string());
        weights_ = std::make_unique<WeightStore>(dir.string());  // headers only: the data stays mapped, unread
        // Without load_weights the network is built of meta tensors: every name, shape and dtype is checked against the
        // headers as a load would, and nothing is read (a checkpoint `score` refuses is not described as fine).
        std::unique_ptr<Transformer> t;
        try {
            t = std::make_unique<Transformer>(cfg, *weights_, options);
        } catch (const c10::Error& e) {  // one line naming what to change, never LibTorch's 38-frame backtrace
            const std::string what = e.what_without_backtrace();
            if (is_out_of_memory(e)) {
                double elements = 0;
                for (const auto& n : weights_->names()) elements += static_cast<double>(weights_->find(n)->numel());
                char need[64];
                std::snprintf(need, sizeof need, "%.1f GiB", elements * (info_.compute_dtype == "float32" ? 4 : 2) / (1 << 30));
                throw ModelError(dir.string() + ": not enough memory to hold the weights as " + info_.compute_dtype + " (about " + need +
                                 " for a checkpoint of " + std::to_string(weights_->total_bytes() >> 20) + " MiB stored); a 16-bit "
                                 "dtype or a machine with more memory");
            }
            throw ModelError(dir.string() + ": " + what.substr(0, what.find('\n')));
        }
        if (const auto& unused = t->unused_tensors(); !unused.empty())
            info_.warnings.push_back(std::to_string(unused.size()) + " tensors of the checkpoint are not used (" + unused.front() +
                                     (unused.size() > 1 ? ", …" : "") + "): does num_hidden_layers (" + std::to_string(cfg.layers) +
                                     ") or the architecture match the weights?");
        info_.parameters = t->parameter_count();
        if (options.load_weights) model_ = std::move(t);
        if (cfg.rope_scaling.type == "longrope") length_switched_rope_ = cfg.rope_scaling.original_max_position_embeddings;
        eos_ = read_generation_eos(dir);
        if (eos_.empty()) eos_ = cfg.eos_token_ids;
        prefix_ = !cfg.bos_token_ids.empty() ? cfg.bos_token_ids.front() : -1;
        info_.format = "huggingface";
        info_.architecture = cfg.model_type;
        info_.vocab_size = cfg.vocab_size;
        info_.context_length = cfg.max_positions;
        info_.hidden_size = cfg.hidden_size;
        info_.layers = cfg.layers;
        info_.heads = cfg.heads;
        info_.kv_heads = cfg.kv_heads;
        info_.weight_bytes = weights_->total_bytes();
        info_.weight_files = weights_->files();
        std::string stored;
        for (auto& n : weights_->names()) {
            const TensorView* t = weights_->find(n);
            if (stored.empty()) stored = t->dtype_name;
            else if (stored != t->dtype_name && stored.find("mixed") == std::string::npos) stored += " (mixed)";
        }
        info_.stored_dtype = stored;
        info_.capabilities = {"score", "generate", "kv_cache", "attentions", "hidden_states", "embeddings", "embedding_gradients"};
    }

    void open_bundle(const fs::path& dir, const ModelOptions& options) {
        std::string mpath = (dir / "lmwb.json").string();
        nlohmann::json m = read_json_object(mpath, "a TorchScript bundle needs lmwb.json");
        auto integer = [&](const char* key, bool required) -> std::int64_t {
            if (!m.contains(key) || m[key].is_null()) {
                if (required) throw ModelError(mpath + ": /" + key + ": missing field");
                return -1;
            }
            if (!m[key].is_number_integer()) throw ModelError(mpath + ": /" + key + ": expected an integer");
            return m[key].get<std::int64_t>();
        };
        auto text = [&](const char* key, const std::string& fallback) {
            if (!m.contains(key) || m[key].is_null()) return fallback;
            if (!m[key].is_string()) throw ModelError(mpath + ": /" + key + ": expected a string");
            return m[key].get<std::string>();
        };
        if (text("format", "") != "lmwb-torchscript")
            throw ModelError(mpath + ": /format: expected \"lmwb-torchscript\"");
        BundleManifest bm;
        bm.vocab_size = integer("vocab_size", true);
        bm.context_length = integer("context_length", true);
        if (bm.vocab_size <= 0 || bm.context_length <= 0) throw ModelError(mpath + ": vocab_size and context_length must be positive");
        if (m.contains("outputs") && m["outputs"].is_object() && m["outputs"].contains("logits")) {
            auto& l = m["outputs"]["logits"];
            if (l.is_number_integer()) bm.logits_output = l.get<int>();
            else if (l.is_string()) bm.logits_key = l.get<std::string>();
            else throw ModelError(mpath + ": /outputs/logits: expected an index or a key");
        }
        model_ = load_torchscript((dir / "model.pt").string(), bm, options, info_.capabilities);
        if (m.contains("eos_token_id") && m["eos_token_id"].is_array()) {  // e.g. Llama 3
            for (auto& v : m["eos_token_id"])
                if (v.is_number_integer()) eos_.push_back(v.get<std::int64_t>());
        } else if (auto eos = integer("eos_token_id", false); eos >= 0) {
            eos_ = {eos};
        }
        prefix_ = integer("bos_token_id", false);
        info_.format = "torchscript";
        info_.architecture = text("architecture", "unknown");
        info_.parameters = net().parameter_count();
        info_.vocab_size = bm.vocab_size;
        info_.context_length = bm.context_length;
        info_.hidden_size = std::max<std::int64_t>(0, integer("hidden_size", false));
        info_.layers = std::max<std::int64_t>(0, integer("layers", false));
        info_.heads = std::max<std::int64_t>(0, integer("heads", false));
        info_.kv_heads = std::max<std::int64_t>(0, integer("kv_heads", false));
        if (info_.kv_heads == 0) info_.kv_heads = info_.heads;
        std::error_code ec;
        info_.weight_bytes = static_cast<std::size_t>(fs::file_size(dir / "model.pt", ec));
        info_.weight_files = {(dir / "model.pt").string()};
        info_.stored_dtype = "TorchScript";
    }

    const ModelInfo& info() const override { return info_; }
    const Tokenizer& tokenizer() const override { return *tokenizer_; }

    struct Prepared {
        std::vector<std::int64_t> input;  // what the model reads
        std::vector<std::int32_t> cont;   // continuation tokens, scored at the last cont.size() positions
        bool truncated = false;
    };

    // Context + continuation tokens into what the model reads, truncated on the left to the context.
    Prepared prepare(std::size_t i, std::vector<std::int32_t> ctx, std::vector<std::int32_t> whole) const {
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

    std::vector<ScoreResult> score(const std::vector<ScoreRequest>& requests, int batch_size) const override {
        std::vector<Prepared> prep(requests.size());
        for (std::size_t i = 0; i < requests.size(); ++i) {
            // The prompt rule of every path (lmwb/prompt_encoding.h): lm-eval's _encode_pair.
            auto [context, continuation] = move_trailing_space(requests[i].context, requests[i].continuation);
            std::vector<std::int32_t> ctx, whole;
            if (!context.empty()) {
                auto pc = encode_with_continuation(*tokenizer_, context, continuation);
                ctx = std::move(pc.prompt.ids);
                whole = ctx;
                whole.insert(whole.end(), pc.continuation.ids.begin(), pc.continuation.ids.end());
            }
            if (ctx.empty()) {  // empty, or nothing the tokenizer keeps: condition on the prefix token
                ctx = {static_cast<std::int32_t>(prefix_)};
                whole = ctx;
                auto c = tokenizer_->encode(continuation, false).ids;
                whole.insert(whole.end(), c.begin(), c.end());
            }
            prep[i] = prepare(i, std::move(ctx), std::move(whole));
        }
        return score_prepared(prep, batch_size);
    }

    std::vector<ScoreResult> score_tokens(const std::vector<TokenScoreRequest>& requests, int batch_size) const override {
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

    // Requests whose inputs share everything before their first scored position (the choices of a multiple-choice
    // item) and whose shared part is long enough to be worth it: the prefix runs once into a KV cache, then only the
    // continuations run, against copies of that cache. Log-likelihoods equal the full path's to float rounding.
    static constexpr std::size_t kSharedPrefixMin = 32;  // tokens; shorter prefixes cost less than the extra passes

    std::vector<std::vector<std::size_t>> shared_prefix_groups(const std::vector<Prepared>& prep, std::vector<bool>& grouped) const {
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

    void score_shared_prefix(const std::vector<Prepared>& prep, const std::vector<std::size_t>& members, std::vector<ScoreResult>& results) const {
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
    void collect(const std::vector<Prepared>& prep, const std::vector<std::size_t>& members, const torch::Tensor& picked,
                 const std::vector<std::int64_t>& targets, std::vector<ScoreResult>& results) const {
        auto logp = torch::log_softmax(net().logits(picked), -1).cpu();
        check_finite(logp, "scoring");
        auto tgt = long_tensor(targets);
        auto tok_lp = logp.gather(1, tgt.view({-1, 1})).view({-1});
        auto greedy = logp.argmax(1).eq(tgt);
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

    std::vector<ScoreResult> score_prepared(const std::vector<Prepared>& prep, int batch_size) const {
        torch::InferenceMode guard;
        std::vector<ScoreResult> results(prep.size());
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

    RollingResult rolling_loglikelihood(std::string_view text) const override {
        torch::InferenceMode guard;
        auto ids32 = tokenizer_->encode(text, false).ids;
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

    std::vector<float> logits(const std::vector<std::int32_t>& ids32) const override {
        torch::InferenceMode guard;
        auto T = static_cast<std::int64_t>(ids32.size());
        if (T == 0) return {};
        if (T > info_.context_length)
            throw ModelError(std::to_string(T) + " tokens exceed the model's context of " + std::to_string(info_.context_length));
        std::vector<std::int64_t> ids(ids32.begin(), ids32.end());
        auto id_t = ids_tensor(ids, 1);
        auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(device())).view({1, T});
        auto out = net().logits(net().forward_ids(id_t, torch::ones({1, T}, torch::kLong).to(device()), pos, nullptr)[0])
                       .cpu().contiguous();
        return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
    }

    std::vector<float> embeddings(const std::vector<std::int32_t>& ids32) const override {
        torch::InferenceMode guard;
        if (ids32.empty()) return {};
        std::vector<std::int64_t> ids(ids32.begin(), ids32.end());
        auto e = net().embed(ids_tensor(ids, 1))[0].to(torch::kFloat32).cpu().contiguous();
        return std::vector<float>(e.data_ptr<float>(), e.data_ptr<float>() + e.numel());
    }

    std::vector<EmbeddingPoint> target_logprob_gradients(const std::vector<std::int32_t>& prompt_ids,
                                                         const std::vector<std::int32_t>& target_ids,
                                                         const std::vector<std::vector<float>>& points,
                                                         bool per_token) const override {
        return logprob_gradients(prompt_ids, target_ids, points, per_token, static_cast<std::int64_t>(prompt_ids.size()));
    }
    std::vector<EmbeddingPoint> continuation_logprob_gradients(const std::vector<std::int32_t>& prompt_ids,
                                                               const std::vector<std::int32_t>& continuation_ids,
                                                               const std::vector<std::vector<float>>& points,
                                                               bool per_token) const override {
        return logprob_gradients(prompt_ids, continuation_ids, points, per_token,
                                 static_cast<std::int64_t>(prompt_ids.size() + continuation_ids.size()) - 1);
    }
    // log p(target | prompt) with the first `free` input embeddings replaced by each point, and gradients with respect
    // to them: the prompt's (free = P), or every input position's (free = P + Tt - 1).
    std::vector<EmbeddingPoint> logprob_gradients(const std::vector<std::int32_t>& prompt_ids, const std::vector<std::int32_t>& target_ids,
                                                  const std::vector<std::vector<float>>& points, bool per_token, std::int64_t free) const {
        const auto P = static_cast<std::int64_t>(prompt_ids.size()), Tt = static_cast<std::int64_t>(target_ids.size());
        const std::int64_t N = static_cast<std::int64_t>(points.size());
        if (P == 0 || Tt == 0) throw ModelError("attribution needs at least one prompt and one target token");
        if (P + Tt > info_.context_length)
            throw ModelError(std::to_string(P + Tt) + " tokens exceed the model's context of " + std::to_string(info_.context_length));
        if (N == 0) return {};
        // Grad mode on whatever the caller's thread had (the weights never require gradients).
        c10::InferenceMode no_inference(false);
        torch::AutoGradMode grad_mode(true);
        std::vector<std::int64_t> all(prompt_ids.begin(), prompt_ids.end());
        all.insert(all.end(), target_ids.begin(), target_ids.end());
        auto ids = ids_tensor(all, 1);
        const auto T = P + Tt;
        torch::Tensor fixed_emb;  // the inputs after the free ones
        {
            torch::NoGradGuard no_grad;
            fixed_emb = net().embed(ids.narrow(1, free, T - free)).to(torch::kFloat32);
        }
        const std::int64_t D = fixed_emb.size(2);
        fixed_emb = fixed_emb.expand({N, T - free, D});
        std::vector<float> flat;
        flat.reserve(static_cast<std::size_t>(N * free * D));
        for (auto& p : points) {
            if (static_cast<std::int64_t>(p.size()) != free * D)
                throw ModelError("an embedding point has " + std::to_string(p.size()) + " values, expected " + std::to_string(free * D));
            flat.insert(flat.end(), p.begin(), p.end());
        }
        auto prompt = torch::from_blob(flat.data(), {N, free, D}, torch::kFloat32).to(device_).clone().set_requires_grad(true);
        auto input = torch::cat({prompt, fixed_emb}, 1);
        auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(device_)).expand({N, T});
        auto hidden = net().forward(input, torch::ones({N, T}, torch::kLong).to(device_), pos, nullptr);
        // Position P-1+k predicts target k.
        auto logp = torch::log_softmax(net().logits(hidden.narrow(1, P - 1, Tt)), -1);
        auto tgt = long_tensor(std::vector<std::int64_t>(target_ids.begin(), target_ids.end())).to(device_).view({1, Tt, 1}).expand({N, Tt, 1});
        auto token_lp = logp.gather(2, tgt).squeeze(-1);  // [N, Tt]
        auto value = token_lp.sum(1);                       // [N]
        check_finite(value.detach(), "attributing");
        std::vector<EmbeddingPoint> out(static_cast<std::size_t>(N));
        auto tok_vals = token_lp.detach().to(torch::kFloat64).cpu().contiguous();
        if (per_token) {
            // One forward, a backward per target token (the rows of the attribution matrix).
            std::vector<torch::Tensor> grads;
            for (std::int64_t j = 0; j < Tt; ++j)
                grads.push_back(torch::autograd::grad({token_lp.select(1, j).sum()}, {prompt}, {}, j + 1 < Tt)[0].to(torch::kFloat32));
            auto g = torch::stack(grads, 1).cpu().contiguous();  // [N, Tt, free, D]
            check_finite_gradients(g);
            const std::int64_t F = free * D;
            for (std::int64_t n = 0; n < N; ++n) {
                auto& o = out[static_cast<std::size_t>(n)];
                const float* p = g.data_ptr<float>() + n * Tt * F;
                o.token_gradients.assign(p, p + Tt * F);
                o.gradient.assign(static_cast<std::size_t>(F), 0.0f);
                for (std::int64_t j = 0; j < Tt; ++j)
                    for (std::int64_t k = 0; k < F; ++k) o.gradient[static_cast<std::size_t>(k)] += p[j * F + k];
            }
        } else {
            value.sum().backward();
            auto grad = prompt.grad().to(torch::kFloat32).cpu().contiguous();
            check_finite_gradients(grad);
            for (std::int64_t n = 0; n < N; ++n) {
                const float* g = grad.data_ptr<float>() + n * free * D;
                out[static_cast<std::size_t>(n)].gradient.assign(g, g + free * D);
            }
        }
        for (std::int64_t n = 0; n < N; ++n) {
            auto& o = out[static_cast<std::size_t>(n)];
            const double* tv = tok_vals.data_ptr<double>() + n * Tt;
            o.token_logprobs.assign(tv, tv + Tt);
            o.logprob = 0;
            for (double v : o.token_logprobs) o.logprob += v;
        }
        return out;
    }

    GenerationResult generate(std::string_view prompt, const GenerationOptions& opt) const override;
    std::vector<GenerationResult> generate_batch(const std::vector<std::string>& prompts,
                                                 const std::vector<GenerationOptions>& options) const override;
    struct Row;
    Row start_row(std::string_view prompt, const GenerationOptions& opt) const;
    Trace trace(std::string_view text, const TraceOptions& opt) const override;
    std::vector<float> pooled_hidden_state(std::string_view text) const override;
    void stream_attentions(const std::vector<std::int32_t>& ids,
                           const std::function<void(int, int, int, const float*)>& visit) const override;
    void stream_logit_lens(const std::vector<std::int32_t>& ids,
                           const std::function<void(int, int, int, const float*)>& visit) const override;

    // Components: the passes live in components.cpp; here the checks every entry point shares.
    torch::Tensor component_ids(const std::vector<std::int32_t>& ids32, const char* what) const {
        const auto T = static_cast<std::int64_t>(ids32.size());
        if (T == 0) throw ModelError(std::string(what) + " needs at least one token");
        if (T > info_.context_length)
            throw ModelError(std::to_string(T) + " tokens exceed the model's context of " + std::to_string(info_.context_length));
        if (!net().runs_observers())
            throw ModelError(std::string(what) + " needs the components of every layer, which a TorchScript bundle does not expose");
        return ids_tensor(std::vector<std::int64_t>(ids32.begin(), ids32.end()), 1);
    }
    Activations record_activations(const std::vector<std::int32_t>& ids, const std::vector<Site>& sites,
                                   const std::vector<int>& positions, const std::vector<float>* input) const override {
        torch::InferenceMode guard;
        return record_components(net(), component_ids(ids, "recording activations"), input, static_cast<int>(info_.layers), sites, positions);
    }
    std::vector<TokenReadout> patched_readouts(const std::vector<std::int32_t>& ids, const std::vector<float>* input,
                                               const Activations& source, const std::vector<std::vector<Patch>>& runs,
                                               const std::vector<std::pair<int, std::int32_t>>& at, int batch_size,
                                               const Control& control) const override {
        torch::InferenceMode guard;
        for (auto& [p, id] : at) ids_tensor({id}, 1);  // checks the id
        return patch_components(net(), component_ids(ids, "activation patching"), input, static_cast<int>(info_.layers), source, runs,
                                at, batch_size, control);
    }
    std::vector<float> project_heads(int layer, const std::vector<float>& z, int rows) const override {
        torch::InferenceMode guard;
        const auto H = info_.heads;
        if (rows < 0 || H <= 0 || z.size() % static_cast<std::size_t>(std::max<std::int64_t>(1, rows * H)) != 0)
            throw ModelError("head outputs of " + std::to_string(z.size()) + " values do not split into " + std::to_string(rows) + " rows of " + std::to_string(H) + " heads");
        if (rows == 0) return {};
        auto t = torch::from_blob(const_cast<float*>(z.data()), {rows, H, static_cast<std::int64_t>(z.size()) / (rows * H)}, torch::kFloat32).to(device());
        auto out = net().project_heads(layer, t).to(torch::kFloat32).cpu().contiguous();
        return {out.data_ptr<float>(), out.data_ptr<float>() + out.numel()};
    }
    std::vector<float> frozen_final_norm(const std::vector<float>& parts, int rows, const std::vector<float>& residual) const override {
        torch::InferenceMode guard;
        const auto D = static_cast<std::int64_t>(residual.size());
        if (D != info_.hidden_size || rows < 0 || parts.size() != static_cast<std::size_t>(rows * D))
            throw ModelError("frozen_final_norm: parts of " + std::to_string(parts.size()) + " values and a residual of " +
                             std::to_string(D) + " do not match the hidden size " + std::to_string(info_.hidden_size));
        if (rows == 0) return {};
        auto p = torch::from_blob(const_cast<float*>(parts.data()), {rows, D}, torch::kFloat32).to(device());
        auto r = torch::from_blob(const_cast<float*>(residual.data()), {D}, torch::kFloat32).to(device());
        auto out = net().frozen_final_norm(p, r).cpu().contiguous();
        return {out.data_ptr<float>(), out.data_ptr<float>() + out.numel()};
    }
    std::vector<float> final_norm_bias() const override {
        torch::InferenceMode guard;
        auto b = net().final_norm_bias().to(torch::kFloat32).cpu().contiguous();
        return {b.data_ptr<float>(), b.data_ptr<float>() + b.numel()};
    }
    std::vector<float> unembedding(const std::vector<std::int32_t>& ids) const override {
        torch::InferenceMode guard;
        if (ids.empty()) return {};
        auto u = net().unembedding(ids_tensor(std::vector<std::int64_t>(ids.begin(), ids.end()), 1)[0]).cpu().contiguous();
        return {u.data_ptr<float>(), u.data_ptr<float>() + u.numel()};
    }
    double final_logit_softcap() const override { return net().final_logit_softcap(); }

    const torch::Device& device() const { return device_; }

    // Token ids as a [rows, -1] tensor on the model's device, checked against the embedding table.
    torch::Tensor ids_tensor(const std::vector<std::int64_t>& ids, std::int64_t rows) const {
        for (auto id : ids)
            if (id < 0 || id >= info_.vocab_size)
                throw ModelError("token id " + std::to_string(id) + " is outside the model's vocabulary of " +
                                 std::to_string(info_.vocab_size) + " (tokenizer.json and config.json disagree)");
        return long_tensor(ids).view({rows, -1}).to(device_);
    }

    ModelOptions options_;
    torch::Device device_{torch::kCPU};
    std::unique_ptr<WeightStore> weights_;
    std::unique_ptr<Tokenizer> tokenizer_;
    std::unique_ptr<Network> model_;  // null when opened to describe only (ModelOptions::load_weights false)
    bool kv_cache_ = false;           // the network keeps a KV cache (shared prefixes, batched decoding)
    // LongRoPE picks its factors by the length of what one call sees: sequences longer than this run whole, so that a
    // shared prefix does not take the short factors where the full sequence takes the long ones. 0: no such switch.
    std::int64_t length_switched_rope_ = 0;
    const Network& net() const {
        if (!model_) throw ModelError(info_.path + ": opened without its weights, to describe it only; open it again to compute");
        return *model_;
    }
    std::vector<std::int64_t> eos_;
    std::int64_t prefix_ = 0;
    ModelInfo info_;
};

}  // namespace

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
        int n_alt = std::min<std::int64_t>(std::max(0, opt.alternatives), logits.size(0));
        if (n_alt > 0) {
            auto best = logits.topk(n_alt);
            for (std::int64_t k = 0; k < n_alt; ++k) {
                auto id = std::get<1>(best)[k].item<std::int64_t>();
                tok.top.push_back({static_cast<std::int32_t>(id), m.tokenizer_->decode({static_cast<std::int32_t>(id)}),
                                   static_cast<float>(std::get<0>(best)[k].item<double>() - log_norm)});
            }
        }
        seq.push_back(next);
        generated.push_back(tok.id);
        // Text of this token: what it adds to the decoded continuation. A character split over several tokens
        // decodes to U+FFFD until its last byte arrives; the pieces before that show nothing.
        std::string text = m.tokenizer_->decode(generated, true);
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
        out.text = out.stop_reason == "stop" ? prev_text : m.tokenizer_->decode(generated, true);
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
    auto enc = encode_prompt(*tokenizer_, prompt).ids;
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
    torch::InferenceMode guard;
    Row row = start_row(prompt, opt);
    const auto n_prompt = static_cast<std::int64_t>(row.seq.size());
    auto cache = opt.use_cache ? net().new_cache(1, n_prompt + opt.max_new_tokens) : nullptr;
    auto opts_long = torch::TensorOptions().dtype(torch::kLong).device(device());
    while (!row.done) {
        check_cancelled();
        torch::Tensor hidden;
        auto total = static_cast<std::int64_t>(row.seq.size());
        if (cache) {
            std::int64_t past = cache_length(*cache);
            auto fresh = std::vector<std::int64_t>(row.seq.begin() + past, row.seq.end());
            auto n = static_cast<std::int64_t>(fresh.size());
            hidden = net().forward_ids(ids_tensor(fresh, 1), torch::ones({1, total}, opts_long), torch::arange(past, total, opts_long).view({1, n}), cache.get());
        } else {
            hidden = net().forward_ids(ids_tensor(row.seq, 1), torch::ones({1, total}, opts_long), torch::arange(0, total, opts_long).view({1, total}), nullptr);
        }
        row.take(*this, net().logits(hidden[0][hidden.size(1) - 1]).cpu());
    }
    row.finish(*this);
    return std::move(row.out);
}

std::vector<GenerationResult> HfModel::generate_batch(const std::vector<std::string>& prompts, const std::vector<GenerationOptions>& options) const {
    if (prompts.size() != options.size()) throw ModelError("generate_batch: one set of options per prompt");
    std::vector<GenerationResult> results;
    const auto B = static_cast<std::int64_t>(prompts.size());
    // One row, a network without a KV cache, or options that ask for no cache: one prompt at a time.
    bool batched = B > 1 && kv_cache_;
    for (const auto& o : options) batched = batched && o.use_cache;
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

Trace HfModel::trace(std::string_view text, const TraceOptions& opt) const {
    torch::InferenceMode guard;
    Trace tr;
    Encoding enc = encode_prompt(*tokenizer_, text);
    if (enc.ids.empty()) {
        enc.ids.push_back(static_cast<std::int32_t>(prefix_));
        enc.tokens.push_back(tokenizer_->id_to_token(static_cast<std::int32_t>(prefix_)).value_or(""));
        enc.char_offsets.push_back({0, 0});
    }
    const std::int64_t T = static_cast<std::int64_t>(enc.ids.size());
    if (T > info_.context_length)
        throw ModelError("the text has " + std::to_string(T) + " tokens, more than the model's context of " +
                         std::to_string(info_.context_length) + "; trace a shorter text");
    tr.ids = enc.ids;
    tr.tokens = enc.tokens;
    tr.offsets = enc.char_offsets;
    tr.length = static_cast<int>(T);
    tr.heads = static_cast<int>(info_.heads);
    tr.hidden = static_cast<int>(info_.hidden_size);
    for (int l = 0; l < info_.layers; ++l)
        if (opt.layers.empty() || std::find(opt.layers.begin(), opt.layers.end(), l) != opt.layers.end()) tr.layers.push_back(l);
    for (int l : opt.layers)
        if (l < 0 || l >= info_.layers) throw ModelError("layer " + std::to_string(l) + " does not exist (the model has " + std::to_string(info_.layers) + ")");
    auto append = [](std::vector<float>& dst, const torch::Tensor& t) {
        auto c = t.to(torch::kFloat32).cpu().contiguous();
        dst.insert(dst.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    };
    std::vector<std::int64_t> ids(enc.ids.begin(), enc.ids.end());
    auto id_t = ids_tensor(ids, 1);
    auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(device())).view({1, T});
    LayerObserver observer = [&](int layer, const torch::Tensor& attn, const torch::Tensor& hidden) {
        if (opt.attentions && std::find(tr.layers.begin(), tr.layers.end(), layer) != tr.layers.end()) append(tr.attentions, attn[0]);
        if (opt.hidden_states && layer + 1 < info_.layers) append(tr.hidden_states, hidden[0]);
    };
    if (!net().runs_observers()) {  // e.g. a TorchScript bundle: whole traces from its own methods
        auto mask = torch::ones({1, T}, torch::kLong).to(device());
        if (opt.attentions) {
            auto all = net().traced_attentions(id_t, mask);
            if (all.dim() != 5 || all.size(3) != T || all.size(4) != T)
                throw ModelError("the bundle's attentions method returned shape " + std::string(c10::str(all.sizes())) +
                                 ", expected [layers, 1, heads, " + std::to_string(T) + ", " + std::to_string(T) + "]");
            if (tr.layers.empty() && opt.layers.empty())  // the manifest did not say how many layers there are
                for (int l = 0; l < all.size(0); ++l) tr.layers.push_back(l);
            tr.heads = static_cast<int>(all.size(2));
            for (int l : tr.layers) {
                if (l >= all.size(0)) throw ModelError("layer " + std::to_string(l) + " does not exist in the bundle's attentions");
                append(tr.attentions, all[l][0]);
            }
        }
        if (opt.hidden_states) {
            auto all = net().traced_hidden_states(id_t, mask);
            for (std::int64_t l = 0; l < all.size(0); ++l) append(tr.hidden_states, all[l][0]);
        }
        return tr;
    }
    auto emb = net().embed(id_t);
    // The first entry is what the first layer reads (GPT-2 adds its position embeddings).
    if (opt.hidden_states) append(tr.hidden_states, net().input_states(emb, pos)[0]);
    auto final_h = net().forward(emb, torch::ones({1, T}, torch::kLong).to(device()), pos, nullptr, &observer);
    // As Hugging Face's output_hidden_states: the last entry is after the final norm.
    if (opt.hidden_states) append(tr.hidden_states, final_h[0]);
    return tr;
}

std::vector<float> HfModel::pooled_hidden_state(std::string_view text) const {
    torch::InferenceMode guard;
    auto ids32 = encode_prompt(*tokenizer_, text).ids;
    if (ids32.empty()) ids32.push_back(static_cast<std::int32_t>(prefix_));
    if (static_cast<std::int64_t>(ids32.size()) > info_.context_length)
        ids32.erase(ids32.begin(), ids32.end() - info_.context_length);
    std::vector<std::int64_t> ids(ids32.begin(), ids32.end());
    const auto T = static_cast<std::int64_t>(ids.size());
    auto id_t = ids_tensor(ids, 1);
    auto mask = torch::ones({1, T}, torch::kLong).to(device());
    torch::Tensor last;
    if (net().runs_observers()) {
        auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(device())).view({1, T});
        last = net().forward(net().embed(id_t), mask, pos, nullptr, nullptr)[0];
    } else {
        last = net().traced_hidden_states(id_t, mask)[-1][0];
    }
    auto pooled = last.to(torch::kFloat32).mean(0).cpu().contiguous();
    return {pooled.data_ptr<float>(), pooled.data_ptr<float>() + pooled.numel()};
}

void HfModel::stream_attentions(const std::vector<std::int32_t>& ids32,
                                const std::function<void(int, int, int, const float*)>& visit) const {
    torch::InferenceMode guard;
    const auto T = static_cast<std::int64_t>(ids32.size());
    if (T == 0) throw ModelError("attention needs at least one token");
    if (T > info_.context_length)
        throw ModelError(std::to_string(T) + " tokens exceed the model's context of " + std::to_string(info_.context_length));
    std::vector<std::int64_t> ids(ids32.begin(), ids32.end());
    auto id_t = ids_tensor(ids, 1);
    auto mask = torch::ones({1, T}, torch::kLong).to(device());
    auto send = [&](int layer, const torch::Tensor& attn) {  // attn [heads, T, T]
        auto c = attn.to(torch::kFloat32).cpu().contiguous();
        visit(layer, static_cast<int>(c.size(0)), static_cast<int>(T), c.data_ptr<float>());
    };
    if (!net().runs_observers()) {
        auto all = net().traced_attentions(id_t, mask);
        if (all.dim() != 5 || all.size(3) != T || all.size(4) != T)
            throw ModelError("the bundle's attentions method returned shape " + std::string(c10::str(all.sizes())) +
                             ", expected [layers, 1, heads, " + std::to_string(T) + ", " + std::to_string(T) + "]");
        for (std::int64_t l = 0; l < all.size(0); ++l) send(static_cast<int>(l), all[l][0]);
        return;
    }
    auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(device())).view({1, T});
    LayerObserver observer = [&](int layer, const torch::Tensor& attn, const torch::Tensor&) { send(layer, attn[0]); };
    net().forward(net().embed(id_t), mask, pos, nullptr, &observer);
}

void HfModel::stream_logit_lens(const std::vector<std::int32_t>& ids32,
                                const std::function<void(int, int, int, const float*)>& visit) const {
    torch::InferenceMode guard;
    const auto T = static_cast<std::int64_t>(ids32.size());
    if (T == 0) throw ModelError("the logit lens needs at least one token");
    if (T > info_.context_length)
        throw ModelError(std::to_string(T) + " tokens exceed the model's context of " + std::to_string(info_.context_length));
    if (!net().runs_observers()) throw ModelError("the logit lens needs the residual stream of every layer, which a TorchScript bundle does not expose");
    std::vector<std::int64_t> ids(ids32.begin(), ids32.end());
    auto id_t = ids_tensor(ids, 1);
    auto mask = torch::ones({1, T}, torch::kLong).to(device());
    auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(device())).view({1, T});
    auto send = [&](int row, const torch::Tensor& residual) {  // [T, D]
        auto lp = torch::log_softmax(net().logits(net().final_norm(residual)), -1).cpu().contiguous();
        visit(row, static_cast<int>(T), static_cast<int>(lp.size(1)), lp.data_ptr<float>());
    };
    auto emb = net().embed(id_t);
    send(0, net().input_states(emb, pos)[0]);
    LayerObserver observer = [&](int layer, const torch::Tensor&, const torch::Tensor& hidden) { send(layer + 1, hidden[0]); };
    net().forward(emb, mask, pos, nullptr, &observer);
}

double matmul_gflops(int n, int threads) {
    set_threads(threads);  // process-wide, like opening a model
    auto a = torch::randn({n, n}), b = torch::randn({n, n});
    std::vector<double> rates;
    torch::mm(a, b);  // warm-up
    for (int i = 0; i < 5; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        auto c = torch::mm(a, b);
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        rates.push_back(2.0 * n * n * static_cast<double>(n) / s / 1e9);
    }
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
}

bool is_out_of_memory(const std::exception& e) {
    if (dynamic_cast<const std::bad_alloc*>(&e)) return true;
    const auto* c10e = dynamic_cast<const c10::Error*>(&e);
    const std::string what = c10e ? c10e->what_without_backtrace() : e.what();
    for (const char* sign : {"can't allocate memory", "not enough memory", "out of memory", "Cannot allocate memory"})
        if (what.find(sign) != std::string::npos) return true;
    return false;
}

std::unique_ptr<LanguageModel> LanguageModel::open(const std::string& path, const ModelOptions& options) {
    keep_tensor_buffers_in_heap();
    const std::string folder = resolve_model(path, options.revision);
    auto m = std::make_unique<HfModel>(folder, options);
    if (folder != path && path.find('/') != std::string::npos && !std::filesystem::is_directory(path))
        m->name_source(path, options.revision);  // a repository of the cache, not a bundled model's name
    return m;
}

}  // namespace lmwb

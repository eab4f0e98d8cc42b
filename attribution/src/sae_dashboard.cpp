// A sparse-autoencoder feature's dashboard over a corpus, cached per model, SAE, corpus and feature.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "lmwb/sae_methods.h"
#include "sae_rows.h"
#include "utf8.h"

namespace lmwb::attr {

namespace {

std::uint64_t fnv1a(std::uint64_t h, std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

// What a dashboard depends on, as a cache file name: the model's and SAE's files (path, size, time), the corpus's
// texts, the feature and the options that shape the result.
std::string dashboard_key(const LanguageModel& model, const SparseAutoencoder& sae, int feature,
                          const std::vector<std::pair<std::string, std::string>>& texts, const DashboardOptions& o) {
    std::uint64_t h = 1469598103934665603ull;
    auto file = [&](const std::string& path) {
        std::error_code ec;
        h = fnv1a(h, path);
        h = fnv1a(h, std::to_string(std::filesystem::file_size(path, ec)));
        h = fnv1a(h, std::to_string(std::filesystem::last_write_time(path, ec).time_since_epoch().count()));
    };
    for (const auto& f : model.info().weight_files) file(f);
    file(sae.config().path);
    for (const char* part : {"cfg.json", "sae_weights.safetensors"}) file(sae.config().path + "/" + part);
    h = fnv1a(h, sae.config().hook_name);
    for (const auto& [source, text] : texts) h = fnv1a(fnv1a(h, source), text), h = fnv1a(h, "\x1f");
    h = fnv1a(h, std::to_string(feature) + "/" + std::to_string(o.top_contexts) + "/" + std::to_string(o.bins) + "/" + std::to_string(o.logit_tokens));
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return hex;
}

std::filesystem::path dashboard_cache_dir() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    if (xdg && *xdg) return std::filesystem::path(xdg) / "lmwb" / "sae";
    return home && *home ? std::filesystem::path(home) / ".cache" / "lmwb" / "sae" : std::filesystem::path();
}

}  // namespace

FeatureDashboard feature_dashboard(const LanguageModel& model, const SparseAutoencoder& sae, int feature,
                                   const std::vector<std::pair<std::string, std::string>>& texts, const std::string& corpus_name,
                                   const DashboardOptions& o) {
    check(model, sae);
    const CancelScope cancel_scope(o.control.cancel);
    const SaeConfig& c = sae.config();
    if (feature < 0 || feature >= c.d_sae) throw AttributionError("--feature " + std::to_string(feature) + " is outside the SAE's 0.." + std::to_string(c.d_sae - 1));
    if (o.top_contexts < 1 || o.bins < 1 || o.logit_tokens < 0) throw AttributionError("a dashboard needs at least one context and one bin");
    if (texts.empty()) throw AttributionError("the corpus has no texts");
    const std::filesystem::path cache_dir = dashboard_cache_dir();
    const std::filesystem::path cached = cache_dir.empty() ? std::filesystem::path() : cache_dir / (dashboard_key(model, sae, feature, texts, o) + ".json");
    if (o.use_cache && !cached.empty()) {
        std::ifstream in(cached);
        if (in) {
            try {
                FeatureDashboard d = feature_dashboard_from_json(std::string((std::istreambuf_iterator<char>(in)), {}));
                d.from_cache = true;
                return d;
            } catch (const std::exception&) {
                // a damaged cache entry: computed again below
            }
        }
    }
    FeatureDashboard d;
    d.sae = c.path;
    d.hook = c.hook_name;
    d.corpus = corpus_name;
    d.feature = feature;
    const HookRows rows{c};
    std::vector<float> all;  // every token's activation, for the histogram
    for (std::size_t k = 0; k < texts.size(); ++k) {
        o.control.check();
        o.control.report(k, texts.size(), "texts");
        DashboardContext ctx;
        ctx.source = texts[k].first;
        std::vector<std::int32_t> ids;
        ctx.tokens = prompt_tokens(model.tokenizer(), texts[k].second, ids);
        if (ids.empty()) continue;
        if (static_cast<std::int64_t>(ids.size()) > model.info().context_length) {  // its first context's worth
            ids.resize(static_cast<std::size_t>(model.info().context_length));
            ctx.tokens.resize(ids.size());
        }
        std::vector<float> x;
        const Hook reader{c.point, [&](HookValue& v) { x = rows.read(v); }, false, 0};
        model.run_hooked(ids, nullptr, {{reader}}, {}, 1, o.control);
        const auto T = static_cast<std::int64_t>(ids.size());
        const SaeCode code = sae.run(x, T);
        for (std::int64_t t = 0; t < T; ++t) {
            const float a = code.features[static_cast<std::size_t>(t * c.d_sae + feature)];
            ctx.activations.push_back(a);
            if (a > ctx.max_activation) ctx.max_activation = a, ctx.peak = static_cast<int>(t);
            if (a > 0) all.push_back(a), ++d.active_tokens;
        }
        d.tokens += static_cast<std::size_t>(T);
        ++d.texts;
        if (ctx.max_activation > 0) d.top.push_back(std::move(ctx));
    }
    o.control.report(texts.size(), texts.size(), "texts");
    std::stable_sort(d.top.begin(), d.top.end(), [](const DashboardContext& a, const DashboardContext& b) { return a.max_activation > b.max_activation; });
    if (static_cast<int>(d.top.size()) > o.top_contexts) d.top.resize(static_cast<std::size_t>(o.top_contexts));
    const double hi = all.empty() ? 1.0 : *std::max_element(all.begin(), all.end());
    for (int b = 0; b <= o.bins; ++b) d.histogram_edges.push_back(hi * b / o.bins);
    d.histogram_counts.assign(static_cast<std::size_t>(o.bins), 0);
    for (float a : all) ++d.histogram_counts[std::min<std::size_t>(static_cast<std::size_t>(a / hi * o.bins), static_cast<std::size_t>(o.bins - 1))];
    // Logit effect: the decoder direction in the residual stream (hook_z: through each head's W_O), times the final
    // norm's scale, against every unembedding row, a block of tokens at a time.
    std::vector<float> dir = sae.decoder_rows({feature});
    const auto D = model.info().hidden_size;
    if (c.point.kind == HookKind::Z) {
        const auto w_o = model.weights("blocks." + std::to_string(c.point.layer) + ".attn.W_O");  // [heads][head_dim][hidden]
        const auto hd = model.info().head_dim;
        std::vector<float> resid(static_cast<std::size_t>(D), 0.0f);
        const std::int64_t first_head = c.hook_head_index >= 0 ? c.hook_head_index : 0;
        for (std::int64_t i = 0; i < static_cast<std::int64_t>(dir.size()); ++i) {
            const std::int64_t h = first_head + i / hd, k = i % hd;
            for (std::int64_t j = 0; j < D; ++j) resid[static_cast<std::size_t>(j)] += dir[static_cast<std::size_t>(i)] * w_o[static_cast<std::size_t>((h * hd + k) * D + j)];
        }
        dir = resid;
    }
    const auto scale = model.weights("ln_final.w");
    for (std::int64_t j = 0; j < D; ++j) dir[static_cast<std::size_t>(j)] *= scale[static_cast<std::size_t>(j)];
    std::vector<std::pair<std::int32_t, double>> effect;
    const auto V = static_cast<std::int32_t>(model.info().vocab_size);
    for (std::int32_t first = 0; first < V; first += 4096) {
        std::vector<std::int32_t> block;
        for (std::int32_t v = first; v < std::min(V, first + 4096); ++v) block.push_back(v);
        const auto u = model.weights("unembed.W_U", block);
        for (std::size_t r = 0; r < block.size(); ++r) effect.push_back({block[r], dot(u.data() + r * static_cast<std::size_t>(D), dir.data(), D)});
    }
    std::stable_sort(effect.begin(), effect.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    const auto n = std::min<std::size_t>(static_cast<std::size_t>(o.logit_tokens), effect.size());
    auto token = [&](std::int32_t id) { return Token{id, model.tokenizer().decode({id}), -1, -1}; };
    for (std::size_t k = 0; k < n; ++k) d.promoted.push_back({token(effect[k].first), effect[k].second});
    for (std::size_t k = 0; k < n; ++k) d.suppressed.push_back({token(effect[effect.size() - 1 - k].first), effect[effect.size() - 1 - k].second});
    if (o.use_cache && !cached.empty()) {
        // Atomically: a reader sees the old entry, the new one, or none.
        std::error_code ec;
        std::filesystem::create_directories(cache_dir, ec);
        const auto tmp = cached.string() + ".tmp" + std::to_string(::getpid());
        if (!ec && (std::ofstream(tmp) << to_json_text(d, -1))) std::filesystem::rename(tmp, cached, ec);
        if (ec) std::filesystem::remove(tmp, ec);
    }
    return d;
}

}  // namespace lmwb::attr

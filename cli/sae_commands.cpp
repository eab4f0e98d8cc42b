// lmwb explain -m sae-features | sae-attribution | sae-ablate: sparse-autoencoder features of one prompt.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "commands.h"
#include "interrupt.h"
#include "lmwb/model.h"
#include "lmwb/sae_methods.h"
#include "lmwb/suite.h"
#include "model_flags.h"

namespace lmwb::cli {

void add_sae_options(CLI::App* cmd, SaeArgs& a) {
    cmd->add_option("--sae", a.saes, "SAE methods: a SAELens folder (cfg.json, sae_weights.safetensors) or a params.npz; sae-features takes several");
    cmd->add_option("--hook", a.hook, "SAE methods: the hook point of a params.npz (e.g. blocks.12.hook_resid_post)");
    cmd->add_option("--features", a.features, "sae-attribution: contributions listed, largest first (20)");
    cmd->add_option("--feature", a.feature, "sae-ablate: the feature to set");
    cmd->add_option("--value", a.value, "sae-ablate: its value (0: ablated)");
    cmd->add_option("--coefficient", a.coefficient, "steer: the multiple of the direction added at the hook (4)");
    cmd->add_option("--direction", a.direction, "steer: a JSON array of the hook's width to add instead of an SAE feature's decoder row (with --hook)");
}

namespace {

std::vector<std::unique_ptr<SparseAutoencoder>> load_saes(const LanguageModel& model, const SaeArgs& a, bool several) {
    if (a.saes.empty()) throw std::runtime_error("--sae: give the SAE (a SAELens folder or a params.npz)");
    if (!several && a.saes.size() > 1) throw std::runtime_error("--sae: this method takes one SAE");
    std::vector<std::unique_ptr<SparseAutoencoder>> out;
    for (const auto& path : a.saes) {
        out.push_back(SparseAutoencoder::load(path, a.hook));
        out.back()->check_fits(model.info());
    }
    return out;
}

void print_features(const attr::SaeFeatures& r) {
    std::printf("%s at %s (%lld features): mean L0 %.2f, variance explained %.4f, MSE %.4g\n", r.sae.c_str(), r.hook.c_str(),
                static_cast<long long>(r.d_sae), r.mean_l0, r.variance_explained, r.mse);
    std::printf("next-token loss (nats): clean %.4f, reconstruction spliced in %.4f, zero-ablated %.4f", r.ce_clean, r.ce_spliced, r.ce_zero);
    if (r.ce_loss_score) std::printf("; recovered %.4f", *r.ce_loss_score);
    std::printf("\n");
    if (r.target_logprob) std::printf("log p(target | prompt): %.4f, with the reconstruction %.4f\n", *r.target_logprob, *r.target_logprob_spliced);
    std::printf("\n  %-4s %-14s %4s %9s  top features (activation)\n", "pos", "token", "L0", "|x - x^|");
    for (std::size_t t = 0; t < r.per_token.size(); ++t) {
        const auto& f = r.per_token[t];
        std::printf("  %-4zu %-14.14s %4d %9.4f ", t, ("\"" + printable(r.tokens[t].text) + "\"").c_str(), f.l0, f.error_norm);
        for (const auto& a : f.top) std::printf(" %d (%.3f)", a.feature, a.activation);
        std::printf("\n");
    }
}

}  // namespace

int run_sae_method(const LanguageModel& model, const std::string& method, const std::string& prompt, const std::string& target,
                   const std::string& contrast, const SaeArgs& a, const std::vector<int>& positions, int top_k, int steps,
                   int max_new_tokens, bool json) {
    attr::SaeOptions o;
    o.top_k = top_k;
    o.steps = steps;
    o.features = a.features;
    o.control = terminal_control(method, json);
    if (method == "sae-features") {
        auto saes = load_saes(model, a, true);
        std::string out;
        for (std::size_t i = 0; i < saes.size(); ++i) {
            auto r = attr::sae_features(model, *saes[i], prompt, target, o);
            if (!json) {
                if (i) std::printf("\n");
                print_features(r);
                continue;
            }
            std::string text = attr::to_json_text(r);
            out += (i ? ",\n" : "") + text.substr(0, text.size() - 1);
        }
        if (json) std::cout << (saes.size() > 1 ? "[\n" + out + "\n]\n" : out + "\n");
        return 0;
    }
    if (method == "steer") {
        GenerationOptions g;
        g.max_new_tokens = max_new_tokens;
        g.stop.clear();
        HookPoint point;
        int head = -1;
        std::vector<float> direction;
        std::string what;
        if (!a.direction.empty()) {
            if (!a.saes.empty()) throw std::runtime_error("--direction and --sae: steer with one of them");
            if (a.hook.empty()) throw std::runtime_error("--direction needs --hook, the hook point it is added at");
            point = HookPoint::parse(a.hook);
            direction = attr::read_direction(a.direction);
            what = "direction from " + a.direction;
        } else {
            auto saes = load_saes(model, a, false);
            if (a.feature < 0) throw std::runtime_error("--feature: give the SAE feature to steer with (or --direction)");
            point = saes[0]->config().point;
            head = saes[0]->config().hook_head_index;
            direction = saes[0]->decoder_rows({a.feature});
            what = "feature " + std::to_string(a.feature) + " of " + saes[0]->config().path;
        }
        auto r = attr::steer(model, point, head, direction, a.coefficient, prompt, g, what, o.control);
        if (json) {
            std::cout << attr::to_json_text(r);
            return 0;
        }
        std::printf("steering: %g x %s at %s\n\n  plain:   \"%s\"\n  steered: \"%s\"\n\n  %-16s %12s %12s %10s\n", r.coefficient, r.what.c_str(), r.hook.c_str(),
                    printable(r.plain).c_str(), printable(r.steered).c_str(), "steered token", "log p plain", "log p steered", "change");
        for (std::size_t k = 0; k < r.steered_tokens.size() && k < r.logprob_plain.size(); ++k)
            std::printf("  %-16.16s %12.4f %12.4f %+10.4f\n", ("\"" + printable(r.steered_tokens[k].text) + "\"").c_str(), r.logprob_plain[k],
                        r.logprob_steered[k], r.logprob_steered[k] - r.logprob_plain[k]);
        return 0;
    }
    auto saes = load_saes(model, a, false);
    if (method == "sae-attribution") {
        auto r = attr::sae_attribution(model, *saes[0], prompt, target, contrast, o);
        if (json) {
            std::cout << attr::to_json_text(r);
            return 0;
        }
        std::printf("SAE feature attribution of %s at %s: F %.4f, F at b_dec %.4f; delta %.3g (%d steps); reconstruction error %.4f of it\n\n",
                    r.metric == "logprob" ? ("log p(\"" + printable(r.target) + "\" | prompt)").c_str()
                                          : ("logit(\"" + printable(r.target) + "\") - logit(\"" + printable(r.contrast) + "\")").c_str(),
                    r.hook.c_str(), r.value, r.baseline, r.delta, r.steps, r.error_total);
        std::printf("  %-4s %-14s %-8s %10s %12s %12s\n", "pos", "token", "feature", "activation", "grad x act", "IG");
        for (const auto& c : r.contributions) {
            char act[32] = "-";
            if (c.feature >= 0) std::snprintf(act, sizeof act, "%.4f", c.activation);
            std::printf("  %-4d %-14.14s %-8s %10s %12.5f %12.5f\n", c.position, ("\"" + printable(r.tokens[static_cast<std::size_t>(c.position)].text) + "\"").c_str(),
                        c.feature < 0 ? "error" : std::to_string(c.feature).c_str(), act, c.gradient_x_activation, c.integrated_gradients);
        }
        return 0;
    }
    if (a.feature < 0) throw std::runtime_error("--feature: give the feature to set (sae-ablate)");
    auto r = attr::sae_intervene(model, *saes[0], prompt, target, contrast, a.feature, a.value, positions, o.control);
    if (json) {
        std::cout << attr::to_json_text(r);
        return 0;
    }
    std::printf("feature %d set to %g at %s: F %.4f -> %.4f (%+.4f)\n", r.feature, r.value,
                r.positions.empty() ? "every position" : ("positions " + std::to_string(r.positions.size())).c_str(), r.original, r.changed,
                r.changed - r.original);
    return 0;
}

Action add_sae_dashboard_command(CLI::App& app) {
    struct Args {
        std::string model, sae, hook, suite, text;
        int feature = -1, top = 10, bins = 20, logit_tokens = 10;
        bool json = false, no_cache = false;
        ModelFlags flags;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("sae-dashboard", "One SAE feature over a corpus: top activating contexts, histogram, logit effect");
    cmd->add_option("model", a->model, "Model folder, or a repository name in the Hugging Face cache")->required();
    cmd->add_option("--sae", a->sae, "A SAELens folder or a params.npz")->required();
    cmd->add_option("--hook", a->hook, "The hook point of a params.npz");
    cmd->add_option("--feature", a->feature, "The feature")->required();
    cmd->add_option("--suite", a->suite, "Corpus: a suite's prompts (its definition file)");
    cmd->add_option("--text", a->text, "Corpus: a text file, one context per non-empty line");
    cmd->add_option("--top", a->top, "Top activating contexts listed (10)");
    cmd->add_option("--bins", a->bins, "Histogram bins (20)");
    cmd->add_option("--logit-tokens", a->logit_tokens, "Promoted and suppressed tokens listed (10)");
    cmd->add_flag("--no-cache", a->no_cache, "Compute again instead of reading the cached dashboard");
    add_model_flags(cmd, a->flags);
    cmd->add_flag("--json", a->json, "Print JSON (lmwb.sae_dashboard)");
    return [a]() -> int {
        if (a->suite.empty() == a->text.empty()) throw std::runtime_error("give the corpus: --suite FILE or --text FILE");
        std::vector<std::pair<std::string, std::string>> texts;
        std::string corpus;
        if (!a->suite.empty()) {
            const auto suite = datasets::load_suite(a->suite);
            for (const auto& it : suite.items) texts.push_back({it.id, it.prompt.empty() ? it.text : it.prompt});
            corpus = "suite " + suite.name;
        } else {
            std::ifstream in(a->text);
            if (!in) throw std::runtime_error(a->text + ": cannot be read");
            std::string line;
            for (std::size_t n = 1; std::getline(in, line); ++n)
                if (line.find_first_not_of(" \t\r") != std::string::npos) texts.push_back({"line " + std::to_string(n), line});
            corpus = a->text;
        }
        InterruptGuard interrupts;
        auto model = LanguageModel::open(a->model, model_options(a->flags));
        auto sae = SparseAutoencoder::load(a->sae, a->hook);
        sae->check_fits(model->info());
        attr::DashboardOptions o;
        o.top_contexts = a->top;
        o.bins = a->bins;
        o.logit_tokens = a->logit_tokens;
        o.use_cache = !a->no_cache;
        o.control = terminal_control("dashboard", a->json);
        const auto d = attr::feature_dashboard(*model, *sae, a->feature, texts, corpus, o);
        if (a->json) {
            std::cout << attr::to_json_text(d);
            return 0;
        }
        std::printf("feature %d of %s at %s over %s%s: %zu texts, %zu tokens, active on %zu (density %.4f)\n\n", d.feature, d.sae.c_str(),
                    d.hook.c_str(), d.corpus.c_str(), d.from_cache ? " (cached)" : "", d.texts, d.tokens, d.active_tokens,
                    d.tokens ? static_cast<double>(d.active_tokens) / static_cast<double>(d.tokens) : 0.0);
        if (d.top.empty()) std::printf("the feature is zero on every token of this corpus\n");
        else std::printf("top activating contexts ([token] at the peak, activation after each active token):\n");
        for (const auto& c : d.top) {
            // Twelve tokens either side of the peak (the JSON holds the whole text).
            std::string line = c.peak > 12 ? "…" : "";
            const std::size_t from = static_cast<std::size_t>(std::max(0, c.peak - 12)), to = std::min(c.tokens.size(), static_cast<std::size_t>(c.peak) + 13);
            for (std::size_t t = from; t < to; ++t) {
                const std::string text = printable(c.tokens[t].text);
                line += static_cast<int>(t) == c.peak ? "[" + text + "]" : text;
                if (c.activations[t] > 0) {
                    char v[24];
                    std::snprintf(v, sizeof v, "(%.2f)", c.activations[t]);
                    line += v;
                }
            }
            if (to < c.tokens.size()) line += "…";
            std::printf("  %7.3f  %-10s %s\n", c.max_activation, c.source.c_str(), line.c_str());
        }
        std::printf("\nnon-zero activations:\n");
        const std::size_t most = d.histogram_counts.empty() ? 0 : *std::max_element(d.histogram_counts.begin(), d.histogram_counts.end());
        for (std::size_t b = 0; b < d.histogram_counts.size(); ++b)
            std::printf("  %8.3f - %-8.3f %6zu %s\n", d.histogram_edges[b], d.histogram_edges[b + 1], d.histogram_counts[b],
                        std::string(most ? (50 * d.histogram_counts[b] + most - 1) / most : 0, '#').c_str());
        std::printf("\nlogit effect (W_dec . W_U): promoted");
        for (const auto& [t, v] : d.promoted) std::printf(" \"%s\" %+.3f", printable(t.text).c_str(), v);
        std::printf("\n                            suppressed");
        for (const auto& [t, v] : d.suppressed) std::printf(" \"%s\" %+.3f", printable(t.text).c_str(), v);
        std::printf("\n");
        return 0;
    };
}

}  // namespace lmwb::cli

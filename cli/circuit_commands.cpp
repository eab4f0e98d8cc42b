// lmwb explain -m patching | dla: activation patching and direct logit attribution for one prompt.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "model_flags.h"
#include "interrupt.h"
#include "lmwb/attribution.h"
#include "lmwb/circuits.h"
#include "lmwb/model.h"
#include "lmwb/side_by_side.h"

namespace lmwb::cli {

namespace {

std::vector<Site> parse_sites(const std::string& list) {
    std::vector<Site> out;
    std::stringstream in(list);
    std::string name;
    while (std::getline(in, name, ','))
        try {
            out.push_back(site_from_name(name));
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(std::string("--sites: ") + e.what());
        }
    return out;
}

// Activation and attribution patching read the same options.
attr::PatchingOptions patching_options(const CircuitArgs& a, const std::string& contrast, std::uint64_t seed, int batch_size, const char* label,
                                       bool json) {
    attr::PatchingOptions o;
    o.corrupted = a.corrupted;
    o.noise_positions = a.noise_positions;
    o.noise_scale = a.noise_scale;
    o.seed = seed;
    o.contrast = contrast;
    o.sites = parse_sites(a.sites);
    o.positions = a.positions;
    o.batch_size = batch_size;
    o.control = terminal_control(label, json);
    return o;
}

void print_grid(const attr::PatchingResult& r, const attr::PatchingGrid& g, const char* what = "") {
    std::printf("\n%s%s: recovered fraction, layers (rows) by %s (columns)\n%-9s", what, to_string(g.site).c_str(),
                g.site == Site::Heads ? "head" : "position", "");
    for (int c = 0; c < g.columns; ++c) {
        if (g.site == Site::Heads) {
            std::printf(" %7d", c);
        } else {
            const auto& t = r.tokens[static_cast<std::size_t>(r.positions[static_cast<std::size_t>(c)])];
            std::printf(" %7.7s", printable(t.text).c_str());
        }
    }
    std::printf("\n");
    for (int l = 0; l < g.rows; ++l) {
        std::printf("layer %-3d", l);
        for (int c = 0; c < g.columns; ++c) std::printf(" %7.3f", g.at(l, c));
        std::printf("\n");
    }
}

}  // namespace

void add_circuit_options(CLI::App* cmd, CircuitArgs& a) {
    cmd->add_option("--corrupted", a.corrupted, "Patching: the corrupted prompt (same token count; default: noise on the prompt)");
    cmd->add_option("--noise-positions", a.noise_positions, "Patching: prompt token positions to noise (default: all)")->delimiter(',');
    cmd->add_option("--noise-scale", a.noise_scale, "Patching: noise standard deviation in embedding standard deviations (3)");
    cmd->add_option("--sites", a.sites, "Patching: residual, attention, mlp, heads (comma-separated)");
    cmd->add_option("--positions", a.positions, "Patching: sequence positions to patch; sae-ablate: positions to change (default: all)")->delimiter(',');
    cmd->add_flag("--no-exact", a.no_exact, "Attribution patching: the estimates alone, without exact patching beside them");
    cmd->add_flag("--generation", a.generation,
                  "grad, grad-x-input, ig: attribute every token of the target (default: the greedy output) to the prompt and the tokens before it");
    cmd->add_option("--max-new-tokens", a.max_new_tokens, "--generation without --target, and steer: tokens to generate (16)");
}

int run_generation_attribution(const LanguageModel& model, const std::string& prompt, const std::string& continuation,
                               const std::string& method, int steps, const std::string& quadrature, int internal_batch,
                               std::int32_t baseline_token, const CircuitArgs& a, bool json) {
    attr::GenerationAttributionOptions o;
    o.method = attr::method_from_name(method);
    o.steps = steps;
    o.quadrature = attr::quadrature_from_name(quadrature);
    o.internal_batch = internal_batch;
    o.baseline_token = baseline_token;
    o.max_new_tokens = a.max_new_tokens;
    o.control = terminal_control(method, json);
    auto r = attr::explain_generation(model, prompt, continuation, o);
    if (json) {
        std::cout << attr::to_json_text(r);
        return 0;
    }
    std::printf("%s over generated text \"%s\" (%s)\n", r.method.c_str(), printable(r.continuation).c_str(), r.details.c_str());
    const std::size_t C = r.columns(), P = r.prompt_tokens.size();
    for (std::size_t j = 0; j < r.generated_tokens.size(); ++j) {
        const auto& g = r.generated_tokens[j];
        std::printf("\n  \"%s\"  log p %.4f", (g.text.empty() ? "<id " + std::to_string(g.id) + ">" : printable(g.text)).c_str(), r.token_logprobs[j]);
        if (!r.deltas.empty()) std::printf("  delta %.3g", r.deltas[j]);
        std::printf("\n   ");
        // The five inputs with the largest magnitude, in order of position.
        std::vector<std::size_t> idx;
        for (std::size_t i = 0; i < P + j; ++i) idx.push_back(i);
        std::sort(idx.begin(), idx.end(), [&](auto x, auto y) { return std::abs(r.matrix[j * C + x]) > std::abs(r.matrix[j * C + y]); });
        idx.resize(std::min<std::size_t>(5, idx.size()));
        std::sort(idx.begin(), idx.end());
        for (auto i : idx)
            std::printf(" %s%s %.4f", i < P ? "" : "+", printable(i < P ? r.prompt_tokens[i].text : r.generated_tokens[i - P].text).c_str(),
                        r.matrix[j * C + i]);
        std::printf("\n");
    }
    std::printf("\n  top five inputs per generated token (+: generated before it); %zu model evaluations\n", r.evaluations);
    return 0;
}

int run_direct_logit(const LanguageModel& model, const std::string& prompt, const std::string& target, const std::string& contrast,
                     bool json) {
    {
        auto r = attr::direct_logit_attribution(model, prompt, target, contrast, terminal_control("dla", json));
        if (json) {
            std::cout << attr::to_json_text(r);
            return 0;
        }
        const std::string what = contrast.empty() ? "logit(\"" + printable(r.target_token.text) + "\")"
                                                  : "logit(\"" + printable(r.target_token.text) + "\") - logit(\"" + printable(r.contrast_token.text) + "\")";
        std::printf("direct logit attribution of %s at token %d, final norm frozen at its clean scale\n\n", what.c_str(), r.position);
        std::printf("  %-22s %10.4f\n", "embeddings", r.embed);
        for (int l = 0; l < r.layers; ++l) {
            std::printf("  layer %-3d attention    %10.4f\n", l, r.attention[static_cast<std::size_t>(l)]);
            if (!r.head_values.empty()) {
                for (int h = 0; h < r.heads; ++h)
                    std::printf("    head %-3d            %10.4f\n", h, r.head_values[static_cast<std::size_t>(l * r.heads + h)]);
                std::printf("    output bias         %10.4f\n", r.attention_bias[static_cast<std::size_t>(l)]);
            }
            std::printf("  layer %-3d mlp          %10.4f\n", l, r.mlp[static_cast<std::size_t>(l)]);
        }
        std::printf("  %-22s %10.4f\n\n  sum of parts %.4f; the model's %s %.4f; gap %.3g%s\n", "final norm bias", r.norm_bias, r.sum,
                    contrast.empty() ? "logit" : "logit difference", r.total, r.gap,
                    r.softcap > 0 ? " (the final logit soft-cap bends the sum)" : "");
        if (r.head_values.empty()) std::printf("  no per-head values: %s\n", r.heads_note.c_str());
        return 0;
    }
}

int run_patching(const LanguageModel& model, const std::string& prompt, std::string target, const std::string& contrast,
                 const CircuitArgs& a, std::uint64_t seed, int batch_size, bool json) {
    auto r = attr::activation_patching(model, prompt, target, patching_options(a, contrast, seed, batch_size, "patching", json));
    if (json) {
        std::cout << attr::to_json_text(r);
        return 0;
    }
    std::printf("activation patching: %s; clean %.4f, corrupted %.4f (%s)\n", r.metric == "logprob"
                    ? ("log p(\"" + printable(r.target) + "\" | prompt)").c_str()
                    : ("logit(\"" + printable(r.target_tokens[0].text) + "\") - logit(\"" + printable(r.contrast_tokens[0].text) + "\")").c_str(),
                r.clean, r.corrupted,
                r.corrupted_prompt.empty() ? ("noise of std " + std::to_string(r.noise_std) + " on " + std::to_string(r.noise_positions.size()) + " tokens").c_str()
                                           : ("\"" + printable(r.corrupted_prompt) + "\"").c_str());
    if (std::abs(r.clean - r.corrupted) < 1e-6) std::printf("  the corruption does not change the metric: no fraction to recover\n");
    for (const auto& g : r.grids) print_grid(r, g);
    std::printf("\n  %zu patched runs\n", r.runs);
    return 0;
}

int run_attribution_patching(const LanguageModel& model, const std::string& prompt, const std::string& target, const std::string& contrast,
                             const CircuitArgs& a, std::uint64_t seed, int batch_size, bool json) {
    auto r = attr::attribution_patching(model, prompt, target, patching_options(a, contrast, seed, batch_size, "attribution patching", json),
                                        !a.no_exact);
    if (json) {
        std::cout << attr::to_json_text(r);
        return 0;
    }
    std::printf("attribution patching (first-order estimate of restoring each clean component into the corrupted run): clean %.4f, corrupted %.4f\n",
                r.exact.clean, r.exact.corrupted);
    for (std::size_t s = 0; s < r.estimates.size(); ++s) {
        print_grid(r.exact, r.estimates[s], "estimated ");
        if (s < r.correlation.size()) {
            print_grid(r.exact, *r.exact.grid(r.estimates[s].site), "exact ");
            std::printf("Pearson r between estimate and exact: %.4f\n", r.correlation[s]);
        }
    }
    return 0;
}

Action add_side_by_side_command(CLI::App& app) {
    struct Args {
        std::string a, b, prompt, target, method = "ig";
        int steps = 50, max_new_tokens = 32;
        ModelFlags flags;
        bool json = false, no_attribution = false;
    };
    auto x = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("side-by-side", "Two models on one prompt: responses, per-token log-probs aligned, attributions");
    cmd->add_option("model_a", x->a, "First model folder")->required();
    cmd->add_option("model_b", x->b, "Second model folder")->required();
    cmd->add_option("--prompt,-p", x->prompt, "The prompt")->required();
    cmd->add_option("--target,-t", x->target, "The continuation to compare (default: model A's greedy response)");
    cmd->add_option("--method,-m", x->method, "Attribution of the continuation in both: ig, grad, grad-x-input or shap");
    cmd->add_option("--steps", x->steps, "Integrated gradients: steps");
    cmd->add_option("--max-new-tokens", x->max_new_tokens, "Response length at most (stops at a newline)");
    cmd->add_flag("--no-attribution", x->no_attribution, "Only responses and log-probabilities");
    add_model_flags(cmd, x->flags);  // both models
    cmd->add_flag("--json", x->json, "Print JSON");
    return [x]() -> int {
        InterruptGuard interrupts;
        const ModelOptions mo = model_options(x->flags);
        auto a = LanguageModel::open(x->a, mo), b = LanguageModel::open(x->b, mo);
        attr::SideBySideOptions o;
        o.max_new_tokens = x->max_new_tokens;
        o.attribute = !x->no_attribution;
        o.attribution.method = attr::method_from_name(x->method);
        o.attribution.steps = x->steps;
        o.control = terminal_control("side by side", x->json);
        auto s = attr::side_by_side(*a, *b, x->prompt, x->target, o);
        if (x->json) {
            std::cout << attr::to_json_text(s);
            return 0;
        }
        std::printf("A %s\n  \"%s\"\nB %s\n  \"%s\"\n\n", x->a.c_str(), printable(s.a_response).c_str(), x->b.c_str(), printable(s.b_response).c_str());
        std::printf("log p(\"%s\" | prompt): A %.4f, B %.4f (%s)\n\n  %-16s %10s %10s %10s\n", printable(s.continuation).c_str(), s.a_total, s.b_total,
                    s.same_tokens ? "same tokens" : "aligned by character spans", "segment", "A", "B", "B - A");
        for (const auto& g : s.segments)
            std::printf("  %-16.16s %10.4f %10.4f %+10.4f\n", ("\"" + printable(g.text) + "\"").c_str(), g.a_logprob, g.b_logprob, g.b_logprob - g.a_logprob);
        if (s.attributed) {
            std::printf("\n%s, by word:\n  %-16s %10s %10s\n", s.a_attribution.method.c_str(), "word", "A", "B");
            const auto& wa = s.a_attribution.words;
            const auto& wb = s.b_attribution.words;
            for (const auto& w : wa) {  // words are spans of the prompt's text: the same in both tokenizations
                auto it = std::find_if(wb.begin(), wb.end(), [&](const attr::Span& v) { return v.start == w.start; });
                std::printf("  %-16.16s %10.5f %10s\n", printable(w.text).c_str(), w.score,
                            it == wb.end() ? "-" : std::to_string(it->score).substr(0, 9).c_str());
            }
        }
        return 0;
    };
}

}  // namespace lmwb::cli

// lmwb explain / uncertainty: attributions, attention and sampled uncertainty for one prompt.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>

#include "commands.h"
#include "model_flags.h"
#include "interrupt.h"
#include "lmwb/attribution.h"
#include "lmwb/methods.h"
#include "lmwb/model.h"

namespace lmwb::cli {

namespace {

// A bar of up to 20 cells for a signed score scaled by the largest magnitude.
std::string bar(double v, double scale) {
    int n = scale > 0 ? static_cast<int>(std::lround(20 * std::fabs(v) / scale)) : 0;
    return std::string(static_cast<std::size_t>(n), v >= 0 ? '+' : '-');
}

}  // namespace

namespace {

struct ExplainArgs {
    std::string model, prompt, target, contrast, method = "ig", quadrature = "gausslegendre", baseline_text, head_reduce = "mean";
    ModelFlags flags;
    int steps = 50, internal_batch = 0, layer = -1, head = -1, batch = 0, top_k = 5, repeat_length = 32;
    std::int32_t baseline_token = -1;
    bool json = false, exact = false, kernel = false, partition = false, words = false, del = false, no_matrix = false;
    std::size_t budget = 4096;
    std::uint64_t seed = 0;
    std::vector<std::string> spans;
    CircuitArgs circuits;
    SaeArgs sae;
    ChatFlags chat;
    // Set as the command runs: whether --target / --batch-size were given.
    bool target_given = false;
};

std::unique_ptr<LanguageModel> open_model(const ExplainArgs& a) {
    return LanguageModel::open(a.model, model_options(a.flags));
}

int run_token_scores(const ExplainArgs& a, const attr::MethodInfo& method) {
    attr::Options o;
    o.generated_target = !a.target_given;
    o.contrast = a.contrast;
    o.method = attr::method_from_name(method.name);
    o.steps = a.steps;
    o.quadrature = attr::quadrature_from_name(a.quadrature);
    o.internal_batch = a.internal_batch;
    o.baseline_token = a.baseline_token;
    o.baseline_text = a.baseline_text;
    o.matrix = !a.no_matrix;
    if (a.exact + a.kernel + a.partition > 1) throw std::runtime_error("choose one of --exact, --kernel and --partition");
    o.shap = a.exact ? attr::Options::ShapAlgorithm::Exact : a.kernel ? attr::Options::ShapAlgorithm::Kernel
             : a.partition ? attr::Options::ShapAlgorithm::Partition : attr::Options::ShapAlgorithm::Auto;
    o.shap_words = a.words;
    o.shap_delete = a.del;
    o.budget = a.budget;
    o.batch_size = a.batch;
    o.seed = a.seed;
    o.layer = a.layer;
    o.head = a.head;
    if (a.head_reduce != "mean" && a.head_reduce != "max") throw std::runtime_error("--head-reduce is mean or max");
    o.head_reduce = a.head_reduce;
    for (const auto& s : a.spans) {
        auto colon = s.find(':');
        try {
            if (colon == std::string::npos) throw std::invalid_argument(s);
            o.spans.push_back({std::stoi(s.substr(0, colon)), std::stoi(s.substr(colon + 1))});
        } catch (const std::exception&) {
            throw std::runtime_error("--span '" + s + "': expected FIRST:LAST token indices, e.g. 2:5");
        }
    }
    o.control = terminal_control(a.method, a.json);
    auto model = open_model(a);
    auto r = attr::explain(*model, a.prompt, a.target, o);
    if (a.json) {
        std::cout << attr::to_json_text(r);
        return 0;
    }
    if (r.contrast.empty())
        std::printf("%s: log p(\"%s\" | prompt) = %.4f  (%s)\n", r.method.c_str(), printable(r.target).c_str(), r.target_logprob, r.details.c_str());
    else
        std::printf("%s: log p(\"%s\" | prompt) - log p(\"%s\" | prompt) = %.4f  (%s)\n", r.method.c_str(), printable(r.target).c_str(),
                    printable(r.contrast).c_str(), r.target_logprob, r.details.c_str());
    double scale = 0;
    for (double v : r.scores) scale = std::max(scale, std::fabs(v));
    std::printf("\n  %-5s %-20s %12s\n", "token", "text", "score");
    for (std::size_t i = 0; i < r.prompt_tokens.size(); ++i)
        std::printf("  %-5zu %-20.20s %12.5f  %s\n", i, printable(r.prompt_tokens[i].text).c_str(), r.scores[i], bar(r.scores[i], scale).c_str());
    for (const auto& s : r.spans) std::printf("\n  span [%d, %d) \"%s\": %.5f", s.first, s.last, printable(s.text).c_str(), s.score);
    if (!r.spans.empty()) std::printf("\n");
    if (!r.words.empty()) {
        std::printf("\n  words:");
        for (const auto& w : r.words) std::printf("  %s %.4f", w.text.c_str(), w.score);
        std::printf("\n");
    }
    if (!std::isnan(r.delta)) {
        double total = 0;
        for (double v : r.scores) total += v;
        std::printf("\n  sum of scores %.5f; F(input) - F(baseline) = %.5f; %s %.3g\n", total, r.target_logprob - r.baseline_logprob,
                    r.method == "shap" ? "efficiency gap" : "convergence delta", r.delta);
    }
    std::printf("  %zu model evaluations\n", r.evaluations);
    std::fflush(stdout);
    for (const auto& w : r.warnings) std::fprintf(stderr, "lmwb: warning: %s\n", w.c_str());
    return 0;
}

int run_head_summaries(const ExplainArgs& a, const attr::MethodInfo&) {
    auto model = open_model(a);
    auto s = attr::head_summaries(*model, a.prompt, a.repeat_length, a.seed, terminal_control(a.method, a.json));
    if (a.json) {
        std::cout << attr::to_json_text(s);
        return 0;
    }
    std::printf("heads on %d tokens; induction on %d random tokens repeated twice (seed %llu)\n\n", s.length, a.repeat_length,
                static_cast<unsigned long long>(a.seed));
    std::printf("  %5s %4s %9s %12s %14s %10s\n", "layer", "head", "entropy", "first token", "previous token", "induction");
    for (const auto& h : s.heads)
        std::printf("  %5d %4d %9.3f %12.3f %14.3f %10.3f%s\n", h.layer, h.head, h.entropy, h.first_token, h.previous_token, h.induction,
                    h.likely_induction() ? "  induction head?" : h.likely_previous_token() ? "  previous-token head?" : "");
    return 0;
}

int run_logit_lens(const ExplainArgs& a, const attr::MethodInfo&) {
    auto model = open_model(a);
    auto lens = attr::logit_lens(*model, a.prompt, a.target, a.top_k, terminal_control(a.method, a.json));
    if (a.json) {
        std::cout << attr::to_json_text(lens);
        return 0;
    }
    // The familiar picture: rows are layers, columns positions, each cell the top token and its probability.
    std::printf("logit lens: top next token (probability) after each layer, at each position\n\n%-11s", "");
    for (const auto& t : lens.tokens) std::printf(" %-14.14s", printable(t.text).c_str());
    std::printf("\n");
    for (int r = 0; r < lens.rows; ++r) {
        std::printf("%-11s", r == 0 ? "embeddings" : ("layer " + std::to_string(r - 1)).c_str());
        for (int p = 0; p < lens.length; ++p) {
            const auto& c = lens.at(r, p);
            char cell[64];
            std::snprintf(cell, sizeof cell, "%.8s %.2f", printable(c.top_tokens.front()).c_str(), c.top_probs.front());
            std::printf(" %-14s", cell);
        }
        std::printf("\n");
    }
    return 0;
}

int run_patching_method(const ExplainArgs& a, const attr::MethodInfo&) {
    auto model = open_model(a);
    return run_patching(*model, a.prompt, a.target, a.contrast, a.circuits, a.seed, a.batch, a.json);
}

int run_attribution_patching_method(const ExplainArgs& a, const attr::MethodInfo&) {
    auto model = open_model(a);
    return run_attribution_patching(*model, a.prompt, a.target, a.contrast, a.circuits, a.seed, a.batch, a.json);
}

int run_direct_logit_method(const ExplainArgs& a, const attr::MethodInfo&) {
    auto model = open_model(a);
    return run_direct_logit(*model, a.prompt, a.target, a.contrast, a.json);
}

int run_sae(const ExplainArgs& a, const attr::MethodInfo& method) {
    auto model = open_model(a);
    return run_sae_method(*model, method.name, a.prompt, a.target_given ? a.target : std::string(), a.contrast, a.sae, a.circuits.positions,
                          a.top_k, a.steps, a.circuits.max_new_tokens, a.json);
}

// How `explain` runs and prints each kind of result the registry names (attr::MethodResult): a new kind is one entry.
using ExplainRunner = int (*)(const ExplainArgs&, const attr::MethodInfo&);
const std::map<attr::MethodResult, ExplainRunner>& explain_runners() {
    static const std::map<attr::MethodResult, ExplainRunner> runners = {
        {attr::MethodResult::TokenScores, run_token_scores},   {attr::MethodResult::HeadSummaries, run_head_summaries},
        {attr::MethodResult::LogitLens, run_logit_lens},       {attr::MethodResult::Patching, run_patching_method},
        {attr::MethodResult::DirectLogit, run_direct_logit_method}, {attr::MethodResult::SaeFeatures, run_sae},
        {attr::MethodResult::SaeAttribution, run_sae},         {attr::MethodResult::SaeIntervention, run_sae},
        {attr::MethodResult::AttributionPatching, run_attribution_patching_method}, {attr::MethodResult::Steering, run_sae},
    };
    return runners;
}

}  // namespace

Action add_explain_command(CLI::App& app) {
    auto a = std::make_shared<ExplainArgs>();
    auto* cmd = app.add_subcommand("explain", "Attribute log p(target | prompt) to the prompt's tokens, or show attention");
    cmd->add_option("model", a->model, "Model folder, or a repository name in the Hugging Face cache")->required();
    add_model_flags(cmd, a->flags);
    cmd->add_option("--prompt,-p", a->prompt, "The prompt")->required();
    add_chat_flags(cmd, a->chat);
    auto* target_opt = cmd->add_option("--target,-t", a->target, "The continuation to explain (default: the model's greedy output)");
    cmd->add_option("--method,-m", a->method, attr::method_names() + " (lmwb methods describes each and the options it reads)");
    cmd->add_option("--top-k", a->top_k, "Logit lens: tokens listed per layer and position; sae-features: features listed per token");
    cmd->add_option("--repeat-length", a->repeat_length, "Heads: random tokens repeated twice for the induction score");
    cmd->add_option("--contrast", a->contrast, "Contrastive: explain log p(target) - log p(this foil), e.g. \" Berlin\"");
    cmd->add_option("--steps", a->steps, "Integrated gradients (and sae-attribution): integration steps");
    cmd->add_option("--quadrature", a->quadrature, "gausslegendre, riemann_left, riemann_right, riemann_middle, riemann_trapezoid");
    cmd->add_option("--internal-batch", a->internal_batch, "IG and gradients: points per forward and backward pass (default: as many as fit --max-memory or the free memory)");
    cmd->add_option("--baseline-token", a->baseline_token, "IG: baseline embedding of this token id; SHAP: the token absent features become");
    cmd->add_option("--baseline-text", a->baseline_text, "IG: baseline embeddings of this text (same token count)");
    cmd->add_flag("--no-matrix", a->no_matrix, "IG and gradients: only the summed target (one backward pass per point)");
    cmd->add_flag("--exact", a->exact, "SHAP: exact Shapley values (all coalitions)");
    cmd->add_flag("--kernel", a->kernel, "SHAP: KernelSHAP with paired sampling");
    cmd->add_flag("--partition", a->partition, "SHAP: Partition (Owen) values over words and phrases");
    cmd->add_flag("--words", a->words, "SHAP: words are the features, not tokens");
    cmd->add_flag("--delete", a->del, "SHAP: delete absent features instead of replacing them");
    cmd->add_option("--budget", a->budget, "SHAP: model evaluations at most");
    cmd->add_option("--batch-size", a->batch, "SHAP: coalitions per forward pass; patching: runs per pass (default: as many as fit in memory)");
    add_circuit_options(cmd, a->circuits);
    add_sae_options(cmd, a->sae);
    cmd->add_option("--seed", a->seed, "SHAP: sampling seed");
    cmd->add_option("--layer", a->layer, "Attention: layer (default: the last)");
    cmd->add_option("--head", a->head, "Attention: head (default: reduce over heads)");
    cmd->add_option("--head-reduce", a->head_reduce, "Attention: mean or max over heads");
    cmd->add_option("--span", a->spans, "Also sum scores over prompt tokens FIRST:LAST (end exclusive), repeatable");
    cmd->add_flag("--json", a->json, "Print JSON (docs/interpretability.md)");
    return [a, cmd, target_opt]() -> int {
        const attr::MethodInfo& method = attr::method_named(a->method);
        // An option meant for another method is refused, never silently ignored (-m ig --exact).
        for (const CLI::Option* opt : cmd->get_options()) {
            if (opt->count() == 0 || opt->get_lnames().empty()) continue;
            const std::string& name = opt->get_lnames().front();
            const auto& common = attr::common_explain_options();
            if (std::find(common.begin(), common.end(), name) != common.end() ||
                std::find(method.options.begin(), method.options.end(), name) != method.options.end())
                continue;
            std::string readers;
            for (const auto& m : attr::methods())
                if (m.explain_method && std::find(m.options.begin(), m.options.end(), name) != m.options.end())
                    readers += (readers.empty() ? "" : ", ") + m.name;
            throw std::runtime_error("--" + name + " does not apply to --method " + method.name +
                                     (readers.empty() ? std::string() : " (it is read by " + readers + ")"));
        }
        a->target_given = target_opt->count() > 0;
        a->prompt = chat_prompt(a->model, a->flags.revision, a->chat, a->prompt);
        InterruptGuard interrupts;
        if (a->circuits.generation) {
            auto model = open_model(*a);
            return run_generation_attribution(*model, a->prompt, a->target, method.name, a->steps, a->quadrature, a->internal_batch,
                                              a->baseline_token, a->circuits, a->json);
        }
        const auto runner = explain_runners().find(method.result);
        if (runner == explain_runners().end()) throw std::runtime_error("--method " + method.name + " has no runner in explain");
        return runner->second(*a, method);
    };
}

Action add_uncertainty_command(CLI::App& app) {
    struct Args {
        std::string model, prompt, clustering = "exact";
        ModelFlags flags;
        attr::UncertaintyOptions o;
        ChatFlags chat;
        bool json = false;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("uncertainty", "Sample a prompt's answers: entropy, self-consistency, semantic entropy");
    cmd->add_option("model", a->model, "Model folder, or a repository name in the Hugging Face cache")->required();
    add_model_flags(cmd, a->flags);
    cmd->add_option("--prompt,-p", a->prompt, "The prompt")->required();
    add_chat_flags(cmd, a->chat);
    cmd->add_option("-n,--samples", a->o.samples, "Samples to draw");
    cmd->add_option("--temperature", a->o.temperature, "Sampling temperature");
    cmd->add_option("--top-p", a->o.top_p, "Nucleus sampling");
    cmd->add_option("--max-new-tokens", a->o.max_new_tokens, "Tokens per sample");
    cmd->add_option("--seed", a->o.seed, "Seed of the first sample (sample i uses seed + i)");
    cmd->add_option("--clustering", a->o.clustering, "exact (normalised answers) or embedding (hidden-state cosine)");
    cmd->add_option("--threshold", a->o.threshold, "Cosine threshold for embedding clustering");
    cmd->add_flag("--json", a->json, "Print JSON");
    return [a]() -> int {
        const ModelOptions mo = model_options(a->flags);
        InterruptGuard interrupts;
        a->o.control = terminal_control("sampling", a->json);
        a->prompt = chat_prompt(a->model, a->flags.revision, a->chat, a->prompt);
        auto model = LanguageModel::open(a->model, mo);
        auto r = attr::sample_uncertainty(*model, a->prompt, a->o);
        if (a->json) {
            std::cout << attr::to_json_text(r);
            return 0;
        }
        if (r.truncated) std::printf("note: the prompt is longer than the model's context; its first tokens were cut\n");
        std::printf("greedy: \"%s\"\n", printable(r.greedy_text).c_str());
        for (const auto& s : r.greedy) {
            std::printf("  %-14.14s p=%.3f  entropy %.3f nats ", printable(s.text).c_str(), std::exp(s.logprob), s.entropy);
            for (const auto& [t, lp] : s.alternatives) std::printf(" | %s %.3f", printable(t).c_str(), std::exp(lp));
            std::printf("\n");
        }
        std::printf("\n%zu samples, %zu clusters\n", r.samples.size(), r.clusters);
        for (const auto& ans : r.answers)
            std::printf("  %5.1f%% of mass  %3zu x  \"%s\"\n", 100 * ans.probability, ans.count, ans.answer.c_str());
        std::printf("\npredictive entropy %.4f nats; self-consistency %.3f; semantic entropy %.4f (discrete %.4f)\n", r.predictive_entropy,
                    r.self_consistency, r.semantic_entropy, r.discrete_semantic_entropy);
        return 0;
    };
}

}  // namespace lmwb::cli

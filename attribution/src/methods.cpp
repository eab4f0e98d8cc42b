#include "lmwb/methods.h"

#include <algorithm>

#include "lmwb/attribution.h"
#include "lmwb/circuits.h"

namespace lmwb::attr {

namespace {

std::vector<MethodInfo> make_methods() {
    const std::vector<std::string> gradient = {"contrast", "span", "no-matrix", "generation", "max-new-tokens"};
    auto with = [](std::vector<std::string> base, std::initializer_list<const char*> more) {
        base.insert(base.end(), more.begin(), more.end());
        return base;
    };
    std::vector<MethodInfo> m;
    m.push_back({"ig", {"integrated-gradients"}, "Integrated gradients",
                 "Σ_d (e − e′)·∫ ∂F/∂e along the straight path from a baseline, per prompt token (Sundararajan et al. 2017)",
                 "gradients",
                 with(gradient, {"steps", "quadrature", "internal-batch", "baseline-token", "baseline-text"}), true, true,
                 MethodResult::TokenScores, "lmwb.attribution", "Ctrl+2", "explain --method ig"});
    m.push_back({"shap", {}, "SHAP", "Shapley values of the prompt's tokens or words for F (exact, KernelSHAP or Partition)", "",
                 {"contrast", "span", "exact", "kernel", "partition", "words", "delete", "budget", "batch-size", "seed", "baseline-token"},
                 true, true, MethodResult::TokenScores, "lmwb.attribution", "Ctrl+3", "explain --method shap"});
    m.push_back({"grad", {"saliency"}, "Saliency", "‖∂F/∂e_i‖₂, the L2 norm of the gradient over the embedding", "gradients", gradient,
                 false, true, MethodResult::TokenScores, "lmwb.attribution", "", "explain --method grad"});
    m.push_back({"grad-x-input", {"gradxinput"}, "Gradient × input", "Σ_d e_{i,d} · ∂F/∂e_{i,d}", "gradients", gradient, false, true,
                 MethodResult::TokenScores, "lmwb.attribution", "", "explain --method grad-x-input"});
    m.push_back({"attention", {}, "Attention", "attention of the rows predicting the target over the prompt, one layer and head (or their mean/max)",
                 "attentions", {"span", "layer", "head", "head-reduce"}, false, true, MethodResult::TokenScores, "lmwb.attribution",
                 "Ctrl+1", "explain --method attention"});
    m.push_back({"rollout", {}, "Attention rollout", "attention rollout over all layers (Abnar & Zuidema 2020)", "attentions", {"span"},
                 false, true, MethodResult::TokenScores, "lmwb.attribution", "", "explain --method rollout"});
    m.push_back({"logit-lens", {}, "Logit lens", "each layer's residual stream read through the final norm and the unembedding",
                 "hidden states", {"top-k"}, false, false, MethodResult::LogitLens, "lmwb.logit_lens", "Ctrl+5", "explain --method logit-lens"});
    m.push_back({"heads", {}, "Head summaries", "per head: attention entropy, first- and previous-token attention, induction score",
                 "attentions", {"repeat-length", "seed"}, false, false, MethodResult::HeadSummaries, "lmwb.heads", "",
                 "explain --method heads"});
    m.push_back({"patching", {}, "Activation patching", "restore each clean component into the corrupted run: the target's recovery",
                 "", {"contrast", "corrupted", "noise-positions", "noise-scale", "sites", "positions", "batch-size", "seed"}, false, false,
                 MethodResult::Patching, "lmwb.patching", "Ctrl+6", "explain --method patching"});
    m.push_back({"attribution-patching", {}, "Attribution patching",
                 "activation patching's first-order estimate (a_clean − a_corrupted)·∂F/∂a from one corrupted backward, beside exact patching with their correlation",
                 "", {"contrast", "corrupted", "noise-positions", "noise-scale", "sites", "positions", "batch-size", "seed", "no-exact"}, false,
                 false, MethodResult::AttributionPatching, "lmwb.attribution_patching", "", "explain --method attribution-patching"});
    m.push_back({"dla", {"direct-logit-attribution"}, "Direct logit attribution",
                 "each layer's, head's and MLP's output through the frozen final norm onto the target's unembedding", "",
                 {"contrast"}, false, true, MethodResult::DirectLogit, "lmwb.direct_logit", "Ctrl+7", "explain --method dla"});
    m.push_back({"sae-features", {}, "SAE features",
                 "a sparse autoencoder at its hook point: each token's active features, L0, variance explained, the loss with the reconstruction spliced in",
                 "", {"sae", "hook", "top-k"}, false, false, MethodResult::SaeFeatures, "lmwb.sae_features", "", "explain --method sae-features"});
    m.push_back({"sae-attribution", {}, "SAE feature attribution",
                 "each active feature's share of F (and the reconstruction error's): gradient × activation and integrated gradients from b_dec",
                 "", {"sae", "hook", "contrast", "steps", "features"}, true, false, MethodResult::SaeAttribution, "lmwb.sae_attribution", "",
                 "explain --method sae-attribution"});
    m.push_back({"sae-ablate", {"sae-clamp"}, "SAE feature ablation", "F with one feature set to a value (0: ablated) at chosen positions, the error kept",
                 "", {"sae", "hook", "contrast", "feature", "value", "positions"}, false, false, MethodResult::SaeIntervention,
                 "lmwb.sae_intervention", "", "explain --method sae-ablate"});
    m.push_back({"steer", {}, "Steering", "generation with coefficient × an SAE feature's decoder direction (or a direction from a file) added at its hook",
                 "", {"sae", "hook", "feature", "direction", "coefficient", "max-new-tokens"}, false, false, MethodResult::Steering, "lmwb.steering",
                 "", "explain --method steer"});
    // Actions of their own commands, in the GUI's Run menu beside the methods.
    m.push_back({"sample", {}, "Sample", "sampled answers: per-token entropy, self-consistency, semantic entropy", "", {}, false, false,
                 MethodResult::Uncertainty, "lmwb.uncertainty", "Ctrl+4", "uncertainty", false});
    m.push_back({"sae-dashboard", {}, "SAE feature dashboard",
                 "a feature over a corpus: top activating contexts, activation histogram, density, tokens its decoder direction promotes and suppresses",
                 "", {}, false, false, MethodResult::SaeDashboard, "lmwb.sae_dashboard", "", "sae-dashboard", false});
    m.push_back({"generation", {}, "Attribute generated text", "every generated token attributed to the prompt and the tokens before it",
                 "gradients", {}, true, false, MethodResult::GenerationMatrix, "lmwb.generation_attribution", "Ctrl+8",
                 "explain --generation --method ig|grad|grad-x-input", false});
    return m;
}

}  // namespace

const std::vector<MethodInfo>& methods() {
    static const std::vector<MethodInfo> table = make_methods();
    return table;
}

const MethodInfo* find_method(std::string_view name) {
    if (name.empty()) return nullptr;
    for (const auto& m : methods()) {
        if (m.name == name) return &m;
        for (const auto& a : m.aliases)
            if (a == name) return &m;
    }
    return nullptr;
}

std::string method_names(bool per_item) {
    std::string out;
    for (const auto& m : methods())
        if (m.explain_method && (!per_item || m.per_item)) out += (out.empty() ? "" : ", ") + m.name;
    return out;
}

const MethodInfo& method_named(std::string_view name, bool per_item) {
    const MethodInfo* m = find_method(name);
    if (m && !m->explain_method) m = nullptr;
    if (!m || (per_item && !m->per_item))
        throw AttributionError("unknown method '" + std::string(name) + "'" + (m ? " for an item's record" : "") + " (" + method_names(per_item) + ")");
    return *m;
}

std::vector<const MethodInfo*> menu_methods() {
    std::vector<const MethodInfo*> out;
    for (const auto& m : methods())
        if (!m.shortcut.empty()) out.push_back(&m);
    std::stable_sort(out.begin(), out.end(), [](const MethodInfo* x, const MethodInfo* y) { return x->shortcut < y->shortcut; });
    return out;
}

const std::vector<std::string>& common_explain_options() {
    static const std::vector<std::string> common = {"revision", "threads", "device", "dtype", "max-memory", "prompt", "chat", "system", "target", "method", "json"};
    return common;
}

std::string methods_markdown() {
    std::string out = "| method | what it computes | needs | options it reads | completeness | per item | JSON | GUI |\n"
                      "|---|---|---|---|---|---|---|---|\n";
    for (const auto& m : methods()) {
        std::string options;
        for (const auto& o : m.options) options += (options.empty() ? "`--" : ", `--") + o + "`";
        std::string name = m.explain_method ? "`" + m.name + "`" : m.title + " (`lmwb " + m.command + "`)";
        for (const auto& a : m.aliases) name += " (`" + a + "`)";
        out += "| " + name + " | " + m.summary + " | " + (m.needs.empty() ? "—" : m.needs) + " | " + (options.empty() ? "—" : options) +
               " | " + (m.completeness ? "yes" : "no") + " | " + (m.per_item ? "yes" : "no") + " | `" + m.schema + "` | " +
               (m.shortcut.empty() ? "—" : m.shortcut) + " |\n";
    }
    return out;
}

std::string explain_item(const MethodInfo& method, const LanguageModel& model, const std::string& prompt, const std::string& target,
                         int steps, const Control& control) {
    if (!method.per_item) throw AttributionError("method '" + method.name + "' is not attached to items (" + method_names(true) + ")");
    switch (method.result) {
    case MethodResult::TokenScores: {
        Options o;
        o.method = method_from_name(method.name);
        o.steps = steps;
        o.control = control;
        return to_json_text(explain(model, prompt, target, o), -1);
    }
    case MethodResult::DirectLogit: return to_json_text(direct_logit_attribution(model, prompt, target, {}, control), -1);
    default: break;
    }
    throw AttributionError("method '" + method.name + "' has no per-item writer");
}

}  // namespace lmwb::attr

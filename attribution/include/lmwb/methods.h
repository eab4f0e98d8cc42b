// The interpretability methods, one descriptor each: what `lmwb explain --method` accepts (names, aliases, the options
// each reads, the unknown-method error), what `lmwb eval --explain-method` may attach to an item, the GUI's Run menu
// (title, shortcut) and docs/interpretability.md's method table all read this table. A new method is one entry here
// plus its computation.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lmwb/control.h"

namespace lmwb {
class LanguageModel;
}

namespace lmwb::attr {

// What a method returns, and so which printer, JSON writer and view shows it.
enum class MethodResult { TokenScores, HeadSummaries, LogitLens, Patching, DirectLogit, Uncertainty, GenerationMatrix, SaeFeatures,
                          SaeAttribution, SaeIntervention, AttributionPatching, Steering, SaeDashboard };

struct MethodInfo {
    std::string name;                  // as `--method` takes it (explain_method), else the action's key
    std::vector<std::string> aliases;  // also accepted
    std::string title;                 // menus and tables
    std::string summary;               // one line: what it computes
    std::string needs;                 // the model capability it requires ("" none, "gradients", "attentions", "hidden states")
    std::vector<std::string> options;  // the command-line options it reads, besides those every method takes
    bool completeness = false;         // reports a completeness gap (IG's convergence delta, SHAP's efficiency gap)
    bool per_item = false;             // `eval --explain-method` can attach it to an item's record
    MethodResult result = MethodResult::TokenScores;
    std::string schema;                // the "schema" of its JSON
    std::string shortcut;              // the GUI's Run menu ("Ctrl+2"); empty: not in the menu
    std::string command;               // how the CLI runs it ("explain --method ig", "uncertainty", …)
    bool explain_method = true;        // false: an action of another command or flag (sampling, generated text)
};

const std::vector<MethodInfo>& methods();
// By name or alias (actions included); nullptr when none.
const MethodInfo* find_method(std::string_view name);
// By name or alias, among those `explain --method` takes (or, with per_item, those eval attaches); else an
// AttributionError listing them all.
const MethodInfo& method_named(std::string_view name, bool per_item = false);
// Those with a GUI shortcut, in shortcut order: the Run menu and the inspector's guide.
std::vector<const MethodInfo*> menu_methods();
// Options every `explain` method takes.
const std::vector<std::string>& common_explain_options();
// "ig, shap, grad, …": the names `explain --method` (or eval, with per_item) accepts.
std::string method_names(bool per_item = false);
// The table of docs/interpretability.md (`lmwb methods`).
std::string methods_markdown();
// What `eval --explain-method` attaches to an item's record: a per-item method's result for (prompt, target) as
// compact JSON (its schema names the kind: lmwb.attribution, lmwb.direct_logit). `steps` for integrated gradients.
std::string explain_item(const MethodInfo& method, const LanguageModel& model, const std::string& prompt, const std::string& target,
                         int steps, const Control& control = {});

}  // namespace lmwb::attr

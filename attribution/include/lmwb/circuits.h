// Circuit analysis over the engine's hook points: activation patching (causal tracing) and direct logit
// attribution. Plain value types; JSON layout in docs/interpretability.md.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "lmwb/attribution.h"
#include "lmwb/model.h"

namespace lmwb {

// The parts of a forward pass that activation patching and direct logit attribution read and replace, each one of the
// engine's hook points: Residual a layer's output (hook_resid_post), Attention and Mlp what the layer's attention and
// MLP branches add to the residual stream (hook_attn_out, hook_mlp_out), Heads each attention head's output before
// the output projection (attn.hook_z).
enum class Site { Residual, Attention, Mlp, Heads };
std::string to_string(Site site);  // "residual", "attention", "mlp", "heads"
Site site_from_name(const std::string& name);  // throws std::invalid_argument
HookKind hook_kind(Site site);

struct Activations {
    int layers = 0, length = 0, hidden = 0, heads = 0, head_dim = 0;
    std::vector<int> positions;      // the positions recorded, in order (rows of every array below)
    std::vector<float> input;        // [positions][hidden]: the residual stream the first layer reads
    // Per layer, empty where the site was not recorded: [positions][hidden]; head_outputs [positions][heads][head_dim].
    std::vector<std::vector<float>> residual, attention, mlp, head_outputs;
    const std::vector<std::vector<float>>& of(Site site) const;
};

// A component of one run replaced by its value in another (recorded) run.
struct Patch {
    Site site = Site::Residual;
    int layer = 0;
    int position = -1;  // -1: every position
    int head = -1;      // Site::Heads: the head (-1: every head)
};

}  // namespace lmwb

namespace lmwb::attr {

// One pass over ids (its token embeddings replaced by `input` [T][hidden] when given), recording `sites` at
// `positions` (empty: all). The residual sites of a whole sequence cost layers x T x hidden floats each.
Activations record_activations(const LanguageModel& model, const std::vector<std::int32_t>& ids, const std::vector<Site>& sites,
                               const std::vector<int>& positions = {}, const std::vector<float>* input = nullptr);
// One pass per entry of `runs` over ids (embeddings replaced by `input` when given), each replacing its patches'
// components by their values in `source` (recorded at every position for the patched sites); returns the readout of
// `at` per run. Hooked passes (LanguageModel::run_hooked): each starts at its first patched layer and position.
// Cancelled between layers; progress in runs.
std::vector<TokenReadout> patched_readouts(const LanguageModel& model, const std::vector<std::int32_t>& ids,
                                           const std::vector<float>* input, const Activations& source,
                                           const std::vector<std::vector<Patch>>& runs,
                                           const std::vector<std::pair<int, std::int32_t>>& at, int batch_size = 8,
                                           const Control& control = {});

// Activation patching (Meng et al. 2022; TransformerLens' patching module). The run is prompt + target[:-1]; the
// metric is log p(target | prompt), or with a contrast (foil) logit(target[0]) − logit(foil[0]) at the last prompt
// token; an empty target is the model's greedy next token. The corrupted run reads another prompt of the same token length, or the prompt's token embeddings with
// Gaussian noise on chosen positions. Each cell restores one component of the clean run into the corrupted one.
struct PatchingOptions {
    std::string corrupted;             // empty: noise
    std::vector<int> noise_positions;  // prompt token positions to noise (empty: every prompt token)
    double noise_scale = 3.0;          // times the standard deviation of the embedding matrix's entries
    std::uint64_t seed = 0;
    std::string contrast;
    std::vector<Site> sites = {Site::Residual, Site::Attention, Site::Mlp, Site::Heads};
    std::vector<int> positions;        // sequence positions to patch (empty: all); the heads grid patches all at once
    int batch_size = 0;                // patched runs per pass; 0: as many as fit the model's memory budget
    Control control;                   // cancelled between layers; progress in patched runs
};

struct PatchingGrid {
    Site site = Site::Residual;
    int rows = 0, columns = 0;          // layers x positions (options.positions), or layers x heads for Site::Heads
    std::vector<double> metric;         // the metric of each patched run, [row][column]
    std::vector<double> recovered;      // (metric − corrupted) / (clean − corrupted); NaN where clean = corrupted
    double at(int row, int column) const { return recovered[static_cast<std::size_t>(row * columns + column)]; }
};

struct PatchingResult {
    std::string prompt, corrupted_prompt, target, contrast;
    std::string metric;                 // "logprob" or "logit_diff"
    std::vector<Token> tokens;          // the clean run: prompt + target[:-1]
    std::vector<Token> corrupted_tokens, target_tokens, contrast_tokens;
    std::vector<int> positions;         // columns of the position grids
    std::vector<int> noise_positions;   // where noise was added (noise corruption)
    double noise_std = 0;               // standard deviation of the noise (0: text corruption)
    int layers = 0, heads = 0;
    double clean = 0, corrupted = 0;    // the metric of the clean and the corrupted run
    std::vector<PatchingGrid> grids;    // one per site asked for, in the order asked
    std::size_t runs = 0;               // patched runs: the grids' cells, and the clean and corrupted outputs
    const PatchingGrid* grid(Site site) const;
};
PatchingResult activation_patching(const LanguageModel& model, std::string_view prompt, std::string_view target,
                                   const PatchingOptions& options);

// Attribution patching (Nanda 2023; Syed, Rager & Conmy 2023): activation patching's first-order estimate from one
// clean forward, one corrupted forward and its backward. Restoring a component's clean value a into the corrupted run
// changes F by about (a_clean − a_corrupted) · ∂F/∂a at the corrupted run — summed over a position's entries (heads:
// over every position of the head's output, as the heads grid patches them all at once) — shown as a recovered
// fraction of clean − corrupted, next to exact activation patching of the same inputs with their Pearson correlation
// per site, so that one sees where the linear reading holds.
struct AttributionPatching {
    PatchingResult exact;                 // the inputs, clean and corrupted F; its grids only when computed (exact = true)
    std::vector<PatchingGrid> estimates;  // per site, the exact grid's shape: metric = corrupted + estimate
    std::vector<double> correlation;      // per site (exact only): Pearson r of the recovered fractions; NaN when one is constant
};
AttributionPatching attribution_patching(const LanguageModel& model, std::string_view prompt, std::string_view target,
                                         const PatchingOptions& options, bool exact = true);
std::string to_json_text(const AttributionPatching& r, int indent = 2);

// Direct logit attribution (as TransformerLens' logit_attrs with the final norm's scale cached): at the last prompt
// token, each component's output mapped through the final norm with its scale frozen at the clean residual stream,
// onto the unembedding of target[0] (minus contrast[0]'s; an empty target: the greedy next token). The parts add up to the logit (difference) before any
// final soft-cap; `total` is the model's own output and `gap` = total − sum what the linear reading leaves out.
struct DirectLogitAttribution {
    std::string prompt, target, contrast;
    std::vector<Token> tokens;
    Token target_token, contrast_token;
    int position = 0, layers = 0, heads = 0;
    double embed = 0;                   // token (and position) embeddings
    std::vector<double> attention, mlp; // per layer
    std::vector<double> head_values;    // [layer][head], empty when heads do not add up to the attention output
    std::vector<double> attention_bias; // per layer: the output projection's bias (attention − Σ heads)
    std::string heads_note;             // why head_values is empty
    double norm_bias = 0;               // the final norm's bias
    double sum = 0, total = 0, gap = 0;
    double softcap = 0;                 // the model's final logit soft-cap (0: none)
};
DirectLogitAttribution direct_logit_attribution(const LanguageModel& model, std::string_view prompt, std::string_view target,
                                                std::string_view contrast = {}, const Control& control = {});

std::string to_json_text(const PatchingResult& r, int indent = 2);
std::string to_json_text(const DirectLogitAttribution& r, int indent = 2);

}  // namespace lmwb::attr

// Sparse-autoencoder features on a prompt: which features fire at each token, how well the SAE reconstructs the
// activation (variance explained, the loss with the reconstruction spliced in), each feature's share of the target's
// log-probability (gradient × activation and integrated gradients, with the reconstruction error as its own node),
// and the effect of ablating or clamping a feature. Definitions in docs/interpretability.md ("Sparse autoencoders").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lmwb/attribution.h"
#include "lmwb/sae.h"

namespace lmwb::attr {

struct SaeOptions {
    int top_k = 8;       // features listed per token
    int steps = 32;      // integrated gradients over the feature activations (Gauss–Legendre)
    int features = 20;   // attribution: the largest contributions listed
    Control control;
};

struct ActiveFeature {
    int feature = 0;
    float activation = 0;
};

struct SaeTokenFeatures {
    std::vector<ActiveFeature> top;  // by activation, largest first, at most top_k
    int l0 = 0;                      // features above zero
    double error_norm = 0;           // ‖x − x̂‖ at this token
};

struct SaeFeatures {
    std::string sae, hook;  // the SAE's path and hook point
    std::int64_t d_sae = 0;
    std::string prompt, target;
    std::vector<Token> tokens;  // the sequence run: prompt + target
    std::vector<SaeTokenFeatures> per_token;
    double mean_l0 = 0;
    // Over the sequence's tokens, as SAELens's trainer: 1 − mean ‖x − x̂‖² / mean ‖x − mean(x)‖².
    double variance_explained = 0, mse = 0;
    // Next-token cross-entropy (nats, mean over positions 0 … T−2) of the model as it is, with x̂ in place of x at the
    // hook, and with zeros there; SAELens's ce_loss_score = (zero − spliced) / (zero − clean).
    double ce_clean = 0, ce_spliced = 0, ce_zero = 0;
    std::optional<double> ce_loss_score;  // none when zero ablation does not change the loss
    // log p(target | prompt) as it is and with x̂ in place of x (no target: absent).
    std::optional<double> target_logprob, target_logprob_spliced;
};
SaeFeatures sae_features(const LanguageModel& model, const SparseAutoencoder& sae, std::string_view prompt, std::string_view target,
                         const SaeOptions& options = {});

// A feature's (or the error's) share of F = log p(target | prompt), or logit(target) − logit(foil) with a contrast,
// at one position.
struct SaeContribution {
    int position = 0;
    int feature = -1;  // -1: the reconstruction error at that position
    float activation = 0;
    double gradient_x_activation = 0;  // ∂F/∂x · f W_dec[feature] (a rescaling topk SAE: W_dec[feature] / its norm; the error: ∂F/∂x · (x − x̂))
    double integrated_gradients = 0;   // along x(α) = b_dec + α (x − b_dec)
};

struct SaeAttribution {
    std::string sae, hook, prompt, target, contrast;
    std::string metric;  // "logprob" or "logit_diff"
    std::vector<Token> tokens;  // the sequence run: prompt + target but its last token
    double value = 0;           // F(x)
    double baseline = 0;        // F with every feature and the error at zero: b_dec at every position
    double delta = 0;           // Σ integrated gradients − (value − baseline)
    double error_total = 0;     // the error nodes' integrated gradients, summed
    int steps = 0;
    std::vector<SaeContribution> contributions;  // features by |integrated gradients|, largest first (options.features), then the error at each position
};
SaeAttribution sae_attribution(const LanguageModel& model, const SparseAutoencoder& sae, std::string_view prompt, std::string_view target,
                               std::string_view contrast, const SaeOptions& options = {});

// A feature set to `value` (0: ablated) at `positions` (empty: all) through the decoder, the error kept:
// x' = x + (value − f) W_dec[feature]. F as sae_attribution's.
struct SaeIntervention {
    int feature = 0;
    double value = 0;
    std::vector<int> positions;
    double original = 0, changed = 0;  // F before and after
};
SaeIntervention sae_intervene(const LanguageModel& model, const SparseAutoencoder& sae, std::string_view prompt, std::string_view target,
                              std::string_view contrast, int feature, double value, const std::vector<int>& positions = {},
                              const Control& control = {});

// Steering: `coefficient` × `direction` added at a hook point at every position while the model generates (an SAE
// feature's decoder row, or any direction of the hook's width, e.g. from a file; head_index: one head's slice of
// attn.hook_z). Both generations, and the steered continuation's tokens scored without and with the steering.
struct Steering {
    std::string hook, what;  // what was added, in words ("feature 12 of …", "direction from …")
    int head_index = -1;
    double coefficient = 0;
    std::string prompt, plain, steered;  // the continuations without and with steering
    std::string plain_stop, steered_stop;
    std::vector<Token> steered_tokens;
    std::vector<double> logprob_plain, logprob_steered;  // per steered token: log p under the model as it is and steered
};
Steering steer(const LanguageModel& model, const HookPoint& point, int head_index, const std::vector<float>& direction, double coefficient,
               std::string_view prompt, const GenerationOptions& generation, const std::string& what, const Control& control = {});
// A feature's dashboard over a corpus (a suite's prompts, a text file's lines): its top activating contexts with every
// token's activation, the histogram of its non-zero activations, how often it fires, and its logit effect — the
// tokens its decoder direction promotes and suppresses through the unembedding (W_dec[i] · diag(ln_final.w) · W_U,
// TransformerLens's folded W_U; hook_z through W_O first). One pass per text, cancellable, progress in texts; the
// result is cached in the user's cache folder per model, SAE, corpus and feature (lmwb/sae), and read back.
struct DashboardContext {
    std::string source;  // the item's id or "line N"
    std::vector<Token> tokens;
    std::vector<float> activations;  // per token
    int peak = 0;                    // the token where the feature is largest
    float max_activation = 0;
};
struct FeatureDashboard {
    std::string sae, hook, corpus;
    int feature = 0;
    std::size_t texts = 0, tokens = 0, active_tokens = 0;
    std::vector<DashboardContext> top;  // largest max_activation first, at most top_contexts
    std::vector<double> histogram_edges;  // bins + 1 edges over (0, max]; counts of non-zero activations
    std::vector<std::size_t> histogram_counts;
    std::vector<std::pair<Token, double>> promoted, suppressed;  // largest and smallest logit effect, at most logit_tokens
    bool from_cache = false;
};
struct DashboardOptions {
    int top_contexts = 10, bins = 20, logit_tokens = 10;
    bool use_cache = true;
    Control control;
};
FeatureDashboard feature_dashboard(const LanguageModel& model, const SparseAutoencoder& sae, int feature,
                                   const std::vector<std::pair<std::string, std::string>>& texts, const std::string& corpus_name,
                                   const DashboardOptions& options = {});

// A direction from a file: a JSON array of numbers.
std::vector<float> read_direction(const std::string& path);

std::string to_json_text(const SaeFeatures& r, int indent = 2);
std::string to_json_text(const Steering& r, int indent = 2);
std::string to_json_text(const FeatureDashboard& r, int indent = 2);
FeatureDashboard feature_dashboard_from_json(const std::string& text);
std::string to_json_text(const SaeAttribution& r, int indent = 2);
std::string to_json_text(const SaeIntervention& r, int indent = 2);

}  // namespace lmwb::attr

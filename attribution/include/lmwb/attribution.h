// Interpretability on top of the engine's public interface: gradient attributions, integrated gradients,
// Shapley values (exact, KernelSHAP, Partition/Owen), attention maps and rollout, sampled uncertainty.
// Plain value types; JSON layout in docs/interpretability.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lmwb/control.h"

namespace lmwb {
class LanguageModel;
}

namespace lmwb::attr {

// Bad options or inputs (baseline of the wrong length, budget too small, no such layer); what() says which.
class AttributionError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class Quadrature { GaussLegendre, RiemannLeft, RiemannRight, RiemannMiddle, RiemannTrapezoid };
Quadrature quadrature_from_name(const std::string& name);  // "gausslegendre", "riemann_left", ...
std::string to_string(Quadrature q);
// Nodes α in [0, 1] and weights summing to 1.
struct Rule {
    std::vector<double> alphas, weights;
};
// Gauss–Legendre nodes cost O(n) each (Newton on the three-term recurrence): n is capped so that building the rule
// stays well under a second; more steps than this are no more accurate in double precision anyway.
constexpr int kMaxGaussLegendreSteps = 10000;
Rule quadrature_rule(Quadrature q, int n);

// A function of a point and its gradient there.
using GradientFunction = std::function<std::pair<double, std::vector<double>>(const std::vector<double>&)>;
struct IgResult {
    std::vector<double> attributions;
    double delta = 0;  // Σ attributions − (F(x) − F(baseline))
    double value = 0, baseline_value = 0;
};
IgResult integrated_gradients(const GradientFunction& f, const std::vector<double>& x, const std::vector<double>& baseline,
                              int steps, Quadrature q);

// Shapley values of a set function given as a batch evaluator over coalitions (bit masks, bit i = feature i
// present). Several outputs at once (e.g. one per target token): value() returns [coalition][output].
using CoalitionValues = std::function<std::vector<std::vector<double>>(const std::vector<std::uint64_t>& coalitions)>;
struct ShapleyResult {
    std::vector<std::vector<double>> phi;  // [output][feature]
    std::vector<double> full, empty;       // f(all), f(none) per output
    std::size_t evaluations = 0;
    std::string algorithm;                 // "exact", "kernel", "partition"
};
ShapleyResult shapley_exact(int n, std::size_t outputs, const CoalitionValues& value);
// KernelSHAP: sizes enumerated whole from the extremes while the budget allows, the rest sampled with paired
// (complementary) coalitions; weighted least squares with efficiency as an exact constraint.
ShapleyResult kernel_shap(int n, std::size_t outputs, const CoalitionValues& value, std::size_t budget, std::uint64_t seed);
// Owen values over a hierarchy: groups[k] lists the children of node k (a child < n is a feature; a child >= n is
// node child - n); node 0 is the root. Evaluations grow quadratically with the features of a balanced tree.
ShapleyResult partition_shap(int n, std::size_t outputs, const CoalitionValues& value, const std::vector<std::vector<int>>& groups,
                             std::size_t budget);

// --- Language-model attribution ----------------------------------------------------------------------------

struct Token {
    std::int32_t id = 0;
    std::string text;
    int start = 0, end = 0;  // code point offsets into its text
};

struct Span {  // a word or a custom span of prompt tokens [first, last)
    std::string text;
    int first = 0, last = 0;
    int start = 0, end = 0;  // code points
    double score = 0;
};

enum class Method { Saliency, GradientXInput, IntegratedGradients, Shap, Attention, Rollout };
Method method_from_name(const std::string& name);  // "grad", "grad-x-input", "ig", "shap", "attention", "rollout"
std::string to_string(Method m);

struct Options {
    Method method = Method::IntegratedGradients;
    // Integrated gradients
    int steps = 50;
    Quadrature quadrature = Quadrature::GaussLegendre;
    int internal_batch = 0;         // points per forward + backward pass; 0: as many as fit the model's memory budget
    std::int32_t baseline_token = -1;  // IG: embedding of this token at every prompt position (-1: zero embedding)
    std::string baseline_text;         // IG: embeddings of this text (same token count as the prompt)
    bool matrix = true;                // per-target-token rows (one backward pass per target token)
    // SHAP
    enum class ShapAlgorithm { Auto, Exact, Kernel, Partition } shap = ShapAlgorithm::Auto;
    bool shap_words = false;           // features are words, not tokens
    bool shap_delete = false;          // absent features are deleted, not replaced by the baseline token
    std::size_t budget = 4096;         // model evaluations
    std::uint64_t seed = 0;
    int batch_size = 0;                // SHAP: coalitions per forward pass; 0: as many as fit the memory budget
    // Attention
    int layer = -1;                    // -1: last layer
    int head = -1;                     // -1: reduce over heads
    std::string head_reduce = "mean";  // "mean" or "max"
    std::vector<std::pair<int, int>> spans;  // custom spans of prompt tokens [first, last) to aggregate to
    bool generated_target = false;     // with an empty target: explain the model's own greedy output
    // Contrastive attribution (Yin & Neubig 2022): explain F = log p(target) − log p(contrast) for this foil
    // continuation; gradient methods and SHAP. Empty: F = log p(target).
    std::string contrast;
    // Cancelled between layers of every pass (throws lmwb::Cancelled); progress in points (gradient methods),
    // coalitions (SHAP) or layers (attention).
    Control control;
};

struct Result {
    std::string method, prompt, target;
    std::vector<Token> prompt_tokens, target_tokens;
    std::vector<double> matrix;     // [target token][prompt token]; empty when not computed
    std::vector<double> scores;     // per prompt token (Captum's seq_attr)
    std::vector<Span> words, spans; // scores summed over words and over the custom spans
    // F(x) = log p(target | prompt), or with a contrast log p(target | prompt) − log p(contrast | prompt). The matrix
    // and target_token_logprobs then have a row per target token followed by a row per contrast token, negated.
    double target_logprob = 0;
    std::string contrast;
    std::vector<Token> contrast_tokens;
    std::vector<double> target_token_logprobs;
    double baseline_logprob = std::numeric_limits<double>::quiet_NaN();  // IG: F(baseline); SHAP: f(no feature)
    double delta = std::numeric_limits<double>::quiet_NaN();  // IG convergence delta, SHAP efficiency gap
    std::size_t evaluations = 0;    // forward passes over points or coalitions
    std::string details;            // settings in words, e.g. "50 steps, gausslegendre, zero baseline"
    // What makes the result doubtful, in words the CLI and the GUI show as they are (e.g. an IG delta over 5% of
    // F(x) − F(baseline): the scores do not add up to the change they explain).
    std::vector<std::string> warnings;
    // attention / rollout: the full [T][T] map over prompt + target tokens
    std::vector<Token> tokens;
    std::vector<double> attention;
    int layer = -1, head = -1;
};

// Attribution of log p(target | prompt). With options.generated_target and an empty target, the model's own greedy
// continuation (up to 16 tokens, to a newline) is explained; an empty target otherwise is an error.
Result explain(const LanguageModel& model, std::string_view prompt, std::string_view target, const Options& options);

// Attribution of generated text (inseq's use): every token of a continuation (given, or the model's greedy output
// of up to max_new_tokens) attributed to the prompt and to the continuation's tokens before it, with a gradient
// method (grad, grad-x-input, ig). IG integrates every input position from the baseline at once: by causality one
// forward pass per point serves all generated tokens, and one backward pass per token gives its row.
struct GenerationAttributionOptions {
    Method method = Method::IntegratedGradients;
    int steps = 50;
    Quadrature quadrature = Quadrature::GaussLegendre;
    int internal_batch = 0;            // points per pass; 0: as many as fit the model's memory budget
    std::int32_t baseline_token = -1;  // -1: zero embedding
    int max_new_tokens = 16;           // generating: stops earlier at the end-of-text token
    Control control;                   // progress in points
};
struct GenerationAttribution {
    std::string method, details, prompt, continuation;
    std::vector<Token> prompt_tokens, generated_tokens;
    // [generated][prompt + generated]: column i of row j is token i's share in generated token j; columns at and
    // after P + j are 0 (a token cannot see itself or what follows).
    std::vector<double> matrix;
    std::vector<double> token_logprobs;     // log p(generated j | everything before it)
    std::vector<double> baseline_logprobs;  // IG: the same with every input at the baseline
    std::vector<double> deltas;             // IG: per generated token, Σ row − (F_j(x) − F_j(baseline))
    std::size_t evaluations = 0;
    std::size_t columns() const { return prompt_tokens.size() + generated_tokens.size(); }
};
GenerationAttribution explain_generation(const LanguageModel& model, std::string_view prompt, std::string_view continuation,
                                         const GenerationAttributionOptions& options);
std::string to_json_text(const GenerationAttribution& r, int indent = 2);

// The attention probabilities of a token sequence as the engine's attn.hook_pattern readers get them: a block of
// query positions at a time, data [heads][rows][T] for positions [first, first + rows), valid during the call only,
// blocks of a layer in order. Only `layers` when given. Throwing from `visit` ends the pass (a reader that has what
// it needs stops the later layers).
using AttentionBlockVisitor = std::function<void(int layer, int heads, int first, int rows, int length, const float* data)>;
void stream_attention_blocks(const LanguageModel& model, const std::vector<std::int32_t>& ids, const AttentionBlockVisitor& visit,
                             const std::vector<int>& layers = {});
// The same assembled one layer at a time ([heads][T][T] per call): for readers that need a whole layer's map.
void stream_attentions(const LanguageModel& model, const std::vector<std::int32_t>& ids,
                       const std::function<void(int layer, int heads, int length, const float* data)>& visit,
                       const std::vector<int>& layers = {});

// Attention maps: [layer][head][T][T] reduced as asked, and rollout (Abnar & Zuidema): Â_l = (mean_h A_l + I)
// normalised by rows, R = Â_L ⋯ Â_1.
//
// With display_limit 0, head_mean and head_max at full resolution. With a display limit (the GUI), no [T][T] map
// of any layer is kept: every head of every layer, the head mean and the head max come reduced to display x display
// cells of `block` = ceil(T / display_limit) tokens each (the last may be shorter; cell i covers tokens
// [i*block, min(T, (i+1)*block)), display = ceil(T / block)). A cell holds the mean (max: the maximum) over the
// block's unmasked positions — a position is masked when every head gives it exactly 0 (causal future, outside a
// sliding window) — and NaN where all are masked; with block 1 the cells are the tokens, masked ones NaN. Rollout
// needs every layer's whole head mean: with a display limit it is computed up to kRolloutTokens only.
struct AttentionMaps {
    static constexpr int kRolloutTokens = 2048;
    std::vector<Token> tokens;
    int layers = 0, heads = 0, length = 0;
    std::vector<float> head_mean, head_max;  // [layer][T][T], display_limit 0 only
    std::vector<float> selected;             // [T][T] for (layer, head) when a head was asked for
    std::vector<double> rollout;             // [T][T], rows sum to 1; empty past kRolloutTokens with a display limit
    int display = 0, block = 1;
    std::vector<float> heads_display;              // [layer][head][display][display]
    std::vector<float> mean_display, max_display;  // [layer][display][display]
};

// One layer's attention at token resolution over the tokens [first, last] (queries and keys alike): what the GUI
// computes for the part of a long map on screen. Masked positions (every head exactly 0) are NaN. The pass stops
// after `layer`.
struct AttentionWindow {
    int layer = 0, heads = 0, length = 0, first = 0, last = -1;
    std::vector<Token> tokens;                // the whole text's
    std::vector<float> head_values;           // [head][W][W], W = last - first + 1
    std::vector<float> mean, max;             // [W][W]
    int width() const { return last - first + 1; }
};
AttentionWindow attention_window(const LanguageModel& model, std::string_view text, int layer, int first, int last,
                                 const Control& control = {});
// The logit lens (nostalgebraist 2020; TransformerLens' accumulated_resid with apply_ln): every layer's residual
// stream read through the final norm and the unembedding. Rows: 0 = the embeddings the first layer reads, l = after
// layer l - 1; the last row is the model's own output. Per (row, position): the top-k next tokens with probabilities,
// the log-probability and rank (1 = top) of the target (the next token of the text; at the last position the first
// token of `target`, if given), and KL(final || row) in nats.
struct LensCell {
    std::vector<std::int32_t> top_ids;
    std::vector<std::string> top_tokens;
    std::vector<double> top_probs;
    double target_logprob = 0;
    int target_rank = 0;  // 0: no target at this position
    double kl_to_final = 0;
};
struct LogitLens {
    std::vector<Token> tokens;
    std::vector<std::int32_t> targets;  // per position, -1 where none
    int rows = 0, length = 0;
    std::vector<LensCell> cells;  // [row][position]
    const LensCell& at(int row, int position) const { return cells[static_cast<std::size_t>(row * length + position)]; }
};
LogitLens logit_lens(const LanguageModel& model, std::string_view text, std::string_view target = {}, int top_k = 5,
                     const Control& control = {});

// Per (layer, head): the mean entropy of its attention rows (nats), its mean attention to the first token and to the
// previous token on `text`, and its induction score: on random tokens repeated twice (repeat_length each), the mean
// attention from each token of the second copy to the token after its first occurrence.
struct HeadSummary {
    int layer = 0, head = 0;
    double entropy = 0, first_token = 0, previous_token = 0, induction = 0;
    // What the CLI and the GUI flag: the induction test first, then the previous-token one.
    static constexpr double kInductionThreshold = 0.4, kPreviousTokenThreshold = 0.6;
    bool likely_induction() const { return induction > kInductionThreshold; }
    bool likely_previous_token() const { return !likely_induction() && previous_token > kPreviousTokenThreshold; }
};
struct HeadSummaries {
    int layers = 0, heads_per_layer = 0, length = 0;
    std::vector<HeadSummary> heads;  // [layer][head]
    std::vector<std::int32_t> induction_tokens;  // the seeded random half, twice: what the induction scores read
};
HeadSummaries head_summaries(const LanguageModel& model, std::string_view text, int repeat_length = 32, std::uint64_t seed = 0,
                             const Control& control = {});
std::string to_json_text(const HeadSummaries& s, int indent = 2);

AttentionMaps attention_maps(const LanguageModel& model, std::string_view text, int layer = -1, int head = -1,
                             int display_limit = 0, const Control& control = {});
std::vector<double> attention_rollout(const std::vector<std::vector<double>>& head_mean_layers, int length);
// The same, one layer at a time (layers in order; [T][T] head means), so that no layer's map is kept.
class Rollout {
public:
    explicit Rollout(int length) : length_(length) {}
    void add(const double* head_mean);
    const std::vector<double>& result() const { return r_; }

private:
    int length_;
    std::vector<double> r_;
};

// --- Sampled uncertainty -------------------------------------------------------------------------------------

struct UncertaintyOptions {
    int samples = 20;
    double temperature = 1.0, top_p = 1.0;
    int max_new_tokens = 32;
    std::vector<std::string> stop = {"\n"};
    std::uint64_t seed = 0;
    std::string clustering = "exact";  // "exact" (normalised answers equal) or "embedding" (hidden-state cosine)
    double threshold = 0.9;            // cosine threshold for "embedding"
    int alternatives = 5;
    Control control;  // progress in samples (the greedy answer counted as one)
};
struct SampleRecord {
    std::string text, normalized;
    double logprob = 0;  // log p(sample | prompt), unmodified distribution
    int cluster = 0;
};
struct AnswerMass {
    std::string answer;  // normalised
    std::size_t count = 0;
    double probability = 0;  // share of the probability mass of the distinct samples
};
struct GreedyStep {
    std::string text;
    double logprob = 0, entropy = 0;
    std::vector<std::pair<std::string, double>> alternatives;
};
struct UncertaintyResult {
    std::string prompt;
    std::vector<GreedyStep> greedy;
    std::string greedy_text;
    std::vector<SampleRecord> samples;
    std::vector<AnswerMass> answers;  // most probable first
    double predictive_entropy = 0;    // −(1/N) Σ log p(s_i)
    double self_consistency = 0;      // frequency of the most common normalised answer
    double semantic_entropy = 0;      // over clusters, from probability mass
    double discrete_semantic_entropy = 0;  // over cluster frequencies
    std::size_t clusters = 0;
    bool truncated = false;           // the prompt was cut on the left to fit the model's context
};
UncertaintyResult sample_uncertainty(const LanguageModel& model, std::string_view prompt, const UncertaintyOptions& options);
std::string normalize_answer(std::string_view text);  // lowercase, punctuation removed, whitespace collapsed

// JSON text of results (docs/interpretability.md), shared by the CLI, the GUI and reports.
std::string to_json_text(const Result& r, int indent = 2);
std::string to_json_text(const AttentionMaps& m, int indent = 2);
struct LogitLens;
std::string to_json_text(const LogitLens& lens, int indent = 2);
std::string to_json_text(const UncertaintyResult& r, int indent = 2);

}  // namespace lmwb::attr

// Causal language models on disk (Hugging Face checkpoint folders): scoring, generation and tracing.
// Plain value types only; LibTorch stays inside the engine's .cpp files.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "lmwb/control.h"
#include "lmwb/memory_estimate.h"
#include "lmwb/model_error.h"
#include "lmwb/tokenizer.h"

namespace lmwb {

// An allocation failed: std::bad_alloc, or LibTorch's allocator ("can't allocate memory" from posix_memalign on
// Linux, "not enough memory" elsewhere). Front ends then name what to change instead of repeating the allocator.
bool is_out_of_memory(const std::exception& e);

struct ModelOptions {
    int threads = 0;                // compute threads of this model's calls; 0: all cores
    std::string device = "cpu";     // "cuda" or "cuda:N" where LibTorch was built with CUDA
    // Compute dtype: "auto" (float32 on the CPU, bfloat16 on a GPU), "float32", "bfloat16", or "float16" on a GPU.
    // "auto" on the CPU keeps a 16-bit checkpoint's matrices in 16 bits (half the memory) and computes in float32
    // from them; "float32" holds a float32 copy.
    std::string dtype = "auto";
    // Prompts longer than the context: keep the last tokens (and say so in the result) or fail.
    bool truncate_left = true;
    // A path that is not a folder is a Hugging Face repository name found in the local cache at this revision
    // (lmwb/model_source.h).
    std::string revision = "main";
    // false: read the config, the tokenizer and the safetensors headers only, to describe the model (info(),
    // tokenizer()); every computation then throws ModelError. Seconds and gigabytes less for large checkpoints.
    bool load_weights = true;
    // Scoring: requests that share a context of 32+ tokens (multiple-choice items) compute it once. Off only to
    // measure it.
    bool share_prefixes = true;
    // Attention without weights asked for runs a block of query positions at a time, each block's float32 scores
    // [heads, block, keys] about this many bytes (0: 32 MiB; at least 16 positions a block), and the MLP of a long
    // input a block of positions at a time alike: memory linear in the input. Smaller only to test the blocks.
    std::size_t attention_block_bytes = 0;
    // Memory this model may use, weights and activations together (`--max-memory`); 0: what the machine has available.
    // Opening refuses weights that do not fit, every call a pass whose estimated activations do not fit what is
    // left (lmwb/memory_estimate.h), naming the numbers and what to change; attribution sizes its batches to fit.
    std::size_t max_memory = 0;
    Control control;  // opening only: cancelled between tensors, progress in bytes of weights read
};

struct ModelInfo {
    std::string path;
    std::string format;        // "huggingface"
    std::string architecture;  // config.json model_type
    std::int64_t parameters = 0;
    std::int64_t vocab_size = 0, context_length = 0, hidden_size = 0, layers = 0, heads = 0, kv_heads = 0;
    std::int64_t head_dim = 0, intermediate_size = 0;  // 0 where the network does not say (a TorchScript bundle)
    std::string stored_dtype, compute_dtype, device;
    // What the weight matrices are held as in memory: compute_dtype, or (`--dtype auto` on the CPU) a 16-bit checkpoint's
    // own bfloat16/float16, widened to float32 as each product reads it.
    std::string held_dtype;
    std::size_t weight_bytes = 0;
    std::vector<std::string> capabilities;  // "score", "generate", "attentions", "hidden_states", "embeddings", "embedding_gradients"
    std::vector<std::string> weight_files;  // what identifies the weights (reports hash them)
    std::string tokenizer_file;
    std::string tokenizer;  // its pipeline, e.g. "BPE, pre-tokenizer ByteLevel, decoder ByteLevel"
    // Opened by a Hugging Face repository name (its snapshot is `path`): that name and the revision asked for.
    std::string repository, revision;
    // What loaded but looks wrong, e.g. checkpoint tensors the configuration does not use (num_hidden_layers smaller
    // than the checkpoint's layers): shown by `lmwb info`, `lmwb eval` and the GUI's model view.
    std::vector<std::string> warnings;
    // The final norm, for readings that freeze its scale (direct logit attribution): "layernorm" (centred, with bias),
    // "rmsnorm", or empty where the network does not say (a TorchScript bundle).
    std::string final_norm;
    double norm_eps = 0;
    double final_logit_softcap = 0;  // > 0: logits = cap * tanh(raw / cap)
    int threads = 0;                 // the compute threads of its calls (ModelOptions::threads, 0 resolved)
};

struct ScoreRequest {
    std::string context;
    std::string continuation;
};

struct ScoreResult {
    double logprob = 0;                 // log p(continuation | context), natural log
    bool is_greedy = false;             // every continuation token is the argmax
    std::vector<std::int32_t> tokens;   // continuation token ids
    std::vector<float> token_logprobs;
    bool truncated = false;             // the context was cut on the left to fit the model
};

struct RollingResult {
    double logprob = 0;                 // sum over all tokens of the text
    std::size_t tokens = 0;
    std::vector<float> token_logprobs;  // one per token (the first conditioned on BOS / end-of-text)
};

struct GenerationOptions {
    int max_new_tokens = 64;
    double temperature = 0.0;  // 0: greedy
    int top_k = 0;             // 0: off
    double top_p = 1.0;
    double repetition_penalty = 1.0;
    std::vector<std::string> stop;  // generation ends before the first stop string
    std::uint64_t seed = 0;
    int alternatives = 5;           // top-k alternatives reported per step
    bool use_cache = true;          // KV cache (off only to measure it)
    // Hooks called as each pass computes their points, over the positions that pass adds (first_position: the first
    // of them; the prompt's in the first pass, then one token a step): writing ones steer the generation (an SAE
    // feature's decoder direction added at a hook point). Not for a TorchScript bundle.
    std::vector<struct Hook> hooks;
};

struct TokenAlternative {
    std::int32_t id = 0;
    std::string text;
    float logprob = 0;
};

struct GeneratedToken {
    std::int32_t id = 0;
    std::string text;      // decoded piece
    float logprob = 0;     // under the unmodified distribution (temperature 1, no filtering)
    float entropy = 0;     // of that distribution, nats
    std::vector<TokenAlternative> top;
    double seconds = 0;    // since generation started, when this token was chosen
};

struct GenerationResult {
    std::vector<std::int32_t> prompt_tokens;
    std::string text;                    // decoded continuation, cut before a stop string
    std::vector<GeneratedToken> tokens;
    std::string stop_reason;             // "max_new_tokens", "eos", "stop"
    bool truncated = false;
};

struct TraceOptions {
    bool attentions = true;
    bool hidden_states = true;
    std::vector<int> layers;  // empty: every layer
};

// What the model computes for one text, for inspection.
struct Trace {
    std::vector<std::int32_t> ids;
    std::vector<std::string> tokens;
    std::vector<TokenSpan> offsets;      // code point offsets into the text
    int length = 0, heads = 0, hidden = 0;
    std::vector<int> layers;             // the layers traced
    std::vector<float> attentions;       // [layer][head][query][key], for the traced layers
    // [layer + 1][position][hidden]: the first layer's input, each layer's output, the last after the final norm
    std::vector<float> hidden_states;
};

// One point of a path through embedding space (integrated gradients): the value of log p(target | prompt) with the
// prompt's token embeddings replaced, and its gradient with respect to them.
struct EmbeddingPoint {
    double logprob = 0;
    std::vector<float> gradient;  // [prompt tokens][hidden]
    // With per-token gradients: log p of each target token and the gradient of each, [target][prompt][hidden]
    // (their sums are logprob and gradient).
    std::vector<double> token_logprobs;
    std::vector<float> token_gradients;
};

// A scoring request in token ids (attribution's perturbed prompts). An empty context means the prefix token.
struct TokenScoreRequest {
    std::vector<std::int32_t> context, continuation;
};

// Named hook points, TransformerLens's names: blocks.{l}.hook_resid_pre (the residual stream entering layer l; for
// layer 0 the token and position embeddings), blocks.{l}.hook_attn_out and hook_mlp_out (what the layer's attention
// and MLP branches add to the residual stream, after any norm applied to their outputs), blocks.{l}.hook_resid_post
// (the stream after the layer), blocks.{l}.attn.hook_z (each head's output before the output projection) and
// blocks.{l}.attn.hook_pattern (the attention probabilities).
enum class HookKind { ResidPre, AttnOut, MlpOut, ResidPost, Z, Pattern };
struct HookPoint {
    int layer = 0;
    HookKind kind = HookKind::ResidPost;
    std::string name() const;
    // "blocks.3.hook_resid_post", …; throws std::invalid_argument naming the forms it knows.
    static HookPoint parse(std::string_view name);
    friend bool operator==(const HookPoint& a, const HookPoint& b) { return a.layer == b.layer && a.kind == b.kind; }
    friend bool operator<(const HookPoint& a, const HookPoint& b) {
        return a.layer != b.layer ? a.layer < b.layer : static_cast<int>(a.kind) < static_cast<int>(b.kind);
    }
};

// A hook point's value as a pass computes it, for one pass: float32, row-major, valid during the call only.
// shape: [positions][hidden]; hook_z [positions][heads][head_dim]; hook_pattern [heads][positions][keys]. The
// positions are first_position, first_position + 1, … of the sequence. A writing hook's changes to data replace it.
// hook_pattern where no hook of the pass writes it arrives a block of query positions at a time (several calls per
// layer, first_position rising), so that no [heads, T, T] matrix is ever held; writing hooks get the whole matrix.
struct HookValue {
    HookPoint point;
    int first_position = 0;
    std::vector<std::int64_t> shape;
    float* data = nullptr;
};
struct Hook {
    HookPoint point;
    std::function<void(HookValue&)> call;
    bool writes = false;
    int from = 0;  // the first position the hook reads or changes: a pass computes nothing before it anew
};

// A term of a metric read from one pass: weight × the log-probability (or the logit) of `token` at `position` (the
// distribution for the next token after it).
struct MetricTerm {
    int position = 0;
    std::int32_t token = 0;
    double weight = 1;
    bool logit = false;
};
// A hook point's values in one pass, every position (shape as HookValue's), and the metric's gradient with respect to
// them: the total derivative through everything after the point.
struct HookGradient {
    HookPoint point;
    std::vector<std::int64_t> shape;
    std::vector<float> value, gradient;
};
struct HookGradients {
    double metric = 0;
    std::vector<HookGradient> points;  // in the order asked
};

// Logits and log-probabilities of chosen tokens at chosen positions of a (patched) run.
struct TokenReadout {
    std::vector<std::pair<int, std::int32_t>> at;  // (position, token) pairs, in the order asked
    std::vector<float> logits, log_probs;          // one per pair
};

// Threads: every const method may run on several threads at once on one model (the GUI runs an evaluation and
// inspector jobs together); each call holds its own activations, KV cache and gradients, and gives what it gives
// alone (tests/model_test.cpp, "[threads]"). A cancel scope is per thread (control.h). The compute thread count is
// the model's (ModelOptions::threads): each call computes with its own model's count, whatever other models were
// opened with. OpenBLAS has one count for the process: a call sets it as it starts where it differs, so while two
// models with different counts compute at the same moment the later call's count holds for OpenBLAS's products;
// two calls at once share the pools (the few-row pool serves one at a time, the other computes on its own thread).
class LanguageModel {
public:
    // A Hugging Face checkpoint folder (config.json, model.safetensors or sharded, tokenizer.json), or a repository
    // name ("org/name") in the local Hugging Face cache; info().path is then the snapshot folder.
    static std::unique_ptr<LanguageModel> open(const std::string& path, const ModelOptions& options = {});
    virtual ~LanguageModel() = default;

    virtual const ModelInfo& info() const = 0;
    virtual const Tokenizer& tokenizer() const = 0;
    // Bytes a call may use for its activations now: ModelOptions::max_memory less the weights, or what the machine has
    // available and the heap holds free, less the weights mapped from the file (the kernel counts their pages as
    // reclaimable) and a margin.
    virtual std::size_t activation_budget() const = 0;
    // Refuses (ModelError) a pass whose estimated activations (lmwb/memory_estimate.h) exceed activation_budget():
    // "`what` needs about X beyond the weights; Y is available: `advice`". Every call checks its own pass; a long run
    // checks its largest before it starts.
    virtual void check_memory(const PassShape& pass, const std::string& what, const std::string& advice) const = 0;

    // lm-evaluation-harness conventions: context and continuation tokenized together; trailing spaces of the
    // context move to the continuation; an empty context is replaced by the BOS / end-of-text token.
    virtual std::vector<ScoreResult> score(const std::vector<ScoreRequest>& requests, int batch_size = 8) const = 0;
    // The same on token ids, context truncated on the left as for text requests.
    virtual std::vector<ScoreResult> score_tokens(const std::vector<TokenScoreRequest>& requests, int batch_size = 8) const = 0;
    // Log-likelihood of a whole text, in windows of the context length when it is longer.
    virtual RollingResult rolling_loglikelihood(std::string_view text) const = 0;
    virtual GenerationResult generate(std::string_view prompt, const GenerationOptions& options) const = 0;
    // Several prompts decoded together (left-padded, one KV cache row each, rows finishing independently): greedy
    // outputs as one at a time, sampled ones unchanged by batching (each row draws from its own seed).
    virtual std::vector<GenerationResult> generate_batch(const std::vector<std::string>& prompts,
                                                         const std::vector<GenerationOptions>& options) const = 0;
    virtual Trace trace(std::string_view text, const TraceOptions& options) const = 0;
    // Mean over positions of the last hidden state (after the final norm), [hidden]: a text embedding for
    // similarity. Special tokens as the tokenizer adds them; longer texts keep their last context-length tokens.
    virtual std::vector<float> pooled_hidden_state(std::string_view text) const = 0;
    // Logits [T][V], row-major, for a token sequence (no special tokens added).
    virtual std::vector<float> logits(const std::vector<std::int32_t>& ids) const = 0;
    // Input token embeddings [T][hidden] (without position embeddings), the space attributions work in.
    virtual std::vector<float> embeddings(const std::vector<std::int32_t>& ids) const = 0;
    // For each of `points` ([P][hidden] each, P = prompt_ids.size()): log p(target_ids | prompt) with the prompt's
    // embeddings replaced by the point (targets and positions unchanged), and its gradient. Autograd, batched. Only the
    // first `gradient_points` points need their gradients; the rest (an IG's ends) give log-probabilities and empty
    // gradients, and theirs may be non-finite without an error (at a zero baseline every norm reads a zero residual,
    // whose gradient overflows float32 in deep models). ModelError for a non-finite gradient that is needed.
    static constexpr std::size_t kAllPoints = static_cast<std::size_t>(-1);
    virtual std::vector<EmbeddingPoint> target_logprob_gradients(const std::vector<std::int32_t>& prompt_ids,
                                                                 const std::vector<std::int32_t>& target_ids,
                                                                 const std::vector<std::vector<float>>& points,
                                                                 bool per_token_gradients = false,
                                                                 std::size_t gradient_points = kAllPoints) const = 0;
    // The same for a continuation, with every input position free: points are [P + N - 1][hidden] (the prompt and the
    // continuation but its last token), gradients [P + N - 1][hidden] and per token [N][P + N - 1][hidden] (a token's
    // gradient is zero at and after its own position). Attribution of generated text.
    virtual std::vector<EmbeddingPoint> continuation_logprob_gradients(const std::vector<std::int32_t>& prompt_ids,
                                                                       const std::vector<std::int32_t>& continuation_ids,
                                                                       const std::vector<std::vector<float>>& points,
                                                                       bool per_token_gradients = true,
                                                                       std::size_t gradient_points = kAllPoints) const = 0;
    // --- Hooks and weights: activation patching, direct logit attribution, the logit lens, attention (attribution/) ---
    // One pass over ids per entry of `passes` (its token embeddings replaced by `input` [T][hidden] when given), each
    // calling its hooks as the pass computes their points; returns each pass's readout of `at`. The passes share one
    // pass without hooks: a pass starts at the layer of its first hook point (hook_resid_post of layer l: at l + 1) and
    // at the earliest `from` of its hooks and of `at` — before that every value is what the pass without hooks
    // computed — and passes that start at the same place run together, batch_size at a time. Cancelled between
    // layers; progress in passes. A TorchScript bundle runs passes whose hooks only read hook_pattern.
    virtual std::vector<TokenReadout> run_hooked(const std::vector<std::int32_t>& ids, const std::vector<float>* input,
                                                 const std::vector<std::vector<Hook>>& passes,
                                                 const std::vector<std::pair<int, std::int32_t>>& at, int batch_size = 8,
                                                 const Control& control = {}) const = 0;
    // One pass over ids (its token embeddings replaced by `input` [T][hidden] when given) with gradients: the metric
    // Σ terms, the values at `points` after the pass's `writes` (hooks that may change the values; a changed value is a
    // new input, with no gradient before it) and the metric's gradient with respect to each. Attribution patching and
    // sparse-autoencoder feature attribution read them. Cancelled between layers, forward and backward. ModelError for
    // a TorchScript bundle.
    virtual HookGradients hook_gradients(const std::vector<std::int32_t>& ids, const std::vector<float>* input, const std::vector<HookPoint>& points,
                                         const std::vector<Hook>& writes, const std::vector<MetricTerm>& metric,
                                         const Control& control = {}) const = 0;
    // The model's head on residual-stream states [rows][hidden]: final norm, unembedding and any final soft-cap, as
    // logits [rows][vocab] (a hook_resid_post of the last layer gives the model's own logits).
    virtual std::vector<float> unembed_residual(const std::vector<float>& residual, int rows) const = 0;
    // Read-only weight views, float32, TransformerLens's names: "unembed.W_U" the unembedding's columns for the token
    // ids `rows`, as [ids][hidden] (a token's logit is its row's dot product with the final normed state, before any
    // soft-cap); "blocks.{l}.attn.W_O" the output projection per head [heads][head_dim][hidden] (refused where a norm
    // follows the projection: heads do not add up to the attention output there); "ln_final.w" the final norm's
    // effective scale [hidden] (Gemma's 1 + w), "ln_final.b" its bias (zeros where it has none). ModelError for any other
    // name, and for a network whose layers we do not run (a TorchScript bundle).
    virtual std::vector<float> weights(const std::string& name, const std::vector<std::int32_t>& rows = {}) const = 0;
};

// The compute threads in force on the calling thread now: OpenBLAS's process-wide count and the few-row kernels' share
// of this thread (inside a model's call: that model's count). Diagnostics and tests.
struct ComputeThreads {
    int blas = 0, few_rows = 0;
};
ComputeThreads compute_threads_now();

// Measured speed of an n x n float32 matrix product on this machine (GFLOP/s, median of a few runs), the
// yardstick benchmarks quote model throughput against. Sets the process-wide thread count of both pools.
double matmul_gflops(int n = 1024, int threads = 0);

}  // namespace lmwb

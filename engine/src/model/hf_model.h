// LanguageModel on a Hugging Face checkpoint folder or a TorchScript bundle: tokenization conventions, batching and
// decoding around a Network. One class, its members in one file per concern: loading (model_loading.cpp), scoring
// (scoring.cpp), gradients (gradients.cpp), generation (generation.cpp), tracing and hooks (inspection.cpp).
// Internal to the engine, and torch-free like transformer.h: the .cpp files that implement it include torch.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lmwb/memory_estimate.h"
#include "lmwb/model.h"
#include "safetensors.h"
#include "transformer.h"

namespace c10 {
struct Device;
}

namespace lmwb {

// Between batches and decode steps; networks that check per layer (ours) also stop inside a pass.
void check_cancelled();
at::Tensor long_tensor(const std::vector<std::int64_t>& v);
void check_finite(const at::Tensor& logits, const std::string& what);
void check_finite_gradients(const at::Tensor& g);

class HfModel : public LanguageModel {
public:
    HfModel(const std::string& path, const ModelOptions& options);
    ~HfModel() override;

    void name_source(const std::string& repository, const std::string& revision) {
        info_.repository = repository;
        info_.revision = revision;
    }
    const ModelInfo& info() const override { return info_; }
    const Tokenizer& tokenizer() const override;
    std::size_t activation_budget() const override;
    // A pass of `rows` sequences of `tokens` positions (lmwb/memory_estimate.h).
    static PassShape pass_of(std::int64_t rows, std::int64_t tokens) {
        PassShape p;
        p.rows = rows;
        p.tokens = tokens;
        return p;
    }
    void check_memory(const PassShape& pass, const std::string& what, const std::string& advice) const override;

    // Scoring (scoring.cpp)
    std::vector<ScoreResult> score(const std::vector<ScoreRequest>& requests, int batch_size) const override;
    std::vector<ScoreResult> score_tokens(const std::vector<TokenScoreRequest>& requests, int batch_size) const override;
    RollingResult rolling_loglikelihood(std::string_view text) const override;
    std::vector<float> logits(const std::vector<std::int32_t>& ids32) const override;
    std::vector<float> embeddings(const std::vector<std::int32_t>& ids32) const override;

    // Gradients (gradients.cpp)
    std::vector<EmbeddingPoint> target_logprob_gradients(const std::vector<std::int32_t>& prompt_ids, const std::vector<std::int32_t>& target_ids,
                                                         const std::vector<std::vector<float>>& points, bool per_token,
                                                         std::size_t gradient_points) const override;
    std::vector<EmbeddingPoint> continuation_logprob_gradients(const std::vector<std::int32_t>& prompt_ids,
                                                               const std::vector<std::int32_t>& continuation_ids,
                                                               const std::vector<std::vector<float>>& points, bool per_token,
                                                               std::size_t gradient_points) const override;

    // Generation (generation.cpp)
    GenerationResult generate(std::string_view prompt, const GenerationOptions& opt) const override;
    std::vector<GenerationResult> generate_batch(const std::vector<std::string>& prompts,
                                                 const std::vector<GenerationOptions>& options) const override;

    // Tracing and hooks (inspection.cpp)
    Trace trace(std::string_view text, const TraceOptions& opt) const override;
    std::vector<float> pooled_hidden_state(std::string_view text) const override;
    std::vector<TokenReadout> run_hooked(const std::vector<std::int32_t>& ids, const std::vector<float>* input,
                                         const std::vector<std::vector<Hook>>& passes, const std::vector<std::pair<int, std::int32_t>>& at,
                                         int batch_size, const Control& control) const override;
    std::vector<float> unembed_residual(const std::vector<float>& residual, int rows) const override;
    HookGradients hook_gradients(const std::vector<std::int32_t>& ids, const std::vector<float>* input, const std::vector<HookPoint>& points,
                                 const std::vector<Hook>& writes,
                                 const std::vector<MetricTerm>& metric, const Control& control) const override;
    std::vector<float> weights(const std::string& name, const std::vector<std::int32_t>& rows) const override;

    const c10::Device& device() const { return *device_; }
    // Token ids as a [rows, -1] tensor on the model's device, checked against the embedding table.
    at::Tensor ids_tensor(const std::vector<std::int64_t>& ids, std::int64_t rows) const;
    const Network& net() const {
        if (!model_) throw ModelError(info_.path + ": opened without its weights, to describe it only; open it again to compute");
        return *model_;
    }

    struct Row;  // one row of a generation (generation.cpp)

private:
    void refuse_weights_beyond_memory(const std::string& where, const ModelOptions& options) const;
    void open_hf_folder(const std::filesystem::path& dir, const ModelOptions& options);
    void open_bundle(const std::filesystem::path& dir, const ModelOptions& options);

    struct Prepared {
        std::vector<std::int64_t> input;  // what the model reads
        std::vector<std::int32_t> cont;   // continuation tokens, scored at the last cont.size() positions
        bool truncated = false;
    };
    // Context + continuation tokens into what the model reads, truncated on the left to the context.
    Prepared prepare(std::size_t i, std::vector<std::int32_t> ctx, std::vector<std::int32_t> whole) const;
    // Requests whose inputs share everything before their first scored position (the choices of a multiple-choice
    // item) and whose shared part is long enough to be worth it: the prefix runs once into a KV cache, then only the
    // continuations run, against copies of that cache. Log-likelihoods equal the full path's to float rounding.
    static constexpr std::size_t kSharedPrefixMin = 32;  // tokens; shorter prefixes cost less than the extra passes
    std::vector<std::vector<std::size_t>> shared_prefix_groups(const std::vector<Prepared>& prep, std::vector<bool>& grouped) const;
    void score_shared_prefix(const std::vector<Prepared>& prep, const std::vector<std::size_t>& members, std::vector<ScoreResult>& results) const;
    // Log-probabilities of the targets at the picked states, back into each request's result (members in row order).
    void collect(const std::vector<Prepared>& prep, const std::vector<std::size_t>& members, const at::Tensor& picked,
                 const std::vector<std::int64_t>& targets, std::vector<ScoreResult>& results) const;
    std::vector<ScoreResult> score_prepared(const std::vector<Prepared>& prep, int batch_size) const;
    // log p(target | prompt) with the first `free` input embeddings replaced by each point, and gradients with respect
    // to them: the prompt's (free = P), or every input position's (free = P + Tt - 1).
    std::vector<EmbeddingPoint> logprob_gradients(const std::vector<std::int32_t>& prompt_ids, const std::vector<std::int32_t>& target_ids,
                                                  const std::vector<std::vector<float>>& points, bool per_token, std::int64_t free,
                                                  std::size_t gradient_points) const;
    Row start_row(std::string_view prompt, const GenerationOptions& opt) const;
    // ids for a pass over every layer, checked: not empty, within the context.
    at::Tensor sequence_ids(const std::vector<std::int32_t>& ids32, const char* what) const;

    ModelOptions options_;
    int threads_ = 1;  // compute threads of this model's calls
    std::unique_ptr<c10::Device> device_;  // set as the network is opened (validated by it)
    std::unique_ptr<WeightStore> weights_;
    // Built as the model opens; opened to describe only, on first use (info() has its description without it).
    mutable std::unique_ptr<Tokenizer> tokenizer_;
    mutable std::once_flag tokenizer_built_;
    std::unique_ptr<Network> model_;  // null when opened to describe only (ModelOptions::load_weights false)
    bool kv_cache_ = false;           // the network keeps a KV cache (shared prefixes, batched decoding)
    // LongRoPE picks its factors by the length of what one call sees: sequences longer than this run whole, so that a
    // shared prefix does not take the short factors where the full sequence takes the long ones. 0: no such switch.
    std::int64_t length_switched_rope_ = 0;
    std::vector<std::int64_t> eos_;
    std::int64_t prefix_ = 0;
    std::size_t held_bytes_ = 0;    // the weights in memory as held
    bool weights_mapped_ = false;   // held as the file's pages (16-bit kept): counted by the kernel as available
    ModelInfo info_;
};

}  // namespace lmwb

// The decoder-only transformers we run (the families in architectures.cpp), on LibTorch. Only .cpp files that
// include torch call these methods; this header forward-declares the tensor type so it stays torch-free.
#pragma once

#include <functional>
#include <memory>

#include "config.h"
#include "lmwb/model.h"
#include "safetensors.h"

namespace at {
class Tensor;
}

namespace lmwb {

struct KVCache;
std::int64_t cache_length(const KVCache& cache);  // positions held so far
struct KVCacheDeleter {
    void operator()(KVCache* cache) const;
};
using KVCachePtr = std::unique_ptr<KVCache, KVCacheDeleter>;
// `rows` copies of row 0 of `cache` (its positions so far), in a cache of `capacity` positions: one computed prefix
// shared by several continuations.
KVCachePtr repeat_cache(const KVCache& cache, std::int64_t rows, std::int64_t capacity);

// The hook points of a pass (lmwb/model.h), at the tensor level: `wants` says which points to stop at; `call` reads
// value ([B, T, D]; hook_z [B, T, heads, head_dim]; hook_pattern [B, heads, T, S]) and may assign a replacement.
struct TensorHooks {
    std::function<bool(const HookPoint&)> wants;
    std::function<void(const HookPoint&, at::Tensor& value)> call;
    // Set: hook_pattern is read only and arrives a block of query positions at a time, block [B, heads, rows, S] for
    // the pass's positions first_row, first_row + 1, … (several calls per layer, in order), and the layer runs the
    // blocked attention: no [heads, T, S] matrix exists. Unset: `call` gets the whole matrix and may replace it.
    std::function<void(int layer, std::int64_t first_row, const at::Tensor& block)> pattern_block;
};

// The compute dtype ModelOptions::dtype names: "auto" is float32 on the CPU (16-bit matrices held as stored) and
// bfloat16 on a GPU; float16 only on
// a GPU (LibTorch 1.13's CPU kernels lack most half-precision ops). Throws ModelError for anything else.
std::string compute_dtype(const ModelOptions& options);

// What a language model computes, whatever runs it: our transformers, or a TorchScript bundle.
class Network {
public:
    virtual ~Network() = default;
    virtual std::int64_t parameter_count() const = 0;
    // Token embeddings [B, T, D] (without GPT-2's position embeddings, which forward adds).
    virtual at::Tensor embed(const at::Tensor& ids) const = 0;
    // States [B, T, X] that logits() turns into logits. key_mask [B, S] marks real tokens (1) among all
    // S = cached + T positions; positions [B, T] are absolute. With a cache, keys and values are appended to it.
    // Hooks only where runs_hooks().
    virtual at::Tensor forward(const at::Tensor& embeddings, const at::Tensor& key_mask, const at::Tensor& positions,
                               KVCache* cache, const TensorHooks* hooks = nullptr) const = 0;
    virtual at::Tensor forward_ids(const at::Tensor& ids, const at::Tensor& key_mask, const at::Tensor& positions,
                                   KVCache* cache) const;
    // States [N, X] at the flat positions rows (indices into B * T) only: what scoring reads.
    virtual at::Tensor forward_ids_rows(const at::Tensor& ids, const at::Tensor& key_mask, const at::Tensor& positions,
                                        const at::Tensor& rows) const;
    // What the first layer reads: the embeddings plus, for GPT-2, the position embeddings [B, T, D].
    virtual at::Tensor input_states(const at::Tensor& embeddings, const at::Tensor& positions) const = 0;
    // Logits [.., V] for states [.., X]: only the positions someone asked for.
    virtual at::Tensor logits(const at::Tensor& states) const = 0;
    // The final norm of residual states [.., D] in any dtype (what forward applies after the last layer), in the
    // compute dtype: the model's head on any layer's residual stream (LanguageModel::unembed_residual).
    virtual at::Tensor final_norm(const at::Tensor& residual) const;
    // Empty when the network keeps no cache (each step then recomputes the sequence).
    virtual KVCachePtr new_cache(std::int64_t batch, std::int64_t capacity) const = 0;
    // Networks that cannot call hooks give the whole trace at once instead:
    // attention probabilities [layers, B, heads, T, T] and hidden states [layers + 1, B, T, D].
    virtual bool runs_hooks() const { return true; }
    virtual at::Tensor traced_attentions(const at::Tensor& ids, const at::Tensor& key_mask) const;
    virtual at::Tensor traced_hidden_states(const at::Tensor& ids, const at::Tensor& key_mask) const;

    // Networks whose layers we run (the defaults throw ModelError). A pass from layer first_layer, reading the
    // residual stream [B, T, D] that enters it (for layer 0: input_states()) after calling the hooks of
    // hook_resid_post of first_layer - 1 on it; returns the final normed states. With a cache, residual holds the
    // positions after the cached ones (as forward with a cache).
    virtual at::Tensor forward_from(const at::Tensor& residual, int first_layer, const at::Tensor& key_mask,
                                    const at::Tensor& positions, const TensorHooks* hooks, KVCache* cache = nullptr) const;
    // A weight view of LanguageModel::weights (float32 on the network's device).
    virtual at::Tensor weights(const std::string& name, const at::Tensor& rows) const;
};

class Transformer : public Network {
public:
    Transformer(const ArchConfig& config, const WeightStore& weights, const ModelOptions& options);
    ~Transformer() override;

    std::int64_t parameter_count() const override;
    at::Tensor embed(const at::Tensor& ids) const override;
    at::Tensor forward(const at::Tensor& embeddings, const at::Tensor& key_mask, const at::Tensor& positions,
                       KVCache* cache, const TensorHooks* hooks = nullptr) const override;
    // The last layer's attention output projection and MLP run at the requested rows only.
    at::Tensor forward_ids_rows(const at::Tensor& ids, const at::Tensor& key_mask, const at::Tensor& positions,
                                const at::Tensor& rows) const override;
    at::Tensor input_states(const at::Tensor& embeddings, const at::Tensor& positions) const override;
    at::Tensor logits(const at::Tensor& hidden) const override;
    at::Tensor final_norm(const at::Tensor& residual) const override;
    KVCachePtr new_cache(std::int64_t batch, std::int64_t capacity) const override;
    at::Tensor forward_from(const at::Tensor& residual, int first_layer, const at::Tensor& key_mask,
                            const at::Tensor& positions, const TensorHooks* hooks, KVCache* cache = nullptr) const override;
    at::Tensor weights(const std::string& name, const at::Tensor& rows) const override;
    // The final norm's kind ("layernorm", "rmsnorm"), epsilon and the final logit soft-cap, for ModelInfo.
    std::string final_norm_kind() const;
    // Checkpoint tensors the configuration left unread (beyond buffers exporters are known to save).
    const std::vector<std::string>& unused_tensors() const;
    // What the weight matrices are held as: the compute dtype, or the checkpoint's 16-bit dtype widened as it is read.
    const std::string& held_dtype() const;

private:
    // One pass: `input` is token embeddings, or the residual stream entering first_layer when from_residual.
    struct Pass {
        const at::Tensor* input = nullptr;
        bool from_residual = false;
        int first_layer = 0;
        const at::Tensor* key_mask = nullptr;
        const at::Tensor* positions = nullptr;
        KVCache* cache = nullptr;
        const TensorHooks* hooks = nullptr;
        const at::Tensor* rows = nullptr;  // finish the last layer at these flat rows only (scoring)
        at::Tensor* consumed = nullptr;    // the input again, the pass's own: let go once read (a long input's copy)
    };
    at::Tensor run(const Pass& pass) const;
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::vector<std::string> unused_;
    std::string held_dtype_;
};

// A TorchScript bundle (docs/model-contract.md): model.pt with forward(input_ids, attention_mask) -> logits and
// optional embed / forward_embeddings methods. Throws ModelError naming a missing method or an unknown operator.
struct BundleManifest {
    std::int64_t vocab_size = 0, context_length = 0;
    int logits_output = 0;             // index into a tuple output
    std::string logits_key;            // or key into a dict output
};
std::unique_ptr<Network> load_torchscript(const std::string& model_pt, const BundleManifest& manifest,
                                          const ModelOptions& options, std::vector<std::string>& capabilities);

}  // namespace lmwb

// The decoder-only transformers we run (GPT-2; Llama, Mistral, Qwen2), on LibTorch. Only .cpp files that
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

// Called after each layer with its attention probabilities [B, heads, T, S] and output hidden states [B, T, D].
using LayerObserver = std::function<void(int layer, const at::Tensor& attention, const at::Tensor& hidden)>;

class Transformer {
public:
    Transformer(const ArchConfig& config, const WeightStore& weights, const ModelOptions& options);
    ~Transformer();

    std::int64_t parameter_count() const;

    // Token embeddings [B, T, D] (without GPT-2's position embeddings, which forward adds).
    at::Tensor embed(const at::Tensor& ids) const;
    // Final (normalized) hidden states [B, T, D]. key_mask [B, S] marks real tokens (1) among all S = cached + T
    // positions; positions [B, T] are absolute. With a cache, keys and values are appended to it.
    at::Tensor forward(const at::Tensor& embeddings, const at::Tensor& key_mask, const at::Tensor& positions,
                       KVCache* cache, const LayerObserver* observer = nullptr) const;
    // What the first layer reads: the embeddings plus, for GPT-2, the position embeddings [B, T, D].
    at::Tensor input_states(const at::Tensor& embeddings, const at::Tensor& positions) const;
    // Logits [.., V] for hidden states [.., D]: only the positions someone asked for.
    at::Tensor logits(const at::Tensor& hidden) const;

    KVCachePtr new_cache(std::int64_t batch, std::int64_t capacity) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lmwb

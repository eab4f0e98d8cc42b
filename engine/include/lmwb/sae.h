// Sparse autoencoders over a model's hook points, as SAELens defines and stores them: a folder of cfg.json and
// sae_weights.safetensors (W_enc [d_in, d_sae], b_enc, W_dec [d_sae, d_in], b_dec, threshold), or Gemma Scope's
// params.npz. Encoding and decoding follow SAELens's inference classes (docs/interpretability.md, "Sparse
// autoencoders"); the arithmetic runs in float32 with LibTorch, behind plain value types.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "lmwb/model.h"

namespace lmwb {

// An unreadable or inconsistent SAE, or one that does not fit the model: what() names the file, key or tensor.
class SaeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct SaeConfig {
    std::string path;       // the folder or params.npz it came from
    std::string hook_name;  // TransformerLens's name, e.g. "blocks.8.hook_resid_post"
    HookPoint point;
    int hook_head_index = -1;  // attn.hook_z of one head only (d_in = head_dim); -1: every head
    std::string architecture = "standard";  // "standard", "jumprelu", "topk"
    std::int64_t d_in = 0, d_sae = 0;
    int k = 0;  // topk
    bool apply_b_dec_to_input = true;
    bool rescale_acts_by_decoder_norm = false;  // topk
    // "none", "constant_norm_rescale" (x · sqrt(d_in) / ‖x‖ in, undone out), "layer_norm" (standardised in, undone
    // out); "expected_average_only_in" reads as "none", as SAELens reads it from a folder (its factor is folded into
    // the weights by the code that saves them).
    std::string normalize_activations = "none";
    std::string dtype = "float32";  // of the stored weights; the arithmetic is float32
};

// Features and reconstruction of n activation rows.
struct SaeCode {
    std::vector<float> features;        // [n][d_sae]
    std::vector<float> reconstruction;  // [n][d_in]
};

class SparseAutoencoder {
public:
    // A SAELens folder, or a params.npz (Gemma Scope: JumpReLU, b_dec not subtracted from the input, no
    // normalisation) whose hook is `hook_name`, or read from a cfg.json beside it. `hook_name` given for a folder must
    // equal its cfg.json's. SaeError names the file and key at fault.
    static std::unique_ptr<SparseAutoencoder> load(const std::string& path, const std::string& hook_name = {});
    ~SparseAutoencoder();

    const SaeConfig& config() const;
    // SaeError unless its hook point exists in the model and d_in is that point's width: the hidden size, or
    // heads x head_dim for attn.hook_z (head_dim with a head index).
    void check_fits(const ModelInfo& info) const;

    // Rows of activations [n][d_in] (attn.hook_z: heads major) through the encoder and decoder, as SAELens's forward.
    SaeCode run(const std::vector<float>& x, std::int64_t n) const;
    // The decoder on features [n][d_sae]; `x`, the rows they were encoded from, gives the normalisation to undo
    // (ignored without one).
    std::vector<float> decode(const std::vector<float>& features, const std::vector<float>& x, std::int64_t n) const;
    // Decoder directions W_dec[feature] [d_in], in the activation's space (the normalisation's scale not undone).
    std::vector<float> decoder_rows(const std::vector<int>& features) const;
    std::vector<float> decoder_bias() const;  // b_dec [d_in]

private:
    struct Impl;
    explicit SparseAutoencoder(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace lmwb

// Architecture settings read from a Hugging Face config.json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lmwb {

struct RopeScaling {
    std::string type;  // "", "linear", "llama3"
    double factor = 1.0, low_freq_factor = 1.0, high_freq_factor = 4.0;
    std::int64_t original_max_position_embeddings = 8192;
};

struct ArchConfig {
    std::string model_type;  // gpt2, llama, mistral, qwen2
    bool gpt2_style = false; // learned positions, LayerNorm, GELU MLP, fused QKV
    std::int64_t vocab_size = 0, hidden_size = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0;
    std::int64_t intermediate_size = 0, max_positions = 0;
    double norm_eps = 1e-5, rope_theta = 10000.0;
    RopeScaling rope_scaling;
    bool tie_word_embeddings = false;
    bool qkv_bias = false;   // qwen2, or llama attention_bias
    bool qk_norm = false;    // qwen3: RMSNorm of each head's query and key (weights [head_dim]) before RoPE
    bool o_bias = false;     // llama attention_bias
    bool mlp_bias = false;   // llama mlp_bias
    std::int64_t sliding_window = 0;  // mistral: keys further back than this are masked (0: none)
    std::string activation;  // gelu_new, silu
    std::vector<std::int64_t> bos_token_ids, eos_token_ids;
    std::string torch_dtype;
};

// Throws ModelError naming config.json and the field.
ArchConfig read_config(const std::string& config_json_path);

}  // namespace lmwb

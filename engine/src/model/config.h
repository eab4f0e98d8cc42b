// How a checkpoint is laid out and computed. One Architecture per model_type (the table in architectures.cpp) says
// what the family fixes: tensor names, norm kind, fused projections, residual layout. ArchConfig adds what a
// config.json sets for one checkpoint: sizes, biases, positions, soft-caps, windows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lmwb {

enum class NormKind {
    LayerNorm,          // with bias (GPT-2, GPT-NeoX)
    RMSNorm,            // w · (x / rms(x)) in the input dtype (Llama)
    RMSNormFloatWeight, // (w · x / rms(x)) in float32, then cast (OLMo 2)
    RMSNormUnitOffset,  // (1 + w) · x / rms(x) in float32, then cast (Gemma)
};
enum class QkvLayout {
    Separate,      // q_proj, k_proj, v_proj
    FusedRows,     // one projection, outputs [q (H·hd); k (KV·hd); v (KV·hd)] (GPT-2's c_attn, Phi-3's qkv_proj)
    FusedPerHead,  // one projection, outputs [H, 3, hd]: each head's q, k, v together (GPT-NeoX)
};
enum class QkNorm { None, PerHead, Whole };  // RMSNorm of queries and keys: each head's [hd] (Qwen3), all [H·hd] (OLMo 2)
enum class MlpKind {
    Plain,       // down(act(up x))
    Gated,       // down(act(gate x) · up x)
    FusedGated,  // as Gated, gate and up in one projection [gate (I); up (I)] (Phi-3)
};
enum class Activation { GeluTanh, GeluExact, Relu, Silu };
enum class WindowedLayers {
    None,       // no sliding window (a config asking for one is refused)
    All,        // `sliding_window` on every layer (Mistral, Phi-3)
    Alternate,  // on layers 0, 2, 4 … unless `layer_types` says otherwise (Gemma 2)
};

// Names within one layer ("" where the family has no such tensor); model-level names are tried after each prefix.
struct LayerNames {
    std::string attn_in_norm, attn_out_norm, mlp_in_norm, mlp_out_norm;
    std::string q, k, v, qkv, o, q_norm, k_norm;
    std::string up, gate, gate_up, down;  // Plain: up and down
};

// config.json field names where families differ, with the family's defaults.
struct ConfigFields {
    std::string hidden = "hidden_size", layers = "num_hidden_layers", heads = "num_attention_heads";
    std::string positions = "max_position_embeddings", intermediate = "intermediate_size", norm_eps = "rms_norm_eps";
    std::string rope_theta = "rope_theta", rotary_fraction = "partial_rotary_factor";
    std::string parallel_residual;  // the flag's name, where the family has one (default on)
    std::vector<std::string> activation = {"hidden_act"};  // first present wins
    std::string activation_default = "silu";
    double norm_eps_default = 1e-6, rotary_fraction_default = 1.0;
    std::int64_t sliding_window_default = 0;
    std::int64_t positions_default = 2048;
    bool tie_default = false, attention_bias_default = false, mlp_bias_default = false;
};

struct Architecture {
    std::string model_type;
    std::vector<std::string> prefixes = {""};  // before every name
    std::string embed, positions, layer, final_norm, lm_head;  // positions: learned table ("" for rotary)
    LayerNames names;
    NormKind norm = NormKind::RMSNorm;
    QkvLayout qkv = QkvLayout::Separate;
    QkNorm qk_norm = QkNorm::None;
    MlpKind mlp = MlpKind::Gated;
    bool conv1d = false;          // projections stored [in, out] (GPT-2's Conv1D)
    bool embed_scaled = false;    // embeddings times √hidden, in the compute dtype (Gemma)
    bool qkv_bias_only = false;   // q/k/v always have biases, o never (Qwen2)
    WindowedLayers windows = WindowedLayers::None;
    ConfigFields fields;
};

// The table entry for a model_type; nullptr if none. supported_model_types() lists the table, for messages.
const Architecture* find_architecture(const std::string& model_type);
std::string supported_model_types();

struct RopeScaling {
    std::string type;  // "", "linear", "llama3", "longrope"
    double factor = 1.0, low_freq_factor = 1.0, high_freq_factor = 4.0;
    std::int64_t original_max_position_embeddings = 8192;
    // longrope (Phi-3 `su` / `longrope`): per rotary frequency divisors, the long ones for sequences longer than
    // original_max_position_embeddings; cos and sin are multiplied by attention_factor.
    std::vector<double> short_factor, long_factor;
    double attention_factor = 1.0;
};

struct ArchConfig {
    Architecture arch;
    std::string model_type;
    std::int64_t vocab_size = 0, hidden_size = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0;
    std::int64_t intermediate_size = 0, max_positions = 0;
    std::int64_t rotary_dims = 0;  // rotated dimensions of each head (the first ones); the rest pass through
    double norm_eps = 1e-5, rope_theta = 10000.0;
    RopeScaling rope_scaling;
    bool tie_word_embeddings = false;
    bool qkv_bias = false, o_bias = false, mlp_bias = false;
    bool parallel_residual = false;    // x + attn(norm1 x) + mlp(norm2 x) (GPT-NeoX's use_parallel_residual)
    Activation activation = Activation::Silu;
    double attention_scale = 0;        // multiplies q·k (1/√head_dim, or Gemma 2's query_pre_attn_scalar^-1/2)
    double attn_softcap = 0, final_softcap = 0;  // tanh(s / c) · c where > 0 (Gemma 2)
    std::vector<std::int64_t> layer_window;      // per layer: keys further back than this are masked (0: none)
    std::vector<std::int64_t> bos_token_ids, eos_token_ids;
    std::string torch_dtype;
};

// Throws ModelError naming config.json and the field.
// A model folder's JSON file (config.json, a bundle's lmwb.json): a regular file, one JSON object, no key twice;
// otherwise a ModelError naming the file (and `needed_by` when it cannot be opened).
nlohmann::json read_json_object(const std::string& path, const std::string& needed_by);
ArchConfig read_config(const std::string& config_json_path);

}  // namespace lmwb

// The architectures we run, one entry each: names and kinds from the Hugging Face `transformers` modeling code.
#include <map>

#include "config.h"

namespace lmwb {

namespace {

// Llama and the families that copy its layout (Mistral, Qwen2, Qwen3).
Architecture llama_like(const std::string& type) {
    Architecture a;
    a.model_type = type;
    a.embed = "model.embed_tokens.weight";
    a.layer = "model.layers.";
    a.final_norm = "model.norm";
    a.lm_head = "lm_head.weight";
    a.names.attn_in_norm = "input_layernorm";
    a.names.mlp_in_norm = "post_attention_layernorm";
    a.names.q = "self_attn.q_proj";
    a.names.k = "self_attn.k_proj";
    a.names.v = "self_attn.v_proj";
    a.names.o = "self_attn.o_proj";
    a.names.gate = "mlp.gate_proj";
    a.names.up = "mlp.up_proj";
    a.names.down = "mlp.down_proj";
    return a;
}

std::map<std::string, Architecture> make_table() {
    std::map<std::string, Architecture> t;

    Architecture gpt2;
    gpt2.model_type = "gpt2";
    gpt2.prefixes = {"transformer.", ""};
    gpt2.embed = "wte.weight";
    gpt2.positions = "wpe.weight";
    gpt2.layer = "h.";
    gpt2.final_norm = "ln_f";
    gpt2.lm_head = "lm_head.weight";
    gpt2.names.attn_in_norm = "ln_1";
    gpt2.names.mlp_in_norm = "ln_2";
    gpt2.names.qkv = "attn.c_attn";
    gpt2.names.o = "attn.c_proj";
    gpt2.names.up = "mlp.c_fc";
    gpt2.names.down = "mlp.c_proj";
    gpt2.norm = NormKind::LayerNorm;
    gpt2.qkv = QkvLayout::FusedRows;
    gpt2.mlp = MlpKind::Plain;
    gpt2.conv1d = true;
    gpt2.fields.hidden = "n_embd";
    gpt2.fields.layers = "n_layer";
    gpt2.fields.heads = "n_head";
    gpt2.fields.positions = "n_positions";
    gpt2.fields.intermediate = "n_inner";
    gpt2.fields.norm_eps = "layer_norm_epsilon";
    gpt2.fields.activation = {"activation_function"};
    gpt2.fields.activation_default = "gelu_new";
    gpt2.fields.norm_eps_default = 1e-5;
    gpt2.fields.positions_default = 1024;
    gpt2.fields.tie_default = gpt2.fields.attention_bias_default = gpt2.fields.mlp_bias_default = true;
    t["gpt2"] = gpt2;

    Architecture neox;
    neox.model_type = "gpt_neox";
    neox.embed = "gpt_neox.embed_in.weight";
    neox.layer = "gpt_neox.layers.";
    neox.final_norm = "gpt_neox.final_layer_norm";
    neox.lm_head = "embed_out.weight";
    neox.names.attn_in_norm = "input_layernorm";
    neox.names.mlp_in_norm = "post_attention_layernorm";
    neox.names.qkv = "attention.query_key_value";
    neox.names.o = "attention.dense";
    neox.names.up = "mlp.dense_h_to_4h";
    neox.names.down = "mlp.dense_4h_to_h";
    neox.norm = NormKind::LayerNorm;
    neox.qkv = QkvLayout::FusedPerHead;
    neox.mlp = MlpKind::Plain;
    neox.fields.norm_eps = "layer_norm_eps";
    neox.fields.norm_eps_default = 1e-5;
    neox.fields.rope_theta = "rotary_emb_base";
    neox.fields.rotary_fraction = "rotary_pct";
    neox.fields.activation_default = "gelu";
    neox.fields.rotary_fraction_default = 0.25;
    neox.fields.parallel_residual = "use_parallel_residual";
    neox.fields.attention_bias_default = neox.fields.mlp_bias_default = true;
    t["gpt_neox"] = neox;

    Architecture llama = llama_like("llama");
    t["llama"] = llama;
    Architecture mistral = llama_like("mistral");
    mistral.windows = WindowedLayers::All;
    mistral.fields.sliding_window_default = 4096;
    t["mistral"] = mistral;
    Architecture qwen2 = llama_like("qwen2");
    qwen2.qkv_bias_only = true;
    t["qwen2"] = qwen2;
    Architecture qwen3 = llama_like("qwen3");
    qwen3.names.q_norm = "self_attn.q_norm";
    qwen3.names.k_norm = "self_attn.k_norm";
    qwen3.qk_norm = QkNorm::PerHead;
    t["qwen3"] = qwen3;

    Architecture phi3 = llama_like("phi3");
    phi3.names.q = phi3.names.k = phi3.names.v = phi3.names.gate = phi3.names.up = "";
    phi3.names.qkv = "self_attn.qkv_proj";
    phi3.names.gate_up = "mlp.gate_up_proj";
    phi3.qkv = QkvLayout::FusedRows;
    phi3.mlp = MlpKind::FusedGated;
    phi3.windows = WindowedLayers::All;
    phi3.fields.norm_eps_default = 1e-5;
    t["phi3"] = phi3;

    Architecture gemma = llama_like("gemma");
    gemma.norm = NormKind::RMSNormUnitOffset;
    gemma.embed_scaled = true;
    // transformers' GemmaMLP reads hidden_activation and falls back to tanh GELU, whatever hidden_act says.
    gemma.fields.activation = {"hidden_activation"};
    gemma.fields.activation_default = "gelu_pytorch_tanh";
    gemma.fields.positions_default = 8192;
    gemma.fields.tie_default = true;
    t["gemma"] = gemma;
    Architecture gemma2 = gemma;
    gemma2.model_type = "gemma2";
    gemma2.names.attn_out_norm = "post_attention_layernorm";
    gemma2.names.mlp_in_norm = "pre_feedforward_layernorm";
    gemma2.names.mlp_out_norm = "post_feedforward_layernorm";
    gemma2.windows = WindowedLayers::Alternate;
    gemma2.fields.sliding_window_default = 4096;
    t["gemma2"] = gemma2;

    Architecture olmo2 = llama_like("olmo2");
    olmo2.names.attn_in_norm = olmo2.names.mlp_in_norm = "";
    olmo2.names.attn_out_norm = "post_attention_layernorm";
    olmo2.names.mlp_out_norm = "post_feedforward_layernorm";
    olmo2.names.q_norm = "self_attn.q_norm";
    olmo2.names.k_norm = "self_attn.k_norm";
    olmo2.norm = NormKind::RMSNormFloatWeight;
    olmo2.qk_norm = QkNorm::Whole;
    olmo2.fields.norm_eps_default = 1e-5;
    t["olmo2"] = olmo2;
    return t;
}

const std::map<std::string, Architecture>& table() {
    static const std::map<std::string, Architecture> t = make_table();
    return t;
}

}  // namespace

const Architecture* find_architecture(const std::string& model_type) {
    auto it = table().find(model_type);
    return it == table().end() ? nullptr : &it->second;
}

std::string supported_model_types() {
    std::string out;
    for (auto& [name, a] : table()) out += (out.empty() ? "" : ", ") + name;
    return out;
}

}  // namespace lmwb

#include "config.h"

#include <nlohmann/json.hpp>

#include <fstream>

#include "lmwb/model.h"

namespace lmwb {

namespace {

struct Reader {
    const nlohmann::json& j;
    const std::string& path;
    [[noreturn]] void fail(const std::string& field, const std::string& what) const {
        throw ModelError(path + ": /" + field + ": " + what);
    }
    bool has(const std::string& k) const { return j.contains(k) && !j[k].is_null(); }
    std::int64_t integer(const std::string& k) const {
        if (!has(k)) fail(k, "missing field");
        if (!j[k].is_number_integer()) fail(k, "expected an integer, found " + std::string(j[k].type_name()));
        return j[k].get<std::int64_t>();
    }
    std::int64_t integer(const std::string& k, std::int64_t fallback) const { return has(k) ? integer(k) : fallback; }
    double number(const std::string& k, double fallback) const {
        if (!has(k)) return fallback;
        if (!j[k].is_number()) fail(k, "expected a number, found " + std::string(j[k].type_name()));
        return j[k].get<double>();
    }
    bool boolean(const std::string& k, bool fallback) const {
        if (!has(k)) return fallback;
        if (!j[k].is_boolean()) fail(k, "expected true or false");
        return j[k].get<bool>();
    }
    std::string str(const std::string& k, const std::string& fallback) const {
        if (!has(k)) return fallback;
        if (!j[k].is_string()) fail(k, "expected a string");
        return j[k].get<std::string>();
    }
    std::vector<std::int64_t> ids(const std::string& k) const {
        std::vector<std::int64_t> out;
        if (!has(k)) return out;
        if (j[k].is_number_integer()) out.push_back(j[k].get<std::int64_t>());
        else if (j[k].is_array())
            for (auto& v : j[k]) if (v.is_number_integer()) out.push_back(v.get<std::int64_t>());
        return out;
    }
};

void positive(const Reader& r, const std::string& field, std::int64_t v) {
    if (v <= 0) r.fail(field, "must be positive, found " + std::to_string(v));
}

}  // namespace

ArchConfig read_config(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw ModelError(path + ": cannot open (a Hugging Face model folder needs config.json)");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
        throw ModelError(path + ": malformed JSON: " + e.what());
    }
    if (!j.is_object()) throw ModelError(path + ": expected a JSON object");
    Reader r{j, path};
    ArchConfig c;
    c.model_type = r.str("model_type", "");
    if (c.model_type.empty()) r.fail("model_type", "missing field");
    c.torch_dtype = r.str("torch_dtype", "float32");
    c.bos_token_ids = r.ids("bos_token_id");
    c.eos_token_ids = r.ids("eos_token_id");
    if (c.model_type == "gpt2") {
        c.gpt2_style = true;
        c.vocab_size = r.integer("vocab_size");
        c.hidden_size = r.integer("n_embd");
        c.layers = r.integer("n_layer");
        c.heads = r.integer("n_head");
        c.kv_heads = c.heads;
        c.max_positions = r.integer("n_positions", 1024);
        c.intermediate_size = r.integer("n_inner", 4 * c.hidden_size);
        c.norm_eps = r.number("layer_norm_epsilon", 1e-5);
        c.activation = r.str("activation_function", "gelu_new");
        if (c.activation != "gelu_new" && c.activation != "gelu" && c.activation != "relu")
            r.fail("activation_function", "unsupported activation '" + c.activation + "'");
        c.tie_word_embeddings = r.boolean("tie_word_embeddings", true);
        if (r.boolean("scale_attn_by_inverse_layer_idx", false))
            r.fail("scale_attn_by_inverse_layer_idx", "not supported");
    } else if (c.model_type == "llama" || c.model_type == "mistral" || c.model_type == "qwen2" || c.model_type == "qwen3") {
        c.vocab_size = r.integer("vocab_size");
        c.hidden_size = r.integer("hidden_size");
        c.layers = r.integer("num_hidden_layers");
        c.heads = r.integer("num_attention_heads");
        c.kv_heads = r.integer("num_key_value_heads", c.heads);
        c.intermediate_size = r.integer("intermediate_size");
        c.max_positions = r.integer("max_position_embeddings", 2048);
        c.norm_eps = r.number("rms_norm_eps", 1e-6);
        c.rope_theta = r.number("rope_theta", 10000.0);
        c.activation = r.str("hidden_act", "silu");
        if (c.activation != "silu") r.fail("hidden_act", "unsupported activation '" + c.activation + "'");
        c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);
        bool attention_bias = c.model_type != "qwen2" && r.boolean("attention_bias", false);
        c.qkv_bias = c.model_type == "qwen2" || attention_bias;
        c.o_bias = attention_bias;
        c.mlp_bias = c.model_type == "llama" && r.boolean("mlp_bias", false);
        if (c.model_type == "mistral") c.sliding_window = r.integer("sliding_window", 0);
        c.qk_norm = c.model_type == "qwen3";
        // Qwen2/3 window only the layers from max_window_layers on; no released checkpoint turns it on.
        if ((c.model_type == "qwen2" || c.model_type == "qwen3") && r.boolean("use_sliding_window", false))
            r.fail("use_sliding_window", "Qwen's per-layer sliding window is not supported");
        if (r.has("head_dim")) c.head_dim = r.integer("head_dim");
        if (r.has("rope_scaling")) {
            const auto& s = j["rope_scaling"];
            if (!s.is_object()) r.fail("rope_scaling", "expected an object");
            Reader rs{s, path};
            c.rope_scaling.type = rs.str("rope_type", rs.str("type", ""));
            c.rope_scaling.factor = rs.number("factor", 1.0);
            if (c.rope_scaling.type == "llama3") {
                c.rope_scaling.low_freq_factor = rs.number("low_freq_factor", 1.0);
                c.rope_scaling.high_freq_factor = rs.number("high_freq_factor", 4.0);
                c.rope_scaling.original_max_position_embeddings = rs.integer("original_max_position_embeddings", 8192);
            } else if (c.rope_scaling.type != "linear" && c.rope_scaling.type != "default") {
                r.fail("rope_scaling/rope_type", "unsupported RoPE scaling '" + c.rope_scaling.type + "' (supported: linear, llama3)");
            }
            if (c.rope_scaling.type == "default") c.rope_scaling.type.clear();
        }
    } else {
        r.fail("model_type", "unsupported model_type '" + c.model_type + "' (supported: gpt2, llama, mistral, qwen2, qwen3)");
    }
    for (auto [field, v] : {std::pair{"vocab_size", c.vocab_size}, {"hidden_size", c.hidden_size}, {"layers", c.layers},
                            {"heads", c.heads}, {"kv_heads", c.kv_heads}, {"max_position_embeddings", c.max_positions},
                            {"intermediate_size", c.intermediate_size}})
        positive(r, field, v);
    if (r.has("head_dim")) positive(r, "head_dim", c.head_dim);
    if (c.head_dim == 0) {
        if (c.hidden_size % c.heads != 0) r.fail("num_attention_heads", "does not divide the hidden size");
        c.head_dim = c.hidden_size / c.heads;
    }
    if (c.heads % c.kv_heads != 0) r.fail("num_key_value_heads", "must divide num_attention_heads");
    if (!c.gpt2_style && c.head_dim % 2 != 0) r.fail("head_dim", "rotary embeddings need an even head size");
    return c;
}

}  // namespace lmwb

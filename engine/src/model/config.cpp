#include "config.h"

#include "lmwb/json_file.h"
#include "lmwb/text.h"

#include <nlohmann/json.hpp>

#include <climits>
#include <cmath>
#include <fstream>

#include "lmwb/model_error.h"

namespace lmwb {

namespace {

[[noreturn]] void model_error(const std::string& message) { throw ModelError(message); }

// config.json's fields, typed (lmwb/json_file.h): errors read "config.json: /rope_scaling/factor: expected a number".
struct Reader : json_file::Object {
    Reader(const nlohmann::json& value, const std::string& file) : json_file::Object(value, file, model_error), j(value), path(file) {}
    const nlohmann::json& j;
    const std::string& path;
    std::string str(const std::string& k, const std::string& fallback) const { return string(k, fallback); }
    std::vector<std::int64_t> ids(const std::string& k) const {
        std::vector<std::int64_t> out;
        if (!has(k)) return out;
        if (j[k].is_number_integer()) out.push_back(j[k].get<std::int64_t>());
        else if (j[k].is_array())
            for (auto& v : j[k]) if (v.is_number_integer()) out.push_back(v.get<std::int64_t>());
        return out;
    }
};

// Sizes are positive and below 2^31 (token ids and tensor dimensions are 32-bit); per-layer settings are allocated
// before any weight is read, so the layer count is held to what a checkpoint could have.
void positive(const Reader& r, const std::string& field, std::int64_t v, std::int64_t most = INT32_MAX) {
    if (v <= 0) r.fail(field, "must be positive, found " + std::to_string(v));
    if (v > most) r.fail(field, "is " + std::to_string(v) + ", more than " + std::to_string(most));
}

Activation activation_named(const Reader& r, const std::string& field, const std::string& name) {
    if (name == "gelu_new" || name == "gelu_pytorch_tanh") return Activation::GeluTanh;
    if (name == "gelu") return Activation::GeluExact;
    if (name == "relu") return Activation::Relu;
    if (name == "silu" || name == "swish") return Activation::Silu;
    r.fail(field, "unsupported activation '" + name + "' (supported: gelu_new, gelu_pytorch_tanh, gelu, relu, silu)");
}

void read_rope_scaling(const Reader& r, ArchConfig& c) {
    if (!r.has("rope_scaling")) return;
    const auto& s = r.j["rope_scaling"];
    if (!s.is_object()) r.fail("rope_scaling", "expected an object");
    Reader rs(s, r.path);
    RopeScaling& out = c.rope_scaling;
    out.type = rs.str("rope_type", rs.str("type", ""));
    out.factor = rs.number("factor", 1.0);
    if (!(out.factor > 0) || !std::isfinite(out.factor)) r.fail("rope_scaling/factor", "must be a positive number");
    if (out.type == "default") {
        out.type.clear();
    } else if (out.type == "llama3") {
        out.low_freq_factor = rs.number("low_freq_factor", 1.0);
        out.high_freq_factor = rs.number("high_freq_factor", 4.0);
        out.original_max_position_embeddings = rs.integer("original_max_position_embeddings", 8192);
    } else if (out.type == "longrope" || out.type == "su") {
        out.type = "longrope";
        auto factors = [&](const char* key) {
            std::vector<double> f;
            if (!rs.has(key) || !s[key].is_array()) r.fail(std::string("rope_scaling/") + key, "expected a list of numbers");
            for (auto& v : s[key]) {
                if (!v.is_number() || v.get<double>() <= 0) r.fail(std::string("rope_scaling/") + key, "expected positive numbers");
                f.push_back(v.get<double>());
            }
            if (static_cast<std::int64_t>(f.size()) != c.rotary_dims / 2)
                r.fail(std::string("rope_scaling/") + key, "has " + std::to_string(f.size()) + " factors, expected one per rotary frequency (" +
                                                             std::to_string(c.rotary_dims / 2) + ")");
            return f;
        };
        out.short_factor = factors("short_factor");
        out.long_factor = factors("long_factor");
        // transformers: with a top-level original_max_position_embeddings the factor is the context's growth.
        if (r.has("original_max_position_embeddings")) {
            out.original_max_position_embeddings = r.integer("original_max_position_embeddings");
            positive(r, "original_max_position_embeddings", out.original_max_position_embeddings);
            out.factor = static_cast<double>(c.max_positions) / static_cast<double>(out.original_max_position_embeddings);
        } else {
            out.original_max_position_embeddings = c.max_positions;
        }
        out.attention_factor = rs.has("attention_factor") ? rs.number("attention_factor", 1.0)
                               : out.factor <= 1.0      ? 1.0
                                                        : std::sqrt(1.0 + std::log(out.factor) /
                                                                              std::log(static_cast<double>(out.original_max_position_embeddings)));
    } else if (out.type != "linear") {
        r.fail("rope_scaling/rope_type", "unsupported RoPE scaling '" + out.type + "' (supported: linear, llama3, longrope)");
    }
}

void read_windows(const Reader& r, ArchConfig& c) {
    c.layer_window.assign(static_cast<std::size_t>(c.layers), 0);
    const WindowedLayers kind = c.arch.windows;
    if (kind == WindowedLayers::None) {
        // Qwen2/3 window only the layers from max_window_layers on; no released checkpoint turns it on.
        if (r.boolean("use_sliding_window", false))
            r.fail("use_sliding_window", "a sliding window is not supported for model_type '" + c.model_type + "'");
        return;
    }
    // Absent: the family's default; null: no window (Mistral v0.2 and later).
    if (r.j.contains("sliding_window") && r.j["sliding_window"].is_null()) return;
    const std::int64_t window = r.integer("sliding_window", c.arch.fields.sliding_window_default);
    if (window < 0) r.fail("sliding_window", "must not be negative");
    std::vector<bool> windowed(c.layer_window.size(), kind == WindowedLayers::All);
    if (kind == WindowedLayers::Alternate) {
        for (std::size_t i = 0; i < windowed.size(); ++i) windowed[i] = i % 2 == 0;
        if (r.has("layer_types")) {
            const auto& lt = r.j["layer_types"];
            if (!lt.is_array() || lt.size() != windowed.size())
                r.fail("layer_types", "expected one entry per layer (" + std::to_string(windowed.size()) + ")");
            for (std::size_t i = 0; i < windowed.size(); ++i) {
                std::string t = lt[i].is_string() ? lt[i].get<std::string>() : "";
                if (t != "sliding_attention" && t != "full_attention")
                    r.fail("layer_types/" + std::to_string(i), "expected \"sliding_attention\" or \"full_attention\"");
                windowed[i] = t == "sliding_attention";
            }
        }
    }
    for (std::size_t i = 0; i < windowed.size(); ++i)
        if (windowed[i]) c.layer_window[i] = window;
}

}  // namespace

nlohmann::json read_json_object(const std::string& path, const std::string& needed_by) {
    return json_file::read_object(path, needed_by, model_error, {std::size_t{16} << 20, 64});
}

ArchConfig read_config(const std::string& path) {
    const nlohmann::json j = read_json_object(path, "a Hugging Face model folder needs config.json");
    Reader r(j, path);
    ArchConfig c;
    c.model_type = r.str("model_type", "");
    if (c.model_type.empty()) r.fail("model_type", "missing field");
    const Architecture* arch = find_architecture(c.model_type);
    if (!arch) r.fail("model_type", "unsupported model_type '" + c.model_type + "' (supported: " + supported_model_types() + ")");
    c.arch = *arch;
    const ConfigFields& f = arch->fields;
    c.torch_dtype = r.str("torch_dtype", "float32");
    c.bos_token_ids = r.ids("bos_token_id");
    c.eos_token_ids = r.ids("eos_token_id");
    c.vocab_size = r.integer("vocab_size");
    c.hidden_size = r.integer(f.hidden);
    c.layers = r.integer(f.layers);
    c.heads = r.integer(f.heads);
    c.kv_heads = r.integer("num_key_value_heads", c.heads);
    // GPT-2's n_inner is null for 4 × hidden; the gated families always say.
    c.intermediate_size = arch->mlp == MlpKind::Plain ? r.integer(f.intermediate, 4 * c.hidden_size) : r.integer(f.intermediate);
    c.max_positions = r.integer(f.positions, f.positions_default);
    c.norm_eps = r.number(f.norm_eps, f.norm_eps_default);
    // Values no model can run with fail here, by name, not later as "broken weights".
    if (!(c.norm_eps > 0) || !std::isfinite(c.norm_eps)) r.fail(f.norm_eps, "must be a positive number");
    std::string act_field = f.activation.front();
    for (auto& name : f.activation)
        if (r.has(name)) {
            act_field = name;
            break;
        }
    c.activation = activation_named(r, act_field, r.str(act_field, f.activation_default));
    c.tie_word_embeddings = r.boolean("tie_word_embeddings", f.tie_default);
    if (arch->qkv_bias_only) {
        c.qkv_bias = true;
    } else {
        c.qkv_bias = c.o_bias = r.boolean("attention_bias", f.attention_bias_default);
    }
    c.mlp_bias = r.boolean("mlp_bias", f.mlp_bias_default);
    if (!f.parallel_residual.empty()) c.parallel_residual = r.boolean(f.parallel_residual, true);
    if (r.boolean("scale_attn_by_inverse_layer_idx", false)) r.fail("scale_attn_by_inverse_layer_idx", "not supported");
    positive(r, f.layers, c.layers, 1 << 16);
    for (auto [field, v] : {std::pair{"vocab_size", c.vocab_size}, {f.hidden.c_str(), c.hidden_size},
                            {f.heads.c_str(), c.heads}, {"num_key_value_heads", c.kv_heads}, {f.positions.c_str(), c.max_positions},
                            {f.intermediate.c_str(), c.intermediate_size}})
        positive(r, field, v);
    if (r.has("head_dim")) {
        c.head_dim = r.integer("head_dim");
        positive(r, "head_dim", c.head_dim, 1 << 16);
    } else {
        if (c.hidden_size % c.heads != 0) r.fail(f.heads, "does not divide the hidden size");
        c.head_dim = c.hidden_size / c.heads;
    }
    if (c.heads % c.kv_heads != 0) r.fail("num_key_value_heads", "must divide " + f.heads);
    if (arch->qkv == QkvLayout::FusedPerHead && c.kv_heads != c.heads)
        r.fail("num_key_value_heads", "must equal " + f.heads + " for model_type '" + c.model_type + "'");
    if (arch->positions.empty()) {
        c.rope_theta = r.number(f.rope_theta, r.number("rope_theta", 10000.0));
        if (!(c.rope_theta > 1) || !std::isfinite(c.rope_theta)) r.fail(r.has(f.rope_theta) ? f.rope_theta : "rope_theta", "must be a number above 1");
        const std::string frac_field = r.has(f.rotary_fraction) ? f.rotary_fraction : "partial_rotary_factor";
        const double frac = r.number(frac_field, f.rotary_fraction_default);
        if (!(frac > 0 && frac <= 1)) r.fail(frac_field, "must be in (0, 1]");
        c.rotary_dims = static_cast<std::int64_t>(static_cast<double>(c.head_dim) * frac);
        if (c.rotary_dims <= 0 || c.rotary_dims % 2 != 0)
            r.fail(frac_field, "gives " + std::to_string(c.rotary_dims) + " rotary dimensions; rotary embeddings need a positive even count");
        read_rope_scaling(r, c);
    } else if (r.has("rope_scaling")) {
        r.fail("rope_scaling", "model_type '" + c.model_type + "' has learned positions");
    }
    const double qpas = r.number("query_pre_attn_scalar", static_cast<double>(c.head_dim));
    if (qpas <= 0) r.fail("query_pre_attn_scalar", "must be positive");
    c.attention_scale = 1.0 / std::sqrt(qpas);
    c.attn_softcap = r.number("attn_logit_softcapping", 0.0);
    c.final_softcap = r.number("final_logit_softcapping", 0.0);
    if (c.attn_softcap < 0) r.fail("attn_logit_softcapping", "must not be negative");
    if (c.final_softcap < 0) r.fail("final_logit_softcapping", "must not be negative");
    read_windows(r, c);
    return c;
}

}  // namespace lmwb

// Sparse autoencoders: SAELens folders and Gemma Scope's params.npz, encoded and decoded as SAELens's inference
// classes do (sae_lens/saes/{sae,standard_sae,jumprelu_sae,topk_sae}.py).
#include "lmwb/sae.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "model/safetensors.h"
#include "model/npz.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace lmwb {

struct SparseAutoencoder::Impl {
    SaeConfig cfg;
    torch::Tensor W_enc, b_enc, W_dec, b_dec, threshold;  // float32
};

namespace {

[[noreturn]] void fail(const std::string& what) { throw SaeError(what); }

torch::Tensor from_view(const TensorView& v) {
    torch::ScalarType t;
    switch (v.dtype) {
        case DType::F32: t = torch::kFloat32; break;
        case DType::F16: t = torch::kFloat16; break;
        case DType::BF16: t = torch::kBFloat16; break;
        case DType::F64: t = torch::kFloat64; break;
        default: fail(v.file + ": tensor " + v.name + " has dtype " + v.dtype_name + "; an SAE's weights are F32, F16, BF16 or F64");
    }
    return torch::from_blob(const_cast<void*>(v.data), v.shape, t).to(torch::kFloat32).clone();
}

// cfg.json as SAELens reads it: version 6 (hook_name under metadata) and earlier (hook_point, activation_fn_str).
SaeConfig read_config(const fs::path& file) {
    std::ifstream in(file);
    if (!in) fail(file.string() + ": cannot be read");
    json j = json::parse(in, nullptr, false);
    if (!j.is_object()) fail(file.string() + ": not a JSON object");
    const std::string where = file.string() + ": ";
    SaeConfig c;
    auto str = [&](const json& o, const char* key, std::string& out) {
        if (!o.contains(key) || o[key].is_null()) return false;
        if (!o[key].is_string()) fail(where + "'" + key + "' must be a string");
        out = o[key].get<std::string>();
        return true;
    };
    auto integer = [&](const char* key, std::int64_t& out) {
        if (!j.contains(key)) fail(where + "'" + key + "' is missing");
        if (!j[key].is_number_integer() || j[key].get<std::int64_t>() < 1) fail(where + "'" + key + "' must be a positive integer");
        out = j[key].get<std::int64_t>();
    };
    integer("d_in", c.d_in);
    integer("d_sae", c.d_sae);
    const json meta = j.contains("metadata") && j["metadata"].is_object() ? j["metadata"] : json::object();
    if (!str(meta, "hook_name", c.hook_name) && !str(j, "hook_name", c.hook_name) && !str(j, "hook_point", c.hook_name))
        fail(where + "'hook_name' is missing (metadata.hook_name, hook_name or hook_point)");
    for (const char* key : {"hook_head_index", "hook_point_head_index"}) {
        const json& o = meta.contains(key) ? meta : j;
        if (o.contains(key) && o[key].is_number_integer()) c.hook_head_index = o[key].get<int>();
    }
    std::string activation;
    str(j, "activation_fn_str", activation) || str(j, "activation_fn", activation);
    if (!str(j, "architecture", c.architecture)) c.architecture = activation == "topk" ? "topk" : "standard";
    if (c.architecture == "topk") {
        json k = j.contains("k") ? j["k"] : json();
        if (k.is_null() && j.contains("activation_fn_kwargs") && j["activation_fn_kwargs"].is_object()) k = j["activation_fn_kwargs"].value("k", json());
        if (!k.is_number_integer() || k.get<std::int64_t>() < 1 || k.get<std::int64_t>() > c.d_sae)
            fail(where + "'k' of a topk SAE must be an integer from 1 to d_sae (" + std::to_string(c.d_sae) + ")");
        c.k = k.get<int>();
        c.rescale_acts_by_decoder_norm = j.value("rescale_acts_by_decoder_norm", false);
    } else if (c.architecture != "standard" && c.architecture != "jumprelu") {
        fail(where + "architecture '" + c.architecture + "' is not one we run (standard, jumprelu, topk)");
    }
    if (j.contains("apply_b_dec_to_input")) {
        if (!j["apply_b_dec_to_input"].is_boolean()) fail(where + "'apply_b_dec_to_input' must be true or false");
        c.apply_b_dec_to_input = j["apply_b_dec_to_input"].get<bool>();
    }
    if (j.contains("normalize_activations")) {
        const json& n = j["normalize_activations"];
        if (n.is_boolean()) c.normalize_activations = n.get<bool>() ? "expected_average_only_in" : "none";
        else if (n.is_string()) c.normalize_activations = n.get<std::string>();
        else if (!n.is_null()) fail(where + "'normalize_activations' must be a string");
    }
    if (c.normalize_activations == "expected_average_only_in") c.normalize_activations = "none";
    if (c.normalize_activations != "none" && c.normalize_activations != "constant_norm_rescale" && c.normalize_activations != "layer_norm")
        fail(where + "normalize_activations '" + c.normalize_activations + "' is not one we run (none, expected_average_only_in, "
                     "constant_norm_rescale, layer_norm)");
    str(j, "dtype", c.dtype);
    return c;
}

void set_hook(SaeConfig& c, const std::string& where) {
    try {
        c.point = HookPoint::parse(c.hook_name);
    } catch (const std::invalid_argument& e) {
        fail(where + ": " + e.what());
    }
    if (c.point.kind == HookKind::Pattern) fail(where + ": an SAE reads activations, not attention probabilities (" + c.hook_name + ")");
}

torch::Tensor need(const std::map<std::string, torch::Tensor>& w, const std::string& name, std::vector<std::int64_t> shape, const std::string& file) {
    auto it = w.find(name);
    if (it == w.end()) fail(file + ": tensor '" + name + "' is missing");
    if (it->second.sizes().vec() != shape) {
        std::string want, got;
        for (auto s : shape) want += (want.empty() ? "" : ", ") + std::to_string(s);
        for (auto s : it->second.sizes()) got += (got.empty() ? "" : ", ") + std::to_string(s);
        fail(file + ": tensor '" + name + "' has shape [" + got + "], expected [" + want + "]");
    }
    return it->second;
}

}  // namespace

SparseAutoencoder::SparseAutoencoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SparseAutoencoder::~SparseAutoencoder() = default;
const SaeConfig& SparseAutoencoder::config() const { return impl_->cfg; }

std::unique_ptr<SparseAutoencoder> SparseAutoencoder::load(const std::string& path, const std::string& hook_name) {
    torch::InferenceMode guard;
    auto impl = std::make_unique<Impl>();
    SaeConfig& c = impl->cfg;
    std::map<std::string, torch::Tensor> w;
    std::error_code ec;
    std::string weights_file;
    if (fs::is_directory(path, ec)) {
        c = read_config(fs::path(path) / "cfg.json");
        if (!hook_name.empty() && hook_name != c.hook_name)
            fail(path + ": its cfg.json names hook " + c.hook_name + ", not " + hook_name);
        weights_file = (fs::path(path) / "sae_weights.safetensors").string();
        if (!fs::exists(weights_file, ec)) fail(weights_file + ": missing (a SAELens folder holds cfg.json and sae_weights.safetensors)");
        try {
            SafetensorsFile file(weights_file);
            for (const auto& [name, view] : file.tensors()) w[name] = from_view(view);
        } catch (const ModelError& e) {
            fail(e.what());
        }
    } else if (fs::is_regular_file(path, ec) && fs::path(path).extension() == ".npz") {
        weights_file = path;
        const fs::path beside = fs::path(path).parent_path() / "cfg.json";
        if (fs::exists(beside, ec)) {
            c = read_config(beside);
        } else {
            c.architecture = "jumprelu";  // Gemma Scope's, as SAELens reads params.npz
            c.apply_b_dec_to_input = false;
            c.normalize_activations = "none";
        }
        if (!hook_name.empty()) c.hook_name = hook_name;
        if (c.hook_name.empty()) fail(path + ": a params.npz names no hook: give its hook point (e.g. blocks.12.hook_resid_post)");
        std::map<std::string, NpyArray> arrays;
        try {
            arrays = read_npz(path);
        } catch (const ModelError& e) {
            fail(e.what());
        }
        for (auto& [name, array] : arrays) {
            const std::string key = name.rfind("w_", 0) == 0 ? "W_" + name.substr(2) : name;  // SAELens's renaming
            w[key] = torch::from_blob(array.data.data(), array.shape, torch::kFloat32).clone();
        }
        if (!w.count("W_enc")) fail(path + ": tensor 'W_enc' is missing");
        if (w["W_enc"].dim() != 2) fail(path + ": W_enc must be a matrix [d_in, d_sae]");
        c.d_in = w["W_enc"].size(0);
        c.d_sae = w["W_enc"].size(1);
    } else {
        fail(path + ": not a SAELens folder (cfg.json, sae_weights.safetensors) or a params.npz");
    }
    c.path = path;
    set_hook(c, path);
    if (c.point.kind != HookKind::Z && c.hook_head_index >= 0) fail(path + ": hook_head_index applies to attn.hook_z only");
    impl->W_enc = need(w, "W_enc", {c.d_in, c.d_sae}, weights_file);
    impl->W_dec = need(w, "W_dec", {c.d_sae, c.d_in}, weights_file);
    impl->b_enc = need(w, "b_enc", {c.d_sae}, weights_file);
    impl->b_dec = need(w, "b_dec", {c.d_in}, weights_file);
    if (c.architecture == "jumprelu") impl->threshold = need(w, "threshold", {c.d_sae}, weights_file);
    if (w.count("scaling_factor") && !torch::all(w["scaling_factor"] == 1).item<bool>())
        fail(weights_file + ": a scaling_factor other than ones (a fine-tuning scale) is not supported");
    for (const auto* t : {&impl->W_enc, &impl->W_dec, &impl->b_enc, &impl->b_dec})
        if (!torch::isfinite(*t).all().item<bool>()) fail(weights_file + ": the weights hold NaN or infinite values");
    return std::unique_ptr<SparseAutoencoder>(new SparseAutoencoder(std::move(impl)));
}

void SparseAutoencoder::check_fits(const ModelInfo& info) const {
    const SaeConfig& c = impl_->cfg;
    if (c.point.layer >= info.layers)
        throw SaeError(c.path + ": hook " + c.hook_name + " is past the model's " + std::to_string(info.layers) + " layers");
    std::int64_t width = info.hidden_size;
    std::string what = "the hidden size";
    if (c.point.kind == HookKind::Z) {
        width = c.hook_head_index >= 0 ? info.head_dim : info.heads * info.head_dim;
        what = c.hook_head_index >= 0 ? "head_dim" : "heads x head_dim";
        if (c.hook_head_index >= info.heads)
            throw SaeError(c.path + ": hook_head_index " + std::to_string(c.hook_head_index) + " is past the model's " + std::to_string(info.heads) + " heads");
    }
    if (width <= 0) throw SaeError(c.path + ": the model does not expose the width of " + c.hook_name);
    if (c.d_in != width)
        throw SaeError(c.path + ": d_in " + std::to_string(c.d_in) + " does not match " + c.hook_name + " of this model (" + what + " " +
                       std::to_string(width) + ")");
}

namespace {

// SAELens's run_time_activation_norm_fn_in / _out: the statistics of each input row, undone after decoding.
struct Norm {
    torch::Tensor scale, shift;  // out = decoded * scale + shift; undefined for "none"
};

torch::Tensor normalize_in(const SaeConfig& c, const torch::Tensor& x, Norm& norm) {
    if (c.normalize_activations == "constant_norm_rescale") {
        auto coeff = std::sqrt(static_cast<double>(c.d_in)) / x.norm(2, -1, true);
        norm.scale = 1.0 / coeff;
        norm.shift = torch::zeros_like(norm.scale);
        return x * coeff;
    }
    if (c.normalize_activations == "layer_norm") {
        auto mu = x.mean(-1, true);
        auto centred = x - mu;
        auto std = centred.std(-1, /*unbiased=*/true, true);  // torch.std: N − 1, as SAELens
        norm.scale = std + 1e-5;
        norm.shift = mu;
        return centred / norm.scale;
    }
    return x;
}

torch::Tensor normalize_out(const torch::Tensor& y, const Norm& norm) { return norm.scale.defined() ? y * norm.scale + norm.shift : y; }

}  // namespace

SaeCode SparseAutoencoder::run(const std::vector<float>& xs, std::int64_t n) const {
    torch::InferenceMode guard;
    const Impl& m = *impl_;
    const SaeConfig& c = m.cfg;
    if (n < 0 || static_cast<std::int64_t>(xs.size()) != n * c.d_in)
        throw SaeError(c.path + ": " + std::to_string(xs.size()) + " activation values are not " + std::to_string(n) + " rows of d_in " + std::to_string(c.d_in));
    SaeCode out;
    if (n == 0) return out;
    auto x = torch::from_blob(const_cast<float*>(xs.data()), {n, c.d_in}, torch::kFloat32);
    Norm norm;
    auto sae_in = normalize_in(c, x, norm);
    if (c.apply_b_dec_to_input) sae_in = sae_in - m.b_dec;
    auto pre = torch::matmul(sae_in, m.W_enc) + m.b_enc;
    torch::Tensor f;
    if (c.architecture == "jumprelu") {
        f = torch::relu(pre) * (pre > m.threshold).to(torch::kFloat32);  // strictly above the threshold
    } else if (c.architecture == "topk") {
        if (c.rescale_acts_by_decoder_norm) pre = pre * m.W_dec.norm(2, -1);
        auto [values, index] = torch::topk(pre, c.k, -1, true, false);
        f = torch::zeros_like(pre).scatter_(-1, index, torch::relu(values));  // ReLU after choosing the k
    } else {
        f = torch::relu(pre);
    }
    // The features are what encode gives; decode first undoes a topk SAE's rescaling.
    const auto for_decoder = c.architecture == "topk" && c.rescale_acts_by_decoder_norm ? f / m.W_dec.norm(2, -1) : f;
    auto features = f.contiguous();
    auto recon = normalize_out(torch::matmul(for_decoder, m.W_dec) + m.b_dec, norm).contiguous();
    out.features.assign(features.data_ptr<float>(), features.data_ptr<float>() + features.numel());
    out.reconstruction.assign(recon.data_ptr<float>(), recon.data_ptr<float>() + recon.numel());
    return out;
}

std::vector<float> SparseAutoencoder::decode(const std::vector<float>& fs_, const std::vector<float>& xs, std::int64_t n) const {
    torch::InferenceMode guard;
    const Impl& m = *impl_;
    const SaeConfig& c = m.cfg;
    if (n < 0 || static_cast<std::int64_t>(fs_.size()) != n * c.d_sae)
        throw SaeError(c.path + ": " + std::to_string(fs_.size()) + " feature values are not " + std::to_string(n) + " rows of d_sae " + std::to_string(c.d_sae));
    if (n == 0) return {};
    auto f = torch::from_blob(const_cast<float*>(fs_.data()), {n, c.d_sae}, torch::kFloat32);
    if (c.architecture == "topk" && c.rescale_acts_by_decoder_norm) f = f / m.W_dec.norm(2, -1);
    Norm norm;
    if (c.normalize_activations != "none") {
        if (static_cast<std::int64_t>(xs.size()) != n * c.d_in)
            throw SaeError(c.path + ": decoding with " + c.normalize_activations + " needs the rows the features came from");
        normalize_in(c, torch::from_blob(const_cast<float*>(xs.data()), {n, c.d_in}, torch::kFloat32), norm);
    }
    auto y = normalize_out(torch::matmul(f, m.W_dec) + m.b_dec, norm).contiguous();
    return {y.data_ptr<float>(), y.data_ptr<float>() + y.numel()};
}

std::vector<float> SparseAutoencoder::decoder_rows(const std::vector<int>& features) const {
    torch::InferenceMode guard;
    std::vector<std::int64_t> idx;
    for (int f : features) {
        if (f < 0 || f >= impl_->cfg.d_sae)
            throw SaeError(impl_->cfg.path + ": feature " + std::to_string(f) + " is outside 0.." + std::to_string(impl_->cfg.d_sae - 1));
        idx.push_back(f);
    }
    auto rows = impl_->W_dec.index_select(0, torch::tensor(idx, torch::kLong)).contiguous();
    return {rows.data_ptr<float>(), rows.data_ptr<float>() + rows.numel()};
}

std::vector<float> SparseAutoencoder::decoder_bias() const {
    auto b = impl_->b_dec.contiguous();
    return {b.data_ptr<float>(), b.data_ptr<float>() + b.numel()};
}

}  // namespace lmwb

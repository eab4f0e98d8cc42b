#include "transformer.h"

#include <torch/torch.h>

#include <cmath>
#include <cstring>

#include <sys/mman.h>
#include <unistd.h>

#include "lmwb/control.h"

namespace lmwb {

namespace {
// Drops the resident pages of a read-only file mapping (they are read again from the file if touched later).
void release_pages(const void* data, std::size_t bytes) {
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto begin = reinterpret_cast<std::uintptr_t>(data) & ~(page - 1);
    const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes + page - 1) & ~(page - 1);
    ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

// A point where a pass may stop: the forward checks the thread's cancel token here, and when gradients flow back
// through `h` the backward checks it again at the same point (a hook fires as the gradient reaches it).
void cancel_point(const torch::Tensor& h, const CancelToken* token) {
    if (!token) return;
    token->check();
    if (h.requires_grad()) h.register_hook([t = *token](const torch::Tensor&) { t.check(); });
}
}  // namespace

struct KVCache {
    std::vector<torch::Tensor> k, v;  // per layer [B, kv_heads, capacity, head_dim]
    std::int64_t length = 0;
};

std::int64_t cache_length(const KVCache& cache) { return cache.length; }

KVCachePtr repeat_cache(const KVCache& cache, std::int64_t rows, std::int64_t capacity) {
    KVCachePtr c(new KVCache);
    const std::int64_t n = cache.length;
    for (std::size_t l = 0; l < cache.k.size(); ++l) {
        for (auto* src : {&cache.k[l], &cache.v[l]}) {
            auto t = torch::zeros({rows, src->size(1), capacity, src->size(3)}, src->options());
            t.narrow(2, 0, n).copy_(src->narrow(0, 0, 1).narrow(2, 0, n).expand({rows, -1, -1, -1}));
            (src == &cache.k[l] ? c->k : c->v).push_back(std::move(t));
        }
    }
    c->length = n;
    return c;
}

torch::Tensor Network::forward_ids_rows(const torch::Tensor& ids, const torch::Tensor& key_mask,
                                        const torch::Tensor& positions, const torch::Tensor& rows) const {
    auto states = forward_ids(ids, key_mask, positions, nullptr);
    return states.reshape({states.size(0) * states.size(1), states.size(2)}).index_select(0, rows);
}

torch::Tensor Network::traced_attentions(const torch::Tensor&, const torch::Tensor&) const {
    throw ModelError("this network gives attentions through its layer observer");
}
torch::Tensor Network::traced_hidden_states(const torch::Tensor&, const torch::Tensor&) const {
    throw ModelError("this network gives hidden states through its layer observer");
}

torch::Tensor Network::forward_ids(const torch::Tensor& ids, const torch::Tensor& key_mask, const torch::Tensor& positions,
                                   KVCache* cache) const {
    return forward(embed(ids), key_mask, positions, cache, nullptr);
}
void KVCacheDeleter::operator()(KVCache* cache) const { delete cache; }

namespace {

std::string shape_str(at::IntArrayRef s) {
    std::string out = "[";
    for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

torch::ScalarType scalar_type(DType d) {
    switch (d) {
        case DType::F32: return torch::kFloat32;
        case DType::F16: return torch::kFloat16;
        case DType::BF16: return torch::kBFloat16;
        case DType::F64: return torch::kFloat64;
        default: return torch::kFloat32;
    }
}

struct Loader {
    const WeightStore& store;
    torch::ScalarType dtype;
    torch::Device device;
    const Control& control;  // cancelled between tensors; progress in bytes of the stored weights
    std::int64_t params = 0;
    std::size_t bytes_done = 0;

    const TensorView* find_any(const std::vector<std::string>& names) const {
        for (auto& n : names)
            if (auto* t = store.find(n)) return t;
        return nullptr;
    }
    // A weight by any of its names, checked against the expected shape; F32 on CPU stays memory-mapped.
    torch::Tensor get(const std::vector<std::string>& names, std::vector<std::int64_t> shape) {
        const TensorView* t = find_any(names);
        if (!t) throw ModelError(store.folder() + ": tensor '" + names.front() + "' is missing from the weights");
        if (t->shape != shape)
            throw ModelError(t->file + ": tensor '" + t->name + "' has shape " + shape_str(t->shape) + ", expected " +
                             shape_str(shape));
        if (t->dtype != DType::F32 && t->dtype != DType::F16 && t->dtype != DType::BF16 && t->dtype != DType::F64)
            throw ModelError(t->file + ": tensor '" + t->name + "' has dtype " + t->dtype_name + "; weights must be floating point");
        control.check();
        auto opts = torch::TensorOptions().dtype(scalar_type(t->dtype));
        torch::Tensor raw;
        if (reinterpret_cast<std::uintptr_t>(t->data) % static_cast<std::uintptr_t>(c10::elementSize(opts.dtype().toScalarType())) != 0) {
            raw = torch::empty(t->shape, opts);  // unaligned (the header length is not a multiple of 8): copy
            std::memcpy(raw.data_ptr(), t->data, t->nbytes);
        } else {
            raw = torch::from_blob(const_cast<void*>(t->data), t->shape, opts);
        }
        params += t->numel();
        bytes_done += t->nbytes;
        control.report(bytes_done, std::max(bytes_done, store.total_bytes()), "bytes", "weights");
        if (raw.data_ptr() == t->data && raw.scalar_type() == dtype && device.is_cpu()) return raw;  // used in place
        torch::Tensor out = raw.scalar_type() == dtype && device.is_cpu() ? raw : raw.to(device, dtype);
        // The mapped bytes were read into a copy: give their pages back, so that a 16-bit checkpoint opened for float32
        // compute peaks near the float32 weights, not the float32 weights plus the whole file.
        release_pages(t->data, t->nbytes);
        return out;
    }
    torch::Tensor optional(const std::vector<std::string>& names, std::vector<std::int64_t> shape) {
        return find_any(names) ? get(names, std::move(shape)) : torch::Tensor();
    }
};

std::vector<std::string> names(const std::vector<std::string>& prefixes, const std::string& suffix) {
    std::vector<std::string> out;
    for (auto& p : prefixes) out.push_back(p + suffix);
    return out;
}

struct Layer {
    torch::Tensor norm1_w, norm1_b, norm2_w, norm2_b;
    torch::Tensor qkv_w, qkv_b;                  // GPT-2 fused [D, 3D]
    torch::Tensor q_w, k_w, v_w, q_b, k_b, v_b;  // Llama family [out, in]
    torch::Tensor o_w, o_b;
    torch::Tensor fc_w, fc_b, proj_w, proj_b;    // GPT-2 MLP
    torch::Tensor gate_w, up_w, down_w;          // SwiGLU MLP
    torch::Tensor gate_b, up_b, down_b;          // Llama with mlp_bias
    torch::Tensor q_norm_w, k_norm_w;            // Qwen3: per-head RMSNorm of queries and keys [head_dim]
};

}  // namespace

struct Transformer::Impl {
    ArchConfig cfg;
    torch::ScalarType dtype;
    torch::Device device{torch::kCPU};
    torch::Tensor wte, wpe, final_w, final_b, lm_head;
    std::vector<Layer> layers;
    torch::Tensor inv_freq;  // RoPE
    std::int64_t params = 0;

    torch::Tensor norm(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) const {
        if (cfg.gpt2_style) return torch::layer_norm(x, {cfg.hidden_size}, w, b, cfg.norm_eps);
        auto xf = x.to(torch::kFloat32);
        auto y = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + cfg.norm_eps);
        return w * y.to(x.scalar_type());
    }

    // cos and sin of the rotary angles for positions [B, T]: [B, 1, T, head_dim] each.
    std::pair<torch::Tensor, torch::Tensor> rope_tables(const torch::Tensor& positions) const {
        auto freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq;  // [B, T, hd/2]
        auto emb = torch::cat({freqs, freqs}, -1).unsqueeze(1);
        return {emb.cos().to(dtype), emb.sin().to(dtype)};
    }
    static void rope(torch::Tensor& q, torch::Tensor& k, const torch::Tensor& cos, const torch::Tensor& sin) {
        auto rotate = [](const torch::Tensor& x) {
            auto half = x.size(-1) / 2;
            return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
        };
        q = q * cos + rotate(q) * sin;
        k = k * cos + rotate(k) * sin;
    }
};

Transformer::Transformer(const ArchConfig& cfg, const WeightStore& store, const ModelOptions& options)
    : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.cfg = cfg;
    m.dtype = options.dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32;
    if (options.dtype != "float32" && options.dtype != "bfloat16")
        throw ModelError("unsupported compute dtype '" + options.dtype + "' (float32 or bfloat16)");
    if (options.device != "cpu") {
        try {
            m.device = torch::Device(options.device);
        } catch (const c10::Error&) {
            throw ModelError("unknown device '" + options.device + "' (cpu, cuda or cuda:N)");
        }
        if (!m.device.is_cuda()) throw ModelError("unsupported device '" + options.device + "' (cpu, cuda or cuda:N)");
        if (!torch::cuda::is_available())
            throw ModelError("device '" + options.device + "' requested, but this LibTorch has no CUDA support (or no GPU is visible)");
    }
    Loader L{store, m.dtype, m.device, options.control};
    const std::int64_t D = cfg.hidden_size, V = cfg.vocab_size, F = cfg.intermediate_size;
    const std::int64_t hd = cfg.head_dim, Hq = cfg.heads * hd, Hkv = cfg.kv_heads * hd;
    if (cfg.gpt2_style) {
        std::vector<std::string> p{"transformer.", ""};
        m.wte = L.get(names(p, "wte.weight"), {V, D});
        m.wpe = L.get(names(p, "wpe.weight"), {cfg.max_positions, D});
        for (std::int64_t i = 0; i < cfg.layers; ++i) {
            std::string h = "h." + std::to_string(i) + ".";
            Layer l;
            l.norm1_w = L.get(names(p, h + "ln_1.weight"), {D});
            l.norm1_b = L.get(names(p, h + "ln_1.bias"), {D});
            l.qkv_w = L.get(names(p, h + "attn.c_attn.weight"), {D, 3 * D});
            l.qkv_b = L.get(names(p, h + "attn.c_attn.bias"), {3 * D});
            l.o_w = L.get(names(p, h + "attn.c_proj.weight"), {D, D});
            l.o_b = L.get(names(p, h + "attn.c_proj.bias"), {D});
            l.norm2_w = L.get(names(p, h + "ln_2.weight"), {D});
            l.norm2_b = L.get(names(p, h + "ln_2.bias"), {D});
            l.fc_w = L.get(names(p, h + "mlp.c_fc.weight"), {D, F});
            l.fc_b = L.get(names(p, h + "mlp.c_fc.bias"), {F});
            l.proj_w = L.get(names(p, h + "mlp.c_proj.weight"), {F, D});
            l.proj_b = L.get(names(p, h + "mlp.c_proj.bias"), {D});
            m.layers.push_back(std::move(l));
        }
        m.final_w = L.get(names(p, "ln_f.weight"), {D});
        m.final_b = L.get(names(p, "ln_f.bias"), {D});
        m.lm_head = cfg.tie_word_embeddings ? m.wte : L.get({"lm_head.weight"}, {V, D});
    } else {
        m.wte = L.get({"model.embed_tokens.weight"}, {V, D});
        for (std::int64_t i = 0; i < cfg.layers; ++i) {
            std::string h = "model.layers." + std::to_string(i) + ".";
            Layer l;
            l.norm1_w = L.get({h + "input_layernorm.weight"}, {D});
            l.q_w = L.get({h + "self_attn.q_proj.weight"}, {Hq, D});
            l.k_w = L.get({h + "self_attn.k_proj.weight"}, {Hkv, D});
            l.v_w = L.get({h + "self_attn.v_proj.weight"}, {Hkv, D});
            if (cfg.qk_norm) {
                l.q_norm_w = L.get({h + "self_attn.q_norm.weight"}, {hd});
                l.k_norm_w = L.get({h + "self_attn.k_norm.weight"}, {hd});
            }
            if (cfg.qkv_bias) {
                l.q_b = L.get({h + "self_attn.q_proj.bias"}, {Hq});
                l.k_b = L.get({h + "self_attn.k_proj.bias"}, {Hkv});
                l.v_b = L.get({h + "self_attn.v_proj.bias"}, {Hkv});
            }
            l.o_w = L.get({h + "self_attn.o_proj.weight"}, {D, Hq});
            if (cfg.o_bias) l.o_b = L.get({h + "self_attn.o_proj.bias"}, {D});
            l.norm2_w = L.get({h + "post_attention_layernorm.weight"}, {D});
            l.gate_w = L.get({h + "mlp.gate_proj.weight"}, {F, D});
            l.up_w = L.get({h + "mlp.up_proj.weight"}, {F, D});
            l.down_w = L.get({h + "mlp.down_proj.weight"}, {D, F});
            if (cfg.mlp_bias) {
                l.gate_b = L.get({h + "mlp.gate_proj.bias"}, {F});
                l.up_b = L.get({h + "mlp.up_proj.bias"}, {F});
                l.down_b = L.get({h + "mlp.down_proj.bias"}, {D});
            }
            m.layers.push_back(std::move(l));
        }
        m.final_w = L.get({"model.norm.weight"}, {D});
        // Some tied checkpoints still ship lm_head.weight; an untied one must.
        m.lm_head = cfg.tie_word_embeddings ? m.wte : L.get({"lm_head.weight"}, {V, D});
        auto inv = 1.0 / torch::pow(cfg.rope_theta, torch::arange(0, hd, 2, torch::kFloat64) / static_cast<double>(hd));
        const RopeScaling& rs = cfg.rope_scaling;
        if (rs.type == "linear") {
            inv = inv / rs.factor;
        } else if (rs.type == "llama3") {
            double old_len = static_cast<double>(rs.original_max_position_embeddings);
            double low_wavelen = old_len / rs.low_freq_factor, high_wavelen = old_len / rs.high_freq_factor;
            auto wavelen = 2 * M_PI / inv;
            auto scaled = torch::where(wavelen > low_wavelen, inv / rs.factor, inv);
            auto smooth = (old_len / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
            auto smoothed = (1 - smooth) * scaled / rs.factor + smooth * scaled;
            auto medium = (wavelen >= high_wavelen).logical_and(wavelen <= low_wavelen);
            inv = torch::where(medium, smoothed, scaled);
        }
        m.inv_freq = inv.to(torch::kFloat32).to(m.device);
    }
    m.params = L.params;
}

Transformer::~Transformer() = default;

std::int64_t Transformer::parameter_count() const { return impl_->params; }

torch::Tensor Transformer::embed(const torch::Tensor& ids) const { return impl_->wte.index_select(0, ids.reshape(-1)).view({ids.size(0), ids.size(1), -1}); }

torch::Tensor Transformer::input_states(const torch::Tensor& embeddings, const torch::Tensor& positions) const {
    const Impl& m = *impl_;
    torch::Tensor h = embeddings.to(m.dtype);
    if (m.cfg.gpt2_style)
        h = h + m.wpe.index_select(0, positions.reshape(-1)).view({embeddings.size(0), embeddings.size(1), -1});
    return h;
}

torch::Tensor Transformer::logits(const torch::Tensor& hidden) const {
    return torch::matmul(hidden, impl_->lm_head.t()).to(torch::kFloat32);
}

KVCachePtr Transformer::new_cache(std::int64_t batch, std::int64_t capacity) const {
    const Impl& m = *impl_;
    KVCachePtr c(new KVCache);
    auto opts = torch::TensorOptions().dtype(m.dtype).device(m.device);
    for (std::int64_t i = 0; i < m.cfg.layers; ++i) {
        c->k.push_back(torch::zeros({batch, m.cfg.kv_heads, capacity, m.cfg.head_dim}, opts));
        c->v.push_back(torch::zeros({batch, m.cfg.kv_heads, capacity, m.cfg.head_dim}, opts));
    }
    return c;
}

torch::Tensor Transformer::forward(const torch::Tensor& embeddings, const torch::Tensor& key_mask,
                                   const torch::Tensor& positions, KVCache* cache, const LayerObserver* observer) const {
    return run(embeddings, key_mask, positions, cache, observer, nullptr);
}

torch::Tensor Transformer::forward_ids_rows(const torch::Tensor& ids, const torch::Tensor& key_mask,
                                            const torch::Tensor& positions, const torch::Tensor& rows) const {
    return run(embed(ids), key_mask, positions, nullptr, nullptr, &rows);
}

torch::Tensor Transformer::run(const torch::Tensor& embeddings, const torch::Tensor& key_mask, const torch::Tensor& positions,
                               KVCache* cache, const LayerObserver* observer, const torch::Tensor* rows) const {
    const Impl& m = *impl_;
    const ArchConfig& c = m.cfg;
    const std::int64_t B = embeddings.size(0), T = embeddings.size(1), hd = c.head_dim;
    const std::int64_t past = cache ? cache->length : 0, S = past + T;
    if (cache && S > cache->k[0].size(2)) throw ModelError("KV cache capacity exceeded");
    if (c.gpt2_style && positions.max().item<std::int64_t>() >= c.max_positions)
        throw ModelError("position " + std::to_string(positions.max().item<std::int64_t>()) + " is beyond the model's " +
                         std::to_string(c.max_positions) + " learned positions");

    torch::Tensor h = input_states(embeddings, positions);

    // Additive mask [B, 1, T, S]: causal, padding and (Mistral) sliding window.
    auto q_pos = torch::arange(past, S, torch::TensorOptions().dtype(torch::kLong).device(m.device)).view({T, 1});
    auto k_pos = torch::arange(0, S, torch::TensorOptions().dtype(torch::kLong).device(m.device)).view({1, S});
    auto allowed = (k_pos <= q_pos);
    if (c.sliding_window > 0) allowed = allowed.logical_and(q_pos - k_pos < c.sliding_window);
    allowed = allowed.view({1, 1, T, S}).logical_and(key_mask.to(torch::kBool).view({B, 1, 1, S}));
    auto mask = torch::zeros({B, 1, T, S}, torch::TensorOptions().dtype(torch::kFloat32).device(m.device))
                    .masked_fill(allowed.logical_not(), -1e9);
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    const std::int64_t groups = c.heads / c.kv_heads;
    torch::Tensor cos, sin;
    if (!c.gpt2_style) std::tie(cos, sin) = m.rope_tables(positions);
    const CancelToken* cancel = CancelScope::current();

    for (std::size_t li = 0; li < m.layers.size(); ++li) {
        const Layer& l = m.layers[li];
        cancel_point(h, cancel);
        auto x = m.norm(h, l.norm1_w, l.norm1_b);
        torch::Tensor q, k, v;
        if (c.gpt2_style) {
            auto qkv = torch::addmm(l.qkv_b, x.reshape({B * T, -1}), l.qkv_w).view({B, T, 3, c.heads, hd});
            q = qkv.select(2, 0).transpose(1, 2);
            k = qkv.select(2, 1).transpose(1, 2);
            v = qkv.select(2, 2).transpose(1, 2);
        } else {
            q = torch::linear(x, l.q_w, l.q_b).view({B, T, c.heads, hd});
            k = torch::linear(x, l.k_w, l.k_b).view({B, T, c.kv_heads, hd});
            if (c.qk_norm) {  // over each head's dimensions, before the rotation
                q = m.norm(q, l.q_norm_w, {});
                k = m.norm(k, l.k_norm_w, {});
            }
            q = q.transpose(1, 2);
            k = k.transpose(1, 2);
            v = torch::linear(x, l.v_w, l.v_b).view({B, T, c.kv_heads, hd}).transpose(1, 2);
            Impl::rope(q, k, cos, sin);
        }
        if (cache) {
            cache->k[li].narrow(2, past, T).copy_(k);
            cache->v[li].narrow(2, past, T).copy_(v);
            k = cache->k[li].narrow(2, 0, S);
            v = cache->v[li].narrow(2, 0, S);
        }
        // Grouped-query attention without copying keys and values: the query heads that share a key/value head
        // become rows of one product ([B, kv_heads, groups * T, hd] against [B, kv_heads, S, hd]).
        auto qg = q.reshape({B, c.kv_heads, groups * T, hd});
        // In place: a long window's [heads, T, S] scores are the largest activations; no extra copies of them.
        auto scores = torch::matmul(qg, k.transpose(-1, -2)).to(torch::kFloat32);
        scores.mul_(scale);
        scores = scores.view({B, c.kv_heads, groups, T, S});
        scores.add_(mask.view({B, 1, 1, T, S}));
        torch::Tensor probs;
        if (at::GradMode::is_enabled()) {
            probs = torch::softmax(scores, -1);
        } else {  // inference: softmax in place (the kernel maps rows element-wise), so a long window never
                  // holds two [heads, T, S] tensors
            probs = at::_softmax_out(scores, scores, -1, false);
        }
        probs = probs.view({B, c.heads, T, S});
        auto attn = torch::matmul(probs.to(v.scalar_type()).view({B, c.kv_heads, groups * T, S}), v)
                        .view({B, c.heads, T, hd})
                        .transpose(1, 2)
                        .reshape({B, T, -1});
        if (rows && li + 1 == m.layers.size()) {
            // Nothing after this layer reads other positions: finish it at the requested rows only.
            attn = attn.reshape({B * T, -1}).index_select(0, *rows).unsqueeze(0);
            h = h.reshape({B * T, -1}).index_select(0, *rows).unsqueeze(0);
        }
        const std::int64_t Bo = h.size(0), To = h.size(1);
        torch::Tensor out = c.gpt2_style ? torch::addmm(l.o_b, attn.reshape({Bo * To, -1}), l.o_w).view({Bo, To, -1})
                                         : torch::linear(attn, l.o_w, l.o_b);
        h = h + out;
        cancel_point(h, cancel);
        x = m.norm(h, l.norm2_w, l.norm2_b);
        if (c.gpt2_style) {
            auto f = torch::addmm(l.fc_b, x.reshape({Bo * To, -1}), l.fc_w);
            f = c.activation == "relu" ? torch::relu(f) : torch::gelu(f, c.activation == "gelu_new" ? "tanh" : "none");
            h = h + torch::addmm(l.proj_b, f, l.proj_w).view({Bo, To, -1});
        } else {
            h = h + torch::linear(torch::silu(torch::linear(x, l.gate_w, l.gate_b)) * torch::linear(x, l.up_w, l.up_b), l.down_w, l.down_b);
        }
        if (observer) (*observer)(static_cast<int>(li), probs, h);
    }
    if (cache) cache->length = S;
    auto out = m.norm(h, m.final_w, m.final_b);
    return rows ? out[0] : out;
}

}  // namespace lmwb

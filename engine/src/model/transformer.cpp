#include "transformer.h"

#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include <sys/mman.h>
#include <unistd.h>

#include "blocked_attention.h"
#include "decode_attention.h"
#include "decode_math.h"
#include "few_rows.h"
#include "host_memory.h"
#include "kv_cache.h"
#include "lmwb/control.h"
#include "widened_linear.h"

namespace lmwb {

namespace {
// Drops the resident pages of a read-only file mapping (they are read again from the file if touched later).
void release_pages(const void* data, std::size_t bytes) {
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto begin = reinterpret_cast<std::uintptr_t>(data) & ~(page - 1);
    const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes + page - 1) & ~(page - 1);
    ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

// float32 CPU weights from this size on are copied into memory of their own (model/host_memory.h); smaller ones
// (biases, norms) stay where they are, mapped or converted.
constexpr std::size_t weight_memory_from = std::size_t{1} << 20;

// Floats in a held weight matrix's row. A row of a multiple of 2 KiB puts the same columns of successive rows in
// the same few sets of the first-level cache, and the in-out decode kernels, which read a strip of columns down the
// rows and prefetch 32 rows ahead, then evict their own prefetches (GPT-2's MLP input weight, rows of 12 KiB: 37
// against 47 GB/s for the other matrices). Such rows get a cache line of padding that nothing reads.
std::int64_t padded_row(std::int64_t floats) { return floats * 4 % 2048 == 0 ? floats + 16 : floats; }

// dst = src (converted to dst's dtype; dst may be a transposed view), in blocks of about 2 MiB of rows split over
// the decode kernels' threads: writing fresh pages costs more than the copy (each is faulted in and zeroed first),
// and both cores can take that.
void copy_on_all_threads(const torch::Tensor& dst, const torch::Tensor& src) {
    auto rows_of = [](const torch::Tensor& t) { return t.dim() == 1 ? t.unsqueeze(1) : t.dim() > 2 ? t.flatten(1) : t; };
    const auto d = rows_of(dst), s = rows_of(src);
    const std::int64_t rows = d.size(0);
    const std::int64_t block = std::max<std::int64_t>(1, (std::int64_t{2} << 20) / d.element_size() / std::max<std::int64_t>(1, d.size(1)));
    few_rows::parallel((rows + block - 1) / block, [&](std::int64_t begin, std::int64_t end) {
        const std::int64_t from = begin * block, to = std::min(rows, end * block);
        d.narrow(0, from, to - from).copy_(s.narrow(0, from, to - from));
    });
}

// cache[:, :, position] = src [B, heads, 1, head_dim] (float32, head_dim contiguous) into a contiguous cache: a
// decode step's B x heads rows of head_dim floats, copied without two LibTorch copies' dispatch per layer (~10 µs).
void write_position(const torch::Tensor& cache, const torch::Tensor& src, std::int64_t position) {
    const std::int64_t B = src.size(0), H = src.size(1), hd = src.size(3), capacity = cache.size(2);
    float* out = cache.data_ptr<float>();
    const float* in = src.data_ptr<float>();
    for (std::int64_t b = 0; b < B; ++b)
        for (std::int64_t h = 0; h < H; ++h)
            std::memcpy(out + ((b * H + h) * capacity + position) * hd, in + b * src.stride(0) + h * src.stride(1),
                        static_cast<std::size_t>(hd) * sizeof(float));
}

// A point where a pass may stop: the forward checks the thread's cancel token here, and when gradients flow back
// through `h` the backward checks it again at the same point (a hook fires as the gradient reaches it).
void cancel_point(const torch::Tensor& h, const CancelToken* token) {
    if (!token) return;
    token->check();
    if (h.requires_grad()) h.register_hook([t = *token](const torch::Tensor&) { t.check(); });
}

// The start of a layer: a cancel point, and the layer reported to the thread's observer as the forward starts it and
// as the gradient leaves it.
void layer_point(const torch::Tensor& h, const CancelToken* token, const std::shared_ptr<const LayerObserver>& observer, int layer, int layers) {
    if (observer) (*observer)(LayerStep{layer, layers, false});
    cancel_point(h, token);
    if (observer && h.requires_grad())
        h.register_hook([observer, layer, layers](const torch::Tensor&) { (*observer)(LayerStep{layer, layers, true}); });
}
}  // namespace

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
    c->capacity = capacity;
    return c;
}

torch::Tensor Network::forward_ids_rows(const torch::Tensor& ids, const torch::Tensor& key_mask,
                                        const torch::Tensor& positions, const torch::Tensor& rows) const {
    auto states = forward_ids(ids, key_mask, positions, nullptr);
    return states.reshape({states.size(0) * states.size(1), states.size(2)}).index_select(0, rows);
}

torch::Tensor Network::final_norm(const torch::Tensor&) const {
    throw ModelError("this network does not expose its final norm");
}

torch::Tensor Network::forward_from(const torch::Tensor&, int, const torch::Tensor&, const torch::Tensor&, const TensorHooks*,
                                    KVCache*) const {
    throw ModelError("this network does not expose its layers (a TorchScript bundle runs as a whole)");
}
torch::Tensor Network::weights(const std::string&, const torch::Tensor&) const {
    throw ModelError("this network does not expose its weights (a TorchScript bundle runs as a whole)");
}

torch::Tensor Network::traced_attentions(const torch::Tensor&, const torch::Tensor&) const {
    throw ModelError("this network gives attentions through its hooks");
}
torch::Tensor Network::traced_hidden_states(const torch::Tensor&, const torch::Tensor&) const {
    throw ModelError("this network gives hidden states through its hooks");
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

    std::set<std::string> used;  // names of the tensors read
    bool meta = false;           // describing only: names, shapes and dtypes checked, no byte read (meta tensors)
    // Matrices stored in 16 bits stay so (mapped in place), computed in float32 as they are read (widened_linear.h);
    // vectors (norms, biases) are widened once.
    bool keep_16_bit = false;
    std::string held_16_bit;  // "bfloat16" or "float16" once a matrix is kept so

    const TensorView* find_any(const std::vector<std::string>& names) {
        for (auto& n : names)
            if (auto* t = store.find(n)) {
                used.insert(t->name);
                return t;
            }
        return nullptr;
    }
    // A weight by any of its names, checked against the expected shape.
    // columns_first: a 2-D weight that gets memory of its own (float32, CPU, >= weight_memory_from) is held as its
    // transpose [cols, rows] and returned as a [rows, cols] view of it (strides 1 and padded_row(rows)), for the decode
    // kernels' in-out layout (see Transformer()); any other stays row-major (rows padded alike), which the kernels
    // also read.
    torch::Tensor get(const std::vector<std::string>& names, std::vector<std::int64_t> shape, bool columns_first = false) {
        const TensorView* t = find_any(names);
        if (!t) throw ModelError(store.folder() + ": tensor '" + names.front() + "' is missing from the weights");
        if (t->shape != shape)
            throw ModelError(t->file + ": tensor '" + t->name + "' has shape " + shape_str(t->shape) + ", expected " +
                             shape_str(shape));
        if (t->dtype != DType::F32 && t->dtype != DType::F16 && t->dtype != DType::BF16 && t->dtype != DType::F64)
            throw ModelError(t->file + ": tensor '" + t->name + "' has dtype " + t->dtype_name + "; weights must be floating point");
        const bool stays_16_bit = keep_16_bit && shape.size() == 2 && (t->dtype == DType::BF16 || t->dtype == DType::F16);
        if (stays_16_bit) held_16_bit = t->dtype == DType::BF16 ? "bfloat16" : "float16";
        if (meta) {
            params += t->numel();
            return torch::empty(shape, torch::TensorOptions().dtype(dtype).device(torch::kMeta));
        }
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
        if (stays_16_bit) return raw;
        torch::Tensor out;
        const auto bytes = static_cast<std::size_t>(t->numel()) * c10::elementSize(dtype);
        if (device.is_cpu() && dtype == torch::kFloat32 && bytes >= weight_memory_from) {
            const bool matrix = shape.size() == 2, transposed = columns_first && matrix;
            const std::vector<std::int64_t> held = transposed ? std::vector<std::int64_t>{shape[1], shape[0]} : t->shape;
            std::vector<std::int64_t> strides(held.size(), 1);
            for (std::size_t i = held.size(); i-- > 1;) strides[i - 1] = strides[i] * held[i];
            if (matrix) strides[0] = padded_row(held[1]);
            const auto held_bytes = static_cast<std::size_t>(held[0] * strides[0]) * sizeof(float);
            if (void* p = allocate_weight_memory(held_bytes)) {
                out = torch::from_blob(p, held, strides, [held_bytes](void* q) { release_weight_memory(q, held_bytes); },
                                       torch::TensorOptions().dtype(dtype));
                if (transposed) out = out.t();
                copy_on_all_threads(out, raw);
            }
        }
        if (!out.defined()) {
            if (raw.data_ptr() == t->data && raw.scalar_type() == dtype && device.is_cpu()) return raw;  // used in place
            out = raw.scalar_type() == dtype && device.is_cpu() ? raw : raw.to(device, dtype);
        }
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

// x [.., in] times w [out, in] transposed. A few float32 rows on the CPU (decode steps, short prompts) go through
// the few-row kernels, which read the weight in place in its stored layout (model/few_rows.h); anything else, and
// any product autograd must see, through LibTorch.
// A weight held in 16 bits is widened as it is read, by the kernels or a block at a time (widened_linear.h).
torch::Tensor times_transposed(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b = {}) {
    const std::int64_t in = x.size(-1), rows = in > 0 ? x.numel() / in : 0;
    const few_rows::Isa isa = few_rows::best_isa();
    const bool held16 = held_in_16_bits(w) && x.scalar_type() == torch::kFloat32;
    const bool plain = x.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
                       (w.scalar_type() == torch::kFloat32 || held16) &&
                       (!b.defined() || (b.scalar_type() == torch::kFloat32 && b.dim() == 1 && b.stride(0) == 1)) &&
                       w.dim() == 2 && (w.stride(1) == 1 || w.stride(0) == 1);
    const bool tracked = at::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad() || (b.defined() && b.requires_grad()));
    if (!plain || tracked || rows < 1 || rows > few_rows::max_rows || (isa == few_rows::Isa::None && (rows > 1 || held16)))
        return held16 ? widened_linear(x, w, b) : torch::linear(x, w, b);
    auto sizes = x.sizes().vec();
    sizes.back() = w.size(0);
    if (isa == few_rows::Isa::None) {  // no kernels for this CPU: one row still streams the weight (docs/performance.md)
        auto y = torch::mv(w, x.reshape({in}));
        if (b.defined()) y.add_(b);
        return y.view(sizes);
    }
    const auto xc = x.contiguous();
    few_rows::Weight weight;
    weight.data = w.data_ptr();
    weight.element = w.scalar_type() == torch::kBFloat16 ? few_rows::Element::BF16
                     : w.scalar_type() == torch::kFloat16 ? few_rows::Element::F16 : few_rows::Element::F32;
    weight.outputs = w.size(0);
    weight.inputs = w.size(1);
    weight.layout = w.stride(1) == 1 ? few_rows::Layout::OutIn : few_rows::Layout::InOut;
    weight.ld = weight.layout == few_rows::Layout::OutIn ? w.stride(0) : w.stride(1);
    auto y = torch::empty(sizes, x.options());
    few_rows::multiply(xc.data_ptr<float>(), rows, weight, b.defined() ? b.data_ptr<float>() : nullptr, y.data_ptr<float>(), isa);
    return y;
}

struct Linear {
    torch::Tensor w, b;  // w [out, in] (a transposed view for Conv1D storage); b undefined without bias
    torch::Tensor operator()(const torch::Tensor& x) const { return times_transposed(x, w, b); }
};
struct Norm {
    torch::Tensor w, b;  // w undefined where the layout has no such norm
    bool present() const { return w.defined(); }
};

struct Layer {
    Norm attn_in, attn_out, mlp_in, mlp_out, q_norm, k_norm;
    Linear q, k, v, qkv, o;
    Linear up, gate, gate_up, down;
};

}  // namespace

struct Transformer::Impl {
    ArchConfig cfg;
    torch::ScalarType dtype;
    torch::Device device{torch::kCPU};
    torch::Tensor wte, wpe, lm_head;
    Norm final_norm;
    std::vector<Layer> layers;
    torch::Tensor inv_freq, inv_freq_long;  // RoPE [rotary_dims / 2]; the long one for LongRoPE
    std::int64_t params = 0;

    torch::Tensor norm(const torch::Tensor& x, const Norm& n) const {
        if (cfg.arch.norm == NormKind::LayerNorm) return torch::layer_norm(x, {x.size(-1)}, n.w, n.b, cfg.norm_eps);
        auto xf = x.to(torch::kFloat32);
        auto y = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + cfg.norm_eps);
        switch (cfg.arch.norm) {
            case NormKind::RMSNormFloatWeight: return (n.w.to(torch::kFloat32) * y).to(x.scalar_type());
            case NormKind::RMSNormUnitOffset: return (y * (1 + n.w.to(torch::kFloat32))).to(x.scalar_type());
            default: return n.w * y.to(x.scalar_type());
        }
    }

    torch::Tensor activation(const torch::Tensor& x) const {
        switch (cfg.activation) {
            case Activation::GeluTanh:
                if (x.size(-1) > 0 && x.numel() <= few_rows::max_rows * x.size(-1) && x.scalar_type() == torch::kFloat32 && x.is_cpu() &&
                    x.is_contiguous() && !(at::GradMode::is_enabled() && x.requires_grad())) {
                    // A decode step's few rows: one vectorised pass (LibTorch's tanh took 4x as long; model/decode_math.h).
                    auto y = torch::empty_like(x);
                    decode_math::gelu_tanh(x.data_ptr<float>(), y.data_ptr<float>(), x.numel() / x.size(-1), x.size(-1));
                    return y;
                }
                return torch::gelu(x, "tanh");
            case Activation::GeluExact: return torch::gelu(x);
            case Activation::Relu: return torch::relu(x);
            case Activation::Silu: return torch::silu(x);
        }
        return x;
    }

    torch::Tensor mlp(const Layer& l, const torch::Tensor& x) const {
        switch (cfg.arch.mlp) {
            case MlpKind::Plain: return l.down(activation(l.up(x)));
            case MlpKind::Gated: return l.down(activation(l.gate(x)) * l.up(x));
            case MlpKind::FusedGated: {
                auto gu = l.gate_up(x);
                const std::int64_t F = cfg.intermediate_size;
                return l.down(activation(gu.narrow(-1, 0, F)) * gu.narrow(-1, F, F));
            }
        }
        return x;
    }

    // With gradients, a product that reads each position alone, over many positions, in blocks of rows with a cancel
    // point between blocks, forward and backward: 256 floating-point operations per byte of the block size (32 MiB:
    // about 8.6 GFLOP forward, twice that backward). A 1 B model's MLP or projections over thousands of positions are
    // otherwise seconds of one product that a cancel cannot stop.
    template <class F>
    torch::Tensor grad_rows(const torch::Tensor& x, double flops_per_row, const F& f) const {
        const std::int64_t D = x.size(-1), positions = D > 0 ? x.numel() / D : 0;
        const std::int64_t rows = std::max<std::int64_t>(16, static_cast<std::int64_t>(256.0 * static_cast<double>(block_bytes) / flops_per_row));
        if (!at::GradMode::is_enabled() || positions <= rows) return f(x);
        const CancelToken* cancel = CancelScope::current();
        const auto flat = x.reshape({positions, D});
        std::vector<torch::Tensor> parts;
        for (std::int64_t r0 = 0; r0 < positions; r0 += rows) {
            if (cancel) cancel->check();
            parts.push_back(f(flat.narrow(0, r0, std::min(rows, positions - r0))));
            cancel_point(parts.back(), cancel);  // backward: checked before each block's gradient
        }
        auto out = torch::cat(parts, 0);
        auto sizes = x.sizes().vec();
        sizes.back() = out.size(-1);
        return out.view(sizes);
    }

    // The MLP of a long input a block of positions at a time (it reads each position alone). Inference: its
    // [positions, intermediate] activations, the largest of a pass, stay near block_bytes however long the input, with
    // a cancel point between blocks. With gradients: grad_rows.
    torch::Tensor mlp_in_blocks(const Layer& l, const torch::Tensor& x, bool grad) const {
        const std::int64_t D = x.size(-1), positions = D > 0 ? x.numel() / D : 0, I = std::max<std::int64_t>(1, cfg.intermediate_size);
        if (grad) return grad_rows(x, 6.0 * static_cast<double>(D) * static_cast<double>(I), [&](const torch::Tensor& part) { return mlp(l, part); });
        const std::int64_t rows = std::max<std::int64_t>(16, block_bytes / 4 / (2 * I));
        if (positions <= rows) return mlp(l, x);
        const CancelToken* cancel = CancelScope::current();
        const auto flat = x.reshape({positions, D});
        torch::Tensor out;
        for (std::int64_t r0 = 0; r0 < positions; r0 += rows) {
            const std::int64_t n = std::min(rows, positions - r0);
            if (cancel) cancel->check();
            auto part = mlp(l, flat.narrow(0, r0, n));
            if (!out.defined()) out = torch::empty({positions, part.size(-1)}, part.options());
            out.narrow(0, r0, n).copy_(part);
        }
        auto sizes = x.sizes().vec();
        sizes.back() = out.size(-1);
        return out.view(sizes);
    }

    // Queries [B, T, H, hd], keys and values [B, T, KV, hd] of the normed input x [B, T, D].
    std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> project(const Layer& l, const torch::Tensor& x) const {
        const std::int64_t B = x.size(0), T = x.size(1), H = cfg.heads, KV = cfg.kv_heads, hd = cfg.head_dim;
        torch::Tensor q, k, v;
        const double flops = 2.0 * static_cast<double>(x.size(-1)) * static_cast<double>((H + 2 * KV) * hd);  // per position
        const auto product = [&](const auto& linear) { return grad_rows(x, flops, [&](const torch::Tensor& part) { return linear(part); }); };
        switch (cfg.arch.qkv) {
            case QkvLayout::Separate: q = product(l.q), k = product(l.k), v = product(l.v); break;
            case QkvLayout::FusedRows: {
                auto qkv = product(l.qkv);
                q = qkv.narrow(-1, 0, H * hd), k = qkv.narrow(-1, H * hd, KV * hd), v = qkv.narrow(-1, (H + KV) * hd, KV * hd);
                break;
            }
            case QkvLayout::FusedPerHead: {
                auto qkv = product(l.qkv).view({B, T, H, 3, hd});
                return {qkv.select(3, 0), qkv.select(3, 1), qkv.select(3, 2)};
            }
        }
        if (cfg.arch.qk_norm == QkNorm::Whole) q = norm(q, l.q_norm), k = norm(k, l.k_norm);
        q = q.reshape({B, T, H, hd});
        k = k.reshape({B, T, KV, hd});
        if (cfg.arch.qk_norm == QkNorm::PerHead) q = norm(q, l.q_norm), k = norm(k, l.k_norm);
        return {q, k, v.reshape({B, T, KV, hd})};
    }

    // cos and sin of the rotary angles for positions [B, T]: [B, 1, T, rotary_dims] each. LongRoPE picks the long
    // factors for a row whose tokens so far (key_mask [B, S]) outnumber the original context (transformers decides per
    // call, on the batch's longest row; per row keeps a result independent of what it is batched with).
    std::pair<torch::Tensor, torch::Tensor> rope_tables(const torch::Tensor& positions, const torch::Tensor& key_mask) const {
        torch::Tensor inv = inv_freq.unsqueeze(0);  // [1 or B, rd/2]
        if (inv_freq_long.defined()) {
            auto long_rows = (key_mask.to(torch::kLong).sum(1) > cfg.rope_scaling.original_max_position_embeddings).unsqueeze(1);
            inv = torch::where(long_rows, inv_freq_long.unsqueeze(0), inv);
        }
        auto freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv.unsqueeze(1);  // [B, T, rd/2]
        auto emb = torch::cat({freqs, freqs}, -1).unsqueeze(1);
        auto cos = emb.cos(), sin = emb.sin();
        if (cfg.rope_scaling.attention_factor != 1.0) cos = cos * cfg.rope_scaling.attention_factor, sin = sin * cfg.rope_scaling.attention_factor;
        return {cos.to(dtype), sin.to(dtype)};
    }
    // Rotates the first rotary_dims of each head of x [B, heads, T, hd] (rotate-half within them).
    torch::Tensor rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) const {
        const std::int64_t rd = cfg.rotary_dims, half = rd / 2, hd = x.size(-1);
        if (!at::GradMode::is_enabled()) {
            // Inference: each half written straight into the output, without the rotated copy and the two products
            // the expression below holds at once (each as large as the queries: 268 MB at 32k tokens on a 1 B model).
            auto out = torch::empty_like(x);
            const auto x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
            auto o1 = out.narrow(-1, 0, half), o2 = out.narrow(-1, half, half);
            at::mul_out(o1, x1, cos.narrow(-1, 0, half));
            o1.addcmul_(x2, sin.narrow(-1, 0, half), -1);
            at::mul_out(o2, x2, cos.narrow(-1, half, half));
            o2.addcmul_(x1, sin.narrow(-1, half, half));
            if (rd < hd) out.narrow(-1, rd, hd - rd).copy_(x.narrow(-1, rd, hd - rd));
            return out;
        }
        auto rot = rd == x.size(-1) ? x : x.narrow(-1, 0, rd);
        auto turned = torch::cat({-rot.narrow(-1, half, half), rot.narrow(-1, 0, half)}, -1);
        auto out = rot * cos + turned * sin;
        return rd == x.size(-1) ? out : torch::cat({out, x.narrow(-1, rd, x.size(-1) - rd)}, -1);
    }

    // Query positions per block of blocked_attention: a block's float32 scores [heads, rows, S] stay near 32 MiB.
    std::int64_t query_block(std::int64_t S) const {
        return std::max<std::int64_t>(16, block_bytes / 4 / std::max<std::int64_t>(1, cfg.heads * S));
    }
    std::int64_t block_bytes = std::int64_t{32} << 20;

    torch::Tensor rope_inverse_frequencies(const std::vector<double>* divisors) const {
        const std::int64_t rd = cfg.rotary_dims;
        auto inv = 1.0 / torch::pow(cfg.rope_theta, torch::arange(0, rd, 2, torch::kFloat64) / static_cast<double>(rd));
        const RopeScaling& rs = cfg.rope_scaling;
        if (divisors) {
            inv = inv / torch::tensor(*divisors, torch::kFloat64);
        } else if (rs.type == "linear") {
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
        return inv.to(torch::kFloat32).to(device);
    }
};

std::string compute_dtype(const ModelOptions& options) {
    const bool cpu = options.device == "cpu";
    if (options.dtype == "auto") return cpu ? "float32" : "bfloat16";
    if (options.dtype == "float32" || options.dtype == "bfloat16") return options.dtype;
    if (options.dtype == "float16") {
        if (cpu) throw ModelError("float16 compute needs a GPU (--device cuda); on the CPU use bfloat16 or float32");
        return options.dtype;
    }
    throw ModelError("unsupported compute dtype '" + options.dtype + "' (auto, float32, bfloat16, or float16 on a GPU)");
}

Transformer::Transformer(const ArchConfig& cfg, const WeightStore& store, const ModelOptions& options)
    : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.cfg = cfg;
    if (options.attention_block_bytes > 0) m.block_bytes = static_cast<std::int64_t>(options.attention_block_bytes);
    const std::string dtype = compute_dtype(options);
    m.dtype = dtype == "bfloat16" ? torch::kBFloat16 : dtype == "float16" ? torch::kFloat16 : torch::kFloat32;
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
    const Architecture& a = cfg.arch;
    Loader L{store, m.dtype, m.device, options.control, 0, 0, {}, !options.load_weights, false, {}};
    L.keep_16_bit = m.device.is_cpu() && m.dtype == torch::kFloat32 && options.dtype == "auto";
    const std::int64_t D = cfg.hidden_size, V = cfg.vocab_size, F = cfg.intermediate_size;
    const std::int64_t hd = cfg.head_dim, Hq = cfg.heads * hd, Hkv = cfg.kv_heads * hd;
    auto get = [&](const std::string& name, std::vector<std::int64_t> shape, bool columns_first = false) {
        return L.get(names(a.prefixes, name), std::move(shape), columns_first);
    };
    // The decode kernels stream weights faster in the in-out layout (columns first) than row by row: the output head
    // ~45 against ~29 GB/s, a Llama-3.2-1B-shaped model's layers 27-32% faster a step (docs/performance.md). So
    // nn.Linear weights and the head are held that way where the kernels run; Conv1D weights already are. A tied
    // embedding is the head's tensor: token lookups then gather a strided row, which costs microseconds.
    const bool columns_first = few_rows::best_isa() != few_rows::Isa::None;
    auto linear = [&](const std::string& name, std::int64_t out, std::int64_t in, bool bias) {
        Linear lin;
        lin.w = a.conv1d ? get(name + ".weight", {in, out}).t() : get(name + ".weight", {out, in}, columns_first);
        if (bias) lin.b = get(name + ".bias", {out});
        return lin;
    };
    auto norm = [&](const std::string& name, std::int64_t size) {
        Norm n;
        if (name.empty()) return n;
        n.w = get(name + ".weight", {size});
        if (a.norm == NormKind::LayerNorm) n.b = get(name + ".bias", {size});
        return n;
    };
    m.wte = get(a.embed, {V, D}, cfg.tie_word_embeddings && columns_first);
    if (!a.positions.empty()) m.wpe = get(a.positions, {cfg.max_positions, D});
    const LayerNames& n = a.names;
    for (std::int64_t i = 0; i < cfg.layers; ++i) {
        const std::string h = a.layer + std::to_string(i) + ".";
        auto at = [&](const std::string& name) { return name.empty() ? name : h + name; };
        Layer l;
        l.attn_in = norm(at(n.attn_in_norm), D);
        l.attn_out = norm(at(n.attn_out_norm), D);
        l.mlp_in = norm(at(n.mlp_in_norm), D);
        l.mlp_out = norm(at(n.mlp_out_norm), D);
        if (a.qkv == QkvLayout::Separate) {
            l.q = linear(h + n.q, Hq, D, cfg.qkv_bias);
            l.k = linear(h + n.k, Hkv, D, cfg.qkv_bias);
            l.v = linear(h + n.v, Hkv, D, cfg.qkv_bias);
        } else {
            l.qkv = linear(h + n.qkv, Hq + 2 * Hkv, D, cfg.qkv_bias);
        }
        if (a.qk_norm != QkNorm::None) {
            const bool whole = a.qk_norm == QkNorm::Whole;
            l.q_norm = norm(at(n.q_norm), whole ? Hq : hd);
            l.k_norm = norm(at(n.k_norm), whole ? Hkv : hd);
        }
        l.o = linear(h + n.o, D, Hq, cfg.o_bias);
        if (a.mlp == MlpKind::FusedGated) l.gate_up = linear(h + n.gate_up, 2 * F, D, cfg.mlp_bias);
        if (a.mlp == MlpKind::Gated) l.gate = linear(h + n.gate, F, D, cfg.mlp_bias);
        if (a.mlp != MlpKind::FusedGated) l.up = linear(h + n.up, F, D, cfg.mlp_bias);
        l.down = linear(h + n.down, D, F, cfg.mlp_bias);
        m.layers.push_back(std::move(l));
    }
    m.final_norm = norm(a.final_norm, D);
    // Some tied checkpoints still ship the head's weight; an untied one must.
    m.lm_head = cfg.tie_word_embeddings ? m.wte : get(a.lm_head, {V, D}, columns_first);
    if (cfg.rotary_dims > 0) {
        const RopeScaling& rs = cfg.rope_scaling;
        const bool longrope = rs.type == "longrope";
        m.inv_freq = m.rope_inverse_frequencies(longrope ? &rs.short_factor : nullptr);
        if (longrope) m.inv_freq_long = m.rope_inverse_frequencies(&rs.long_factor);
    }
    m.params = L.params;
    held_dtype_ = L.held_16_bit.empty() ? dtype : L.held_16_bit;
    // Tensors nothing reads: buffers some exporters save (GPT-2's causal masks, rotary tables) are expected; anything
    // else means the configuration and the weights disagree (e.g. num_hidden_layers below the checkpoint's layers).
    for (const auto& name : store.names()) {
        if (L.used.count(name)) continue;
        auto ends = [&](const char* suffix) {
            const std::string s(suffix);
            return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
        };
        if (ends(".attn.bias") || ends(".attn.masked_bias") || ends("rotary_emb.inv_freq") || (cfg.tie_word_embeddings && name == a.lm_head)) continue;
        unused_.push_back(name);
    }
}

const std::vector<std::string>& Transformer::unused_tensors() const { return unused_; }
const std::string& Transformer::held_dtype() const { return held_dtype_; }

Transformer::~Transformer() = default;

std::int64_t Transformer::parameter_count() const { return impl_->params; }

torch::Tensor Transformer::embed(const torch::Tensor& ids) const {
    return impl_->wte.index_select(0, ids.reshape(-1)).view({ids.size(0), ids.size(1), -1}).to(impl_->dtype);
}

torch::Tensor Transformer::input_states(const torch::Tensor& embeddings, const torch::Tensor& positions) const {
    const Impl& m = *impl_;
    torch::Tensor h = embeddings.to(m.dtype);
    if (m.wpe.defined())
        h = h + m.wpe.index_select(0, positions.reshape(-1)).view({embeddings.size(0), embeddings.size(1), -1});
    if (m.cfg.arch.embed_scaled)  // √hidden rounded to the compute dtype, as transformers' Gemma does
        h = h * torch::scalar_tensor(std::sqrt(static_cast<double>(m.cfg.hidden_size)), h.options());
    return h;
}

torch::Tensor Transformer::logits(const torch::Tensor& hidden) const {
    auto out = times_transposed(hidden, impl_->lm_head).to(torch::kFloat32);
    if (const double cap = impl_->cfg.final_softcap; cap > 0) out = torch::tanh(out / cap) * cap;
    return out;
}

torch::Tensor Transformer::final_norm(const torch::Tensor& residual) const {
    return impl_->norm(residual.to(impl_->dtype), impl_->final_norm);
}

KVCachePtr Transformer::new_cache(std::int64_t batch, std::int64_t capacity) const {
    const Impl& m = *impl_;
    KVCachePtr c(new KVCache);
    auto opts = torch::TensorOptions().dtype(m.dtype).device(m.device);
    for (std::int64_t i = 0; i < m.cfg.layers; ++i) {
        c->k.push_back(torch::zeros({batch, m.cfg.kv_heads, capacity, m.cfg.head_dim}, opts));
        c->v.push_back(torch::zeros({batch, m.cfg.kv_heads, capacity, m.cfg.head_dim}, opts));
    }
    c->capacity = capacity;
    return c;
}

torch::Tensor Transformer::forward(const torch::Tensor& embeddings, const torch::Tensor& key_mask,
                                   const torch::Tensor& positions, KVCache* cache, const TensorHooks* hooks) const {
    Pass p;
    p.input = &embeddings, p.key_mask = &key_mask, p.positions = &positions, p.cache = cache, p.hooks = hooks;
    return run(p);
}

torch::Tensor Transformer::forward_ids_rows(const torch::Tensor& ids, const torch::Tensor& key_mask,
                                            const torch::Tensor& positions, const torch::Tensor& rows) const {
    auto embeddings = embed(ids);
    Pass p;
    p.input = &embeddings, p.key_mask = &key_mask, p.positions = &positions, p.rows = &rows, p.consumed = &embeddings;
    return run(p);
}

torch::Tensor Transformer::forward_from(const torch::Tensor& residual, int first_layer, const torch::Tensor& key_mask,
                                        const torch::Tensor& positions, const TensorHooks* hooks, KVCache* cache) const {
    if (first_layer < 0 || first_layer > impl_->cfg.layers) throw ModelError("layer " + std::to_string(first_layer) + " out of range");
    Pass p;
    p.input = &residual, p.from_residual = true, p.first_layer = first_layer;
    p.key_mask = &key_mask, p.positions = &positions, p.cache = cache, p.hooks = hooks;
    return run(p);
}

std::string Transformer::final_norm_kind() const {
    if (!impl_->final_norm.present()) return {};
    return impl_->cfg.arch.norm == NormKind::LayerNorm ? "layernorm" : "rmsnorm";
}

torch::Tensor Transformer::weights(const std::string& name, const torch::Tensor& rows) const {
    const Impl& m = *impl_;
    const std::int64_t D = m.cfg.hidden_size, H = m.cfg.heads, hd = m.cfg.head_dim;
    if (name == "unembed.W_U") return m.lm_head.index_select(0, rows).to(torch::kFloat32);
    if (name == "ln_final.w" || name == "ln_final.b") {
        const Norm& n = m.final_norm;
        if (!n.present()) throw ModelError(m.cfg.model_type + " has no final norm");
        if (name == "ln_final.b") return n.b.defined() ? n.b.to(torch::kFloat32) : torch::zeros({D}, torch::TensorOptions().device(m.device));
        auto w = n.w.to(torch::kFloat32);
        return m.cfg.arch.norm == NormKind::RMSNormUnitOffset ? 1 + w : w;
    }
    const std::string blocks = "blocks.", w_o = ".attn.W_O";
    if (name.rfind(blocks, 0) == 0 && name.size() > blocks.size() + w_o.size() && name.compare(name.size() - w_o.size(), w_o.size(), w_o) == 0) {
        const std::string number = name.substr(blocks.size(), name.size() - blocks.size() - w_o.size());
        if (!number.empty() && number.size() < 6 && std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            const int layer = std::stoi(number);
            if (layer >= m.cfg.layers) throw ModelError(name + ": the model has " + std::to_string(m.cfg.layers) + " layers");
            const Layer& l = m.layers[static_cast<std::size_t>(layer)];
            if (l.attn_out.present())
                throw ModelError(m.cfg.model_type + " normalises the attention output after its projection: heads do not add up to it");
            // o.w [D, H * hd] (possibly held transposed): head h owns columns h*hd .. (h+1)*hd
            return l.o.w.to(torch::kFloat32).reshape({D, H, hd}).permute({1, 2, 0}).contiguous();
        }
    }
    throw ModelError("unknown weight view '" + name + "' (unembed.W_U, blocks.{layer}.attn.W_O, ln_final.w, ln_final.b)");
}

torch::Tensor Transformer::run(const Pass& pass) const {
    const Impl& m = *impl_;
    const torch::Tensor &embeddings = *pass.input, &key_mask = *pass.key_mask, &positions = *pass.positions;
    KVCache* cache = pass.cache;
    const torch::Tensor* rows = pass.rows;
    const TensorHooks* hooks = pass.hooks;
    const ArchConfig& c = m.cfg;
    const std::int64_t B = embeddings.size(0), T = embeddings.size(1), hd = c.head_dim;
    const std::int64_t past = cache ? cache->length : 0, S = past + T;
    if (cache && S > cache->capacity) throw ModelError("KV cache capacity exceeded");
    if (m.wpe.defined() && positions.max().item<std::int64_t>() >= c.max_positions)
        throw ModelError("position " + std::to_string(positions.max().item<std::int64_t>()) + " is beyond the model's " +
                         std::to_string(c.max_positions) + " learned positions");

    // A pass from the residual stream entering first_layer instead of token embeddings.
    torch::Tensor h = pass.from_residual ? embeddings : input_states(embeddings, positions);
    if (pass.consumed) *pass.consumed = torch::Tensor();  // `embeddings` refers to it: not read below
    auto hook = [&](int layer, HookKind kind, torch::Tensor& value) {
        const HookPoint point{layer, kind};
        if (hooks && hooks->wants(point)) hooks->call(point, value);
    };
    if (pass.first_layer > 0) hook(pass.first_layer - 1, HookKind::ResidPost, h);

    // Additive masks [B, 1, T, S]: causal and padding, one per distinct sliding window among the layers.
    auto q_pos = torch::arange(past, S, torch::TensorOptions().dtype(torch::kLong).device(m.device)).view({T, 1});
    auto k_pos = torch::arange(0, S, torch::TensorOptions().dtype(torch::kLong).device(m.device)).view({1, S});
    auto padding = key_mask.to(torch::kBool).view({B, 1, 1, S});
    std::map<std::int64_t, torch::Tensor> masks;
    auto mask_for = [&](std::int64_t window) -> const torch::Tensor& {
        auto& mask = masks[window];
        if (!mask.defined()) {
            auto allowed = (k_pos <= q_pos);
            if (window > 0) allowed = allowed.logical_and(q_pos - k_pos < window);
            allowed = allowed.view({1, 1, T, S}).logical_and(padding);
            mask = torch::zeros({B, 1, T, S}, torch::TensorOptions().dtype(torch::kFloat32).device(m.device))
                       .masked_fill(allowed.logical_not(), -1e9);
        }
        return mask;
    };
    const std::int64_t groups = c.heads / c.kv_heads;
    torch::Tensor cos, sin;
    if (c.rotary_dims > 0) std::tie(cos, sin) = m.rope_tables(positions, key_mask);
    const CancelToken* cancel = CancelScope::current();
    const auto observer = LayerScope::current();
    const bool grad = at::GradMode::is_enabled();
    // Inference with one query position per row on the CPU in float32, nobody asking for the probabilities.
    const bool decode_step = T == 1 && !grad && !hooks && m.device.is_cpu() && m.dtype == torch::kFloat32;

    for (auto li = static_cast<std::size_t>(pass.first_layer); li < m.layers.size(); ++li) {
        const Layer& l = m.layers[li];
        const int layer = static_cast<int>(li);
        layer_point(h, cancel, observer, layer, static_cast<int>(m.layers.size()));
        hook(layer, HookKind::ResidPre, h);
        auto x = l.attn_in.present() ? m.norm(h, l.attn_in) : h;
        auto [q, k, v] = m.project(l, x);
        // Each [B, T, ..] activation is let go as soon as nothing reads it: a long input's peak is a few of them.
        x = torch::Tensor();
        q = q.transpose(1, 2);
        k = k.transpose(1, 2);
        v = v.transpose(1, 2);
        if (c.rotary_dims > 0) q = m.rope(q, cos, sin), k = m.rope(k, cos, sin);
        if (cache) {
            if (decode_step && k.stride(3) == 1 && v.stride(3) == 1 && cache->k[li].is_contiguous() && cache->v[li].is_contiguous()) {
                write_position(cache->k[li], k, past);
                write_position(cache->v[li], v, past);
            } else {
                cache->k[li].narrow(2, past, T).copy_(k);
                cache->v[li].narrow(2, past, T).copy_(v);
            }
            k = cache->k[li].narrow(2, 0, S);
            v = cache->v[li].narrow(2, 0, S);
        }
        torch::Tensor probs, attn;
        const std::int64_t query_rows = m.query_block(S);
        const bool pattern_wanted = hooks && hooks->wants({layer, HookKind::Pattern});
        // Probabilities read a block at a time need no whole matrix either.
        const bool pattern_in_blocks = pattern_wanted && hooks->pattern_block && !grad;
        const bool blocked = !decode_step && ((query_rows < T && !pattern_wanted) || pattern_in_blocks);
        if (blocked) {
            const AttentionVisitor visit = [&](std::int64_t first_row, const torch::Tensor& block) { hooks->pattern_block(layer, first_row, block); };
            attn = blocked_attention(q, k, v, key_mask, past, c.layer_window[li], query_rows,
                                     {c.heads, c.kv_heads, hd, c.attention_scale, c.attn_softcap}, pattern_in_blocks ? &visit : nullptr);
        } else if (decode_step && k.stride(3) == 1 && v.stride(3) == 1) {
            // One query position per row: scores, softmax and values in one kernel (model/decode_attention.h).
            const auto qc = q.contiguous();
            const auto& mask = mask_for(c.layer_window[li]);
            attn = torch::empty({B, T, c.heads * hd}, qc.options());
            decode_attention::Problem problem{B, c.heads, c.kv_heads, S, hd, qc.data_ptr<float>(),
                                              {k.data_ptr<float>(), k.stride(0), k.stride(1), k.stride(2)},
                                              {v.data_ptr<float>(), v.stride(0), v.stride(1), v.stride(2)},
                                              mask.data_ptr<float>(), c.attention_scale, c.attn_softcap, attn.data_ptr<float>()};
            decode_attention::run(problem);
        } else {
            // Grouped-query attention without copying keys and values: the query heads that share a key/value head
            // become rows of one product ([B, kv_heads, groups * T, hd] against [B, kv_heads, S, hd]).
            auto qg = q.reshape({B, c.kv_heads, groups * T, hd});
            // In place: a long window's [heads, T, S] scores are the largest activations; no extra copies of them.
            auto scores = torch::matmul(qg, k.transpose(-1, -2)).to(torch::kFloat32);
            scores.mul_(c.attention_scale);
            if (c.attn_softcap > 0) {
                if (grad) scores = torch::tanh(scores / c.attn_softcap) * c.attn_softcap;
                else scores.div_(c.attn_softcap).tanh_().mul_(c.attn_softcap);
            }
            scores = scores.view({B, c.kv_heads, groups, T, S});
            scores.add_(mask_for(c.layer_window[li]).view({B, 1, 1, T, S}));
            if (grad) {
                probs = torch::softmax(scores, -1);
            } else {  // inference: softmax in place (the kernel maps rows element-wise), so a long window never
                      // holds two [heads, T, S] tensors
                probs = at::_softmax_out(scores, scores, -1, false);
            }
            probs = probs.view({B, c.heads, T, S});
            hook(layer, HookKind::Pattern, probs);
            attn = torch::matmul(probs.to(v.scalar_type()).view({B, c.kv_heads, groups * T, S}), v)
                       .view({B, c.heads, T, hd})
                       .transpose(1, 2)
                       .reshape({B, T, -1});
        }
        q = k = v = probs = torch::Tensor();
        if (hooks && hooks->wants({layer, HookKind::Z})) {
            auto z = attn.view({B, T, c.heads, hd});
            hook(layer, HookKind::Z, z);
            attn = z.reshape({B, T, -1});
        }
        if (rows && li + 1 == m.layers.size()) {
            // Nothing after this layer reads other positions: finish it at the requested rows only.
            attn = attn.reshape({B * T, -1}).index_select(0, *rows).unsqueeze(0);
            h = h.reshape({B * T, -1}).index_select(0, *rows).unsqueeze(0);
        }
        auto a = m.grad_rows(attn, 2.0 * static_cast<double>(attn.size(-1)) * static_cast<double>(c.hidden_size),
                             [&](const torch::Tensor& part) { return l.o(part); });
        attn = torch::Tensor();
        if (l.attn_out.present()) a = m.norm(a, l.attn_out);
        hook(layer, HookKind::AttnOut, a);
        if (c.parallel_residual) {  // both branches read the layer's input
            auto f = m.mlp_in_blocks(l, m.norm(h, l.mlp_in), grad);
            hook(layer, HookKind::MlpOut, f);
            h = h + a + f;
        } else {
            h = h + a;
            a = torch::Tensor();
            cancel_point(h, cancel);
            auto f = m.mlp_in_blocks(l, l.mlp_in.present() ? m.norm(h, l.mlp_in) : h, grad);
            if (l.mlp_out.present()) f = m.norm(f, l.mlp_out);
            hook(layer, HookKind::MlpOut, f);
            h = h + f;
        }
        hook(layer, HookKind::ResidPost, h);
    }
    if (cache) cache->length = S;
    auto out = m.norm(h, m.final_norm);
    return rows ? out[0] : out;
}

}  // namespace lmwb

#include <algorithm>
#include <limits>
#include <memory>

#include "lmwb/attribution.h"
#include "lmwb/model.h"
#include "utf8.h"

namespace lmwb::attr {

void stream_attention_blocks(const LanguageModel& m, const std::vector<std::int32_t>& ids, const AttentionBlockVisitor& visit,
                             const std::vector<int>& only) {
    const int layers = static_cast<int>(m.info().layers);
    if (layers <= 0) throw ModelError(m.info().path + ": the model does not say how many layers it has (a bundle's lmwb.json \"layers\")");
    std::vector<Hook> hooks;
    for (int l = 0; l < layers; ++l) {
        if (!only.empty() && std::find(only.begin(), only.end(), l) == only.end()) continue;
        hooks.push_back({HookPoint{l, HookKind::Pattern}, [&visit, l](HookValue& v) {
                             visit(l, static_cast<int>(v.shape[0]), v.first_position, static_cast<int>(v.shape[1]), static_cast<int>(v.shape[2]), v.data);
                         }});
    }
    m.run_hooked(ids, nullptr, {hooks}, {});
}

void stream_attentions(const LanguageModel& m, const std::vector<std::int32_t>& ids,
                       const std::function<void(int layer, int heads, int length, const float* data)>& visit, const std::vector<int>& only) {
    std::vector<float> map;  // the layer being assembled from blocks of query positions: [heads][T][T]
    stream_attention_blocks(m, ids, [&](int l, int heads, int first_position, int rows, int length, const float* data) {
        const auto H = static_cast<std::size_t>(heads), n = static_cast<std::size_t>(rows), T = static_cast<std::size_t>(length),
                   first = static_cast<std::size_t>(first_position);
        if (first == 0 && n == T) return visit(l, heads, length, data);  // whole
        if (first == 0) map.assign(H * T * T, 0.0f);
        for (std::size_t h = 0; h < H; ++h)
            std::copy(data + h * n * T, data + (h + 1) * n * T, map.begin() + static_cast<std::ptrdiff_t>(h * T * T + first * T));
        if (first + n == T) visit(l, heads, length, map.data());
    }, only);
}

void Rollout::add(const double* a) {
    const std::size_t n = static_cast<std::size_t>(length_);
    if (r_.empty()) {
        r_.assign(n * n, 0.0);
        for (std::size_t i = 0; i < n; ++i) r_[i * n + i] = 1;
    }
    bool causal = true;
    for (std::size_t i = 0; i < n && causal; ++i)
        for (std::size_t j = i + 1; j < n; ++j)
            if (a[i * n + j] != 0) {
                causal = false;
                break;
            }
    // Â = (A + I) normalised by rows; R ← Â · R. Causal maps keep both triangular: a sixth of the work.
    std::vector<double> hat(n * n), next(n * n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
        double s = 0;
        for (std::size_t j = 0; j < n; ++j) s += hat[i * n + j] = a[i * n + j] + (i == j ? 1.0 : 0.0);
        for (std::size_t j = 0; j < n; ++j) hat[i * n + j] /= s;
    }
    for (std::size_t i = 0; i < n; ++i) {
        std::size_t kmax = causal ? i + 1 : n;
        for (std::size_t k = 0; k < kmax; ++k) {
            double h = hat[i * n + k];
            if (h == 0) continue;
            std::size_t jmax = causal ? k + 1 : n;
            const double* rk = r_.data() + k * n;
            double* out = next.data() + i * n;
            for (std::size_t j = 0; j < jmax; ++j) out[j] += h * rk[j];
        }
    }
    r_.swap(next);
}

std::vector<double> attention_rollout(const std::vector<std::vector<double>>& layers, int T) {
    Rollout r(T);
    for (const auto& a : layers) {
        if (a.size() != static_cast<std::size_t>(T) * static_cast<std::size_t>(T))
            throw AttributionError("attention rollout: a layer's map has the wrong size");
        r.add(a.data());
    }
    return r.result();
}

namespace {

void require_attentions(const LanguageModel& m) {
    const auto& caps = m.info().capabilities;
    if (std::find(caps.begin(), caps.end(), "attentions") == caps.end())
        throw AttributionError("this model does not expose attentions (" + m.info().format + ")");
}

constexpr float kMasked = std::numeric_limits<float>::quiet_NaN();

// Whether every head gives key position k of query row r exactly 0: [heads][rows][T] data.
bool masked(const float* data, std::size_t heads, std::size_t rows, std::size_t T, std::size_t r, std::size_t k) {
    for (std::size_t h = 0; h < heads; ++h)
        if (data[(h * rows + r) * T + k] != 0.0f) return false;
    return true;
}

// One layer's cells of `block` tokens, filled a block of query rows at a time: sums and counts of the unmasked
// positions per head, the head mean's sum and the head max.
class DisplayLayer {
public:
    DisplayLayer(int length, int block, int display) : T_(length), b_(block), D_(static_cast<std::size_t>(display)) {}
    void add(int heads, int first, int rows, const float* data) {
        const std::size_t H = static_cast<std::size_t>(heads), n = static_cast<std::size_t>(rows), T = static_cast<std::size_t>(T_);
        if (sums_.empty()) {
            H_ = H;
            sums_.assign(H * D_ * D_, 0.0);
            mean_.assign(D_ * D_, 0.0);
            max_.assign(D_ * D_, 0.0f);
            count_.assign(D_ * D_, 0);
        }
        for (std::size_t r = 0; r < n; ++r) {
            const std::size_t ci = (static_cast<std::size_t>(first) + r) / static_cast<std::size_t>(b_);
            for (std::size_t k = 0; k < T; ++k) {
                // A masked position (every head exactly 0) adds nothing to the sums and is not counted.
                const std::size_t cell = ci * D_ + k / static_cast<std::size_t>(b_);
                double mean = 0;
                bool unmasked = false;
                for (std::size_t h = 0; h < H; ++h) {
                    const float v = data[(h * n + r) * T + k];
                    unmasked = unmasked || v != 0.0f;
                    sums_[h * D_ * D_ + cell] += v;
                    mean += v;
                    max_[cell] = std::max(max_[cell], v);
                }
                mean_[cell] += mean / static_cast<double>(H);
                count_[cell] += unmasked;
            }
        }
    }
    void append_to(AttentionMaps& out) const {
        for (std::size_t h = 0; h < H_; ++h)
            for (std::size_t c = 0; c < D_ * D_; ++c)
                out.heads_display.push_back(count_[c] ? static_cast<float>(sums_[h * D_ * D_ + c] / static_cast<double>(count_[c])) : kMasked);
        for (std::size_t c = 0; c < D_ * D_; ++c) {
            out.mean_display.push_back(count_[c] ? static_cast<float>(mean_[c] / static_cast<double>(count_[c])) : kMasked);
            out.max_display.push_back(count_[c] ? max_[c] : kMasked);
        }
    }

private:
    int T_, b_;
    std::size_t D_, H_ = 0;
    std::vector<double> sums_, mean_;
    std::vector<float> max_;
    std::vector<std::size_t> count_;
};

}  // namespace

AttentionMaps attention_maps(const LanguageModel& m, std::string_view text, int layer, int head, int display_limit,
                             const Control& control) {
    CancelScope cancel_scope(control.cancel);
    require_attentions(m);
    AttentionMaps out;
    std::vector<std::int32_t> ids;
    out.tokens = prompt_tokens(m.tokenizer(), text, ids);
    if (ids.empty()) throw AttributionError("the text has no tokens");
    const int T = static_cast<int>(ids.size());
    const std::size_t TT = static_cast<std::size_t>(T) * static_cast<std::size_t>(T);
    out.length = T;
    const bool display = display_limit > 0;
    // Uniform blocks of `block` tokens (the last may be shorter), so that every display cell covers the same span.
    out.block = display ? (T + display_limit - 1) / display_limit : 1;
    out.display = display ? (T + out.block - 1) / out.block : 0;
    const bool rolled = !display || T <= AttentionMaps::kRolloutTokens;
    Rollout rollout(T);
    std::vector<double> mean;  // the layer's head mean [T][T], for rollout and full resolution
    std::vector<float> mx;
    std::unique_ptr<DisplayLayer> cells;
    const auto L = static_cast<std::size_t>(m.info().layers);
    control.report(0, L, "layers");
    try {
        stream_attention_blocks(m, ids, [&](int l, int h, int first, int rows, int len, const float* a) {
            control.check();
            const auto H = static_cast<std::size_t>(h), n = static_cast<std::size_t>(rows), Tn = static_cast<std::size_t>(len);
            if (first == 0) {
                out.heads = h;
                if (rolled) mean.assign(TT, 0.0);
                if (!display) mx.assign(TT, 0.0f);
                if (display) cells = std::make_unique<DisplayLayer>(len, out.block, out.display);
                if (l == layer && head >= 0) {
                    if (head >= h) throw AttributionError("head " + std::to_string(head) + " does not exist (the model has " + std::to_string(h) + ")");
                    out.selected.assign(TT, 0.0f);
                }
            }
            for (std::size_t k = 0; k < H; ++k)
                for (std::size_t r = 0; r < n; ++r) {
                    const float* row = a + (k * n + r) * Tn;
                    const std::size_t at = (static_cast<std::size_t>(first) + r) * Tn;
                    if (rolled)
                        for (std::size_t j = 0; j < Tn; ++j) mean[at + j] += row[j] / static_cast<double>(h);
                    if (!display)
                        for (std::size_t j = 0; j < Tn; ++j) mx[at + j] = std::max(mx[at + j], row[j]);
                    if (l == layer && static_cast<int>(k) == head) std::copy(row, row + Tn, out.selected.begin() + static_cast<std::ptrdiff_t>(at));
                }
            if (display) cells->add(h, first, rows, a);
            if (first + rows < len) return;
            if (display) cells->append_to(out);
            else {
                out.head_mean.insert(out.head_mean.end(), mean.begin(), mean.end());
                out.head_max.insert(out.head_max.end(), mx.begin(), mx.end());
            }
            if (rolled) rollout.add(mean.data());
            out.layers = l + 1;
            control.report(static_cast<std::size_t>(l) + 1, std::max(L, static_cast<std::size_t>(l) + 1), "layers");
        });
    } catch (const ModelError& e2) {
        throw AttributionError(e2.what());
    }
    if (layer >= out.layers) throw AttributionError("layer " + std::to_string(layer) + " does not exist (the model has " + std::to_string(out.layers) + ")");
    if (rolled) out.rollout = rollout.result();
    return out;
}

AttentionWindow attention_window(const LanguageModel& m, std::string_view text, int layer, int first, int last, const Control& control) {
    CancelScope cancel_scope(control.cancel);
    require_attentions(m);
    const int layers = static_cast<int>(m.info().layers);
    if (layer < 0 || layer >= layers) throw AttributionError("layer " + std::to_string(layer) + " does not exist (the model has " + std::to_string(layers) + ")");
    AttentionWindow out;
    std::vector<std::int32_t> ids;
    out.tokens = prompt_tokens(m.tokenizer(), text, ids);
    out.length = static_cast<int>(ids.size());
    if (first < 0 || last < first || last >= out.length)
        throw AttributionError("tokens " + std::to_string(first) + "–" + std::to_string(last) + " are not within the text's " + std::to_string(out.length));
    out.layer = layer, out.first = first, out.last = last;
    const auto W = static_cast<std::size_t>(out.width());
    struct Done {};  // the layer is complete: the later layers need not run
    control.report(0, static_cast<std::size_t>(layer) + 1, "layers");
    try {
        stream_attention_blocks(m, ids, [&](int l, int h, int block_first, int rows, int len, const float* a) {
            control.check();
            if (l < layer) return control.report(static_cast<std::size_t>(l) + 1, static_cast<std::size_t>(layer) + 1, "layers");
            const auto H = static_cast<std::size_t>(h), n = static_cast<std::size_t>(rows), T = static_cast<std::size_t>(len);
            if (out.head_values.empty()) {
                out.heads = h;
                out.head_values.assign(H * W * W, kMasked);
                out.mean.assign(W * W, kMasked);
                out.max.assign(W * W, kMasked);
            }
            for (std::size_t r = 0; r < n; ++r) {
                const int q = block_first + static_cast<int>(r);
                if (q < first || q > last) continue;
                const auto qi = static_cast<std::size_t>(q - first);
                for (std::size_t j = 0; j < W; ++j) {
                    const std::size_t k = static_cast<std::size_t>(first) + j;
                    if (masked(a, H, n, T, r, k)) continue;
                    double mean = 0;
                    float mx = 0;
                    for (std::size_t hd = 0; hd < H; ++hd) {
                        const float v = a[(hd * n + r) * T + k];
                        out.head_values[(hd * W + qi) * W + j] = v;
                        mean += v;
                        mx = std::max(mx, v);
                    }
                    out.mean[qi * W + j] = static_cast<float>(mean / static_cast<double>(H));
                    out.max[qi * W + j] = mx;
                }
            }
            if (block_first + rows >= std::min(len, last + 1)) throw Done{};
        }, {layer});
    } catch (const Done&) {
    } catch (const ModelError& e2) {
        throw AttributionError(e2.what());
    }
    if (out.head_values.empty()) throw AttributionError("layer " + std::to_string(layer) + " did not report attentions");
    control.report(static_cast<std::size_t>(layer) + 1, static_cast<std::size_t>(layer) + 1, "layers");
    return out;
}

}  // namespace lmwb::attr

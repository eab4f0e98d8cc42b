// The decode-step kernels against double-precision sums. Few-row products: on shapes that leave every kind of remainder: rows
// not a multiple of the row group, columns not a multiple of the block or the vector, inputs not a multiple of the
// vector, padded weight rows; both stored layouts, with and without bias, on one and two threads. Decode
// attention: grouped query heads, a soft cap, masked positions and a KV cache longer than the positions used.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "model/decode_attention.h"
#include "model/decode_math.h"
#include "model/few_rows.h"

namespace fr = lmwb::few_rows;

namespace {

struct Case {
    std::int64_t rows, outputs, inputs, pad;
    fr::Layout layout;
    bool bias;
};

struct Data {
    std::vector<float> x, w, b;
    fr::Weight weight;
};

Data make(const Case& c, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    Data d;
    d.x.resize(static_cast<std::size_t>(c.rows * c.inputs));
    for (auto& v : d.x) v = normal(rng);
    const std::int64_t stored_rows = c.layout == fr::Layout::OutIn ? c.outputs : c.inputs;
    const std::int64_t ld = (c.layout == fr::Layout::OutIn ? c.inputs : c.outputs) + c.pad;
    d.w.resize(static_cast<std::size_t>(stored_rows * ld));
    for (auto& v : d.w) v = normal(rng);
    if (c.bias) {
        d.b.resize(static_cast<std::size_t>(c.outputs));
        for (auto& v : d.b) v = normal(rng);
    }
    d.weight = fr::Weight{d.w.data(), c.outputs, c.inputs, ld, c.layout};
    return d;
}

float weight_at(const Data& d, std::int64_t n, std::int64_t k) {
    const auto& w = d.weight;
    return w.layout == fr::Layout::OutIn ? d.w[static_cast<std::size_t>(n * w.ld + k)] : d.w[static_cast<std::size_t>(k * w.ld + n)];
}

std::vector<float> run(const Data& d, std::int64_t rows, fr::Isa isa, std::int64_t first_row = 0) {
    std::vector<float> y(static_cast<std::size_t>(rows * d.weight.outputs), std::nanf(""));
    fr::multiply(d.x.data() + first_row * d.weight.inputs, rows, d.weight, d.b.empty() ? nullptr : d.b.data(), y.data(), isa);
    return y;
}

std::vector<fr::Isa> isas() {
    std::vector<fr::Isa> out;
    if (fr::best_isa() != fr::Isa::None) out.push_back(fr::Isa::Avx2);
    if (fr::best_isa() == fr::Isa::Avx512) out.push_back(fr::Isa::Avx512);
    return out;
}

std::vector<fr::Isa> isas_and_plain() {
    auto out = isas();
    out.insert(out.begin(), fr::Isa::None);
    return out;
}

void check_against_double(const Case& c, const Data& d, const std::vector<float>& y) {
    for (std::int64_t r = 0; r < c.rows; ++r)
        for (std::int64_t n = 0; n < c.outputs; ++n) {
            double exact = c.bias ? d.b[static_cast<std::size_t>(n)] : 0.0, magnitude = std::fabs(exact);
            for (std::int64_t k = 0; k < c.inputs; ++k) {
                const double term = static_cast<double>(d.x[static_cast<std::size_t>(r * c.inputs + k)]) * weight_at(d, n, k);
                exact += term;
                magnitude += std::fabs(term);
            }
            const double got = y[static_cast<std::size_t>(r * c.outputs + n)];
            INFO("row " << r << " output " << n << ": " << got << " vs " << exact);
            REQUIRE(std::fabs(got - exact) <= 4e-7 * magnitude * std::sqrt(static_cast<double>(c.inputs)) + 1e-30);
        }
}

}  // namespace

TEST_CASE("few-row products equal a double-precision sum on ragged shapes", "[decode_kernels]") {
    if (isas().empty()) SUCCEED("no AVX2/FMA on this CPU: the kernels are not used");
    const std::vector<Case> cases = {
        {1, 1, 1, 0, fr::Layout::OutIn, false},     {1, 5, 3, 0, fr::Layout::InOut, true},
        {3, 50, 37, 3, fr::Layout::OutIn, true},    {3, 50, 37, 3, fr::Layout::InOut, true},
        {8, 97, 64, 0, fr::Layout::InOut, false},   {9, 97, 64, 0, fr::Layout::OutIn, false},
        {16, 131, 70, 5, fr::Layout::InOut, true},  {16, 131, 70, 5, fr::Layout::OutIn, true},
        {7, 49, 16, 0, fr::Layout::InOut, false},   {5, 17, 33, 1, fr::Layout::OutIn, false},
        {12, 640, 520, 0, fr::Layout::InOut, true}, {12, 641, 520, 7, fr::Layout::OutIn, true},  // large enough to split
    };
    for (fr::Isa isa : isas())
        for (std::size_t i = 0; i < cases.size(); ++i) {
            const Case& c = cases[i];
            INFO("case " << i << (isa == fr::Isa::Avx512 ? " (AVX-512)" : " (AVX2)"));
            for (int threads : {1, 2}) {
                fr::set_threads(threads);
                Data d = make(c, static_cast<unsigned>(i));
                check_against_double(c, d, run(d, c.rows, isa));
            }
        }
    fr::set_threads(1);
}

TEST_CASE("a row's few-row product does not depend on the rows or threads beside it", "[decode_kernels]") {
    // The determinism contract: batch size and thread count change no bit of any row.
    for (fr::Isa isa : isas())
        for (fr::Layout layout : {fr::Layout::InOut, fr::Layout::OutIn}) {
            const Case c{16, 1000, 300, 2, layout, true};
            const Data d = make(c, 7);
            fr::set_threads(2);
            const auto all = run(d, c.rows, isa);
            fr::set_threads(1);
            const auto all_one_thread = run(d, c.rows, isa);
            REQUIRE(std::memcmp(all.data(), all_one_thread.data(), all.size() * sizeof(float)) == 0);
            for (std::int64_t r = 0; r < c.rows; ++r)
                for (std::int64_t count : {std::int64_t{1}, std::int64_t{3}}) {
                    if (r + count > c.rows) continue;
                    const auto part = run(d, count, isa, r);
                    INFO("rows " << r << " .. " << r + count);
                    REQUIRE(std::memcmp(part.data(), all.data() + r * c.outputs, part.size() * sizeof(float)) == 0);
                }
        }
}

TEST_CASE("16-bit weights give bit for bit the product of their float32 values", "[decode_kernels]") {
    // bfloat16: the high half of a float. float16: sign, 5 exponent bits (bias 15), 10 mantissa bits, subnormals
    // below exponent 1; here built from random fields and valued by that definition, not by the kernels' widening.
    std::mt19937 rng(11);
    std::uniform_int_distribution<int> bits16(0, 0xffff), exponent(0, 20), mantissa(0, 1023), sign(0, 1);
    auto half_value = [](int s, int e, int m) {
        const double v = e == 0 ? std::ldexp(m, -24) : std::ldexp(1.0 + m / 1024.0, e - 15);
        return static_cast<float>(s ? -v : v);
    };
    for (fr::Isa isa : isas())
        for (fr::Layout layout : {fr::Layout::InOut, fr::Layout::OutIn})
            for (fr::Element element : {fr::Element::BF16, fr::Element::F16}) {
                const Case c{7, 131, 70, 3, layout, true};
                Data d = make(c, 5);
                std::vector<std::uint16_t> stored(d.w.size());
                for (std::size_t i = 0; i < stored.size(); ++i) {
                    if (element == fr::Element::BF16) {
                        std::uint32_t b = static_cast<std::uint32_t>(bits16(rng)) & 0xbfffu;  // exponent below 128: finite
                        stored[i] = static_cast<std::uint16_t>(b);
                        b <<= 16;
                        std::memcpy(&d.w[i], &b, sizeof b);
                    } else {
                        const int s = sign(rng), e = exponent(rng), m = mantissa(rng);
                        stored[i] = static_cast<std::uint16_t>(s << 15 | e << 10 | m);
                        d.w[i] = half_value(s, e, m);
                    }
                }
                Data h = d;
                h.weight.data = stored.data();
                h.weight.element = element;
                for (int threads : {1, 2}) {
                    fr::set_threads(threads);
                    const auto want = run(d, c.rows, isa), got = run(h, c.rows, isa);
                    INFO((element == fr::Element::BF16 ? "bfloat16" : "float16") << (layout == fr::Layout::InOut ? ", in-out" : ", out-in")
                                                                                 << ", " << threads << " threads");
                    REQUIRE(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0);
                }
            }
    fr::set_threads(1);
}

TEST_CASE("few-row products refuse what they cannot do", "[decode_kernels]") {
    std::vector<float> x(17 * 4, 1.0f), w(16, 1.0f), y(17 * 4);
    const fr::Weight weight{w.data(), 4, 4, 4, fr::Layout::OutIn};
    REQUIRE_THROWS(fr::multiply(x.data(), 0, weight, nullptr, y.data(), fr::best_isa()));
    REQUIRE_THROWS(fr::multiply(x.data(), fr::max_rows + 1, weight, nullptr, y.data(), fr::best_isa()));
    REQUIRE_THROWS(fr::multiply(x.data(), 1, weight, nullptr, y.data(), fr::Isa::None));
    if (fr::best_isa() != fr::Isa::Avx512) REQUIRE_THROWS(fr::multiply(x.data(), 1, weight, nullptr, y.data(), fr::Isa::Avx512));
}

TEST_CASE("decode attention equals softmax(q k / scale + mask) v in double precision", "[decode_kernels]") {
    namespace da = lmwb::decode_attention;
    struct Shape {
        std::int64_t rows, heads, kv_heads, positions, capacity, head_dim;
        double softcap;
    };
    for (const Shape& sh : {Shape{1, 2, 2, 1, 1, 8, 0.0}, Shape{3, 4, 2, 37, 50, 20, 0.0}, Shape{2, 6, 1, 130, 160, 64, 30.0},
                            Shape{8, 12, 12, 70, 80, 64, 0.0}, Shape{2, 4, 2, 45, 45, 128, 0.0}, Shape{1, 2, 1, 19, 24, 32, 5.0}}) {
        std::mt19937 rng(static_cast<unsigned>(sh.positions));
        std::normal_distribution<float> normal(0.0f, 1.0f);
        auto fill = [&](std::size_t n) {
            std::vector<float> v(n);
            for (auto& x : v) x = normal(rng);
            return v;
        };
        const auto q = fill(static_cast<std::size_t>(sh.rows * sh.heads * sh.head_dim));
        const auto k = fill(static_cast<std::size_t>(sh.rows * sh.kv_heads * sh.capacity * sh.head_dim));
        const auto v = fill(static_cast<std::size_t>(sh.rows * sh.kv_heads * sh.capacity * sh.head_dim));
        std::vector<float> mask(static_cast<std::size_t>(sh.rows * sh.positions), 0.0f);
        for (std::int64_t r = 0; r < sh.rows; ++r)  // left padding: row r skips its first r positions
            for (std::int64_t s = 0; s < std::min(r, sh.positions - 1); ++s) mask[static_cast<std::size_t>(r * sh.positions + s)] = -1e9f;
        std::vector<float> out(q.size(), std::nanf(""));
        const std::int64_t sh_s = sh.head_dim, sh_h = sh.capacity * sh.head_dim, sh_r = sh.kv_heads * sh_h;
        const double scale = 1.0 / std::sqrt(static_cast<double>(sh.head_dim));
        da::Problem p{sh.rows, sh.heads, sh.kv_heads, sh.positions, sh.head_dim, q.data(), {k.data(), sh_r, sh_h, sh_s},
                      {v.data(), sh_r, sh_h, sh_s}, mask.data(), scale, sh.softcap, out.data()};
        for (auto [threads, isa] : {std::pair{1, fr::best_isa()}, std::pair{2, fr::best_isa()}, std::pair{1, fr::Isa::None},
                                    std::pair{2, fr::best_isa() == fr::Isa::None ? fr::Isa::None : fr::Isa::Avx2}}) {
            fr::set_threads(threads);
            std::fill(out.begin(), out.end(), std::nanf(""));
            da::run(p, isa);
            const std::int64_t groups = sh.heads / sh.kv_heads;
            for (std::int64_t r = 0; r < sh.rows; ++r)
                for (std::int64_t h = 0; h < sh.heads; ++h) {
                    const float* qh = q.data() + (r * sh.heads + h) * sh.head_dim;
                    const std::int64_t base = r * sh_r + (h / groups) * sh_h;
                    std::vector<double> score(static_cast<std::size_t>(sh.positions));
                    double top = -1e300, total = 0;
                    for (std::int64_t s = 0; s < sh.positions; ++s) {
                        double d = 0;
                        for (std::int64_t i = 0; i < sh.head_dim; ++i) d += static_cast<double>(qh[i]) * k[static_cast<std::size_t>(base + s * sh_s + i)];
                        d *= scale;
                        if (sh.softcap > 0) d = std::tanh(d / sh.softcap) * sh.softcap;
                        d += mask[static_cast<std::size_t>(r * sh.positions + s)];
                        score[static_cast<std::size_t>(s)] = d;
                        top = std::max(top, d);
                    }
                    for (auto& x : score) total += x = std::exp(x - top);
                    for (std::int64_t i = 0; i < sh.head_dim; ++i) {
                        double exact = 0;
                        for (std::int64_t s = 0; s < sh.positions; ++s)
                            exact += score[static_cast<std::size_t>(s)] / total * v[static_cast<std::size_t>(base + s * sh_s + i)];
                        const float got = out[static_cast<std::size_t>((r * sh.heads + h) * sh.head_dim + i)];
                        INFO("isa " << static_cast<int>(isa) << ", threads " << threads << ", row " << r << " head " << h << " dim " << i << ": " << got << " vs " << exact);
                        REQUIRE(std::fabs(got - exact) <= 1e-5);
                    }
                }
        }
    }
    fr::set_threads(1);
}

namespace dm = lmwb::decode_math;

TEST_CASE("logit statistics equal log-sum-exp, entropy and argmax in double precision", "[decode_kernels]") {
    std::mt19937 rng(11);
    for (std::int64_t n : {1, 7, 16, 17, 100, 50257}) {
        for (float spread : {1.0f, 30.0f}) {
            std::normal_distribution<float> normal(0.0f, spread);
            std::vector<float> x(static_cast<std::size_t>(n));
            for (auto& v : x) v = normal(rng) - 5.0f;
            if (n > 3) x[static_cast<std::size_t>(n / 3)] = x[static_cast<std::size_t>(n - 1)] = 200.0f;  // a tie: the first wins
            double top = x[0];
            std::int64_t arg = 0;
            for (std::int64_t i = 0; i < n; ++i)
                if (x[static_cast<std::size_t>(i)] > top) top = x[static_cast<std::size_t>(i)], arg = i;
            double z = 0, zx = 0;
            for (float v : x) z += std::exp(v - top), zx += std::exp(v - top) * (v - top);
            const double log_norm = top + std::log(z), entropy = std::log(z) - zx / z;
            for (fr::Isa isa : isas_and_plain()) {
                CAPTURE(n, spread, static_cast<int>(isa));
                const auto s = dm::logit_stats(x.data(), n, isa);
                REQUIRE(s.finite);
                CHECK(s.top == static_cast<float>(top));
                CHECK(s.argmax == arg);
                CHECK(std::abs(s.log_norm - log_norm) <= 1e-6 * std::max(1.0, std::abs(log_norm)));
                CHECK(std::abs(s.entropy - entropy) <= 1e-6 * std::max(1.0, entropy));
            }
        }
    }
}

TEST_CASE("logit statistics find a NaN or infinite logit anywhere in the row", "[decode_kernels]") {
    for (std::int64_t n : {5, 33, 1000}) {
        for (std::int64_t at : {std::int64_t{0}, n / 2, n - 1}) {
            for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
                std::vector<float> x(static_cast<std::size_t>(n), 0.5f);
                x[static_cast<std::size_t>(at)] = bad;
                for (fr::Isa isa : isas_and_plain()) {
                    CAPTURE(n, at, bad, static_cast<int>(isa));
                    CHECK_FALSE(dm::logit_stats(x.data(), n, isa).finite);
                }
            }
        }
    }
}

TEST_CASE("the decode step's GELU equals the tanh form in double precision, row by row", "[decode_kernels]") {
    std::vector<float> x;
    for (float v = -12.0f; v <= 12.0f; v += 0.01f) x.push_back(v);
    for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-4f, -1e-4f, 50.0f, -50.0f, 1e6f, -1e6f}) x.push_back(v);
    x.resize(x.size() / 3 * 3 + 2);  // three rows with a ragged tail: width not a multiple of any vector
    const auto width = static_cast<std::int64_t>(x.size() / 3), rows = std::int64_t{3};
    for (fr::Isa isa : isas_and_plain()) {
        std::vector<float> y(static_cast<std::size_t>(rows * width));
        dm::gelu_tanh(x.data(), y.data(), rows, width, isa);
        for (std::int64_t i = 0; i < rows * width; ++i) {
            const double v = x[static_cast<std::size_t>(i)];
            const double want = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
            CAPTURE(v, static_cast<int>(isa));
            CHECK(std::abs(y[static_cast<std::size_t>(i)] - want) <= 4e-7 * std::max(1.0, std::abs(want)));
        }
        // One row alone gives the same bits as that row among others.
        std::vector<float> one(static_cast<std::size_t>(width));
        dm::gelu_tanh(x.data() + width, one.data(), 1, width, isa);
        CHECK(std::memcmp(one.data(), y.data() + width, one.size() * sizeof(float)) == 0);
    }
}

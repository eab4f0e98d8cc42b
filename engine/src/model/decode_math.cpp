#include "decode_math.h"

#include "few_rows_kernels.h"

namespace lmwb::decode_math {

LogitStats logit_stats(const float* x, std::int64_t n, few_rows::Isa isa) {
#if LMWB_FEW_ROWS_X86
    if (isa == few_rows::Isa::Avx512) return few_rows::detail::logit_stats_avx512(x, n);
    if (isa == few_rows::Isa::Avx2) return few_rows::detail::logit_stats_avx2(x, n);
#endif
    (void)isa;
    return few_rows::detail::logit_stats<float>(x, n);
}

void gelu_tanh(const float* x, float* y, std::int64_t rows, std::int64_t width, few_rows::Isa isa) {
    auto one = few_rows::detail::gelu_tanh<float>;
#if LMWB_FEW_ROWS_X86
    if (isa == few_rows::Isa::Avx512) one = few_rows::detail::gelu_tanh_avx512;
    else if (isa == few_rows::Isa::Avx2) one = few_rows::detail::gelu_tanh_avx2;
#endif
    for (std::int64_t r = 0; r < rows; ++r) one(x + r * width, y + r * width, width);  // per row: tails by row
}

LogitStats logit_stats(const float* x, std::int64_t n) { return logit_stats(x, n, few_rows::best_isa()); }

void gelu_tanh(const float* x, float* y, std::int64_t rows, std::int64_t width) { gelu_tanh(x, y, rows, width, few_rows::best_isa()); }

}  // namespace lmwb::decode_math

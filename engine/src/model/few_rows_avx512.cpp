// Compiled with -mavx512f -mfma (engine/CMakeLists.txt); few_rows.cpp calls it only on CPUs that have them.
#include "few_rows_kernels.h"

namespace lmwb::few_rows::detail {

// 8 rows x 3 vectors of 16 accumulators.
void columns_avx512(const Task& t, std::int64_t n0, std::int64_t n1, std::int64_t then) { columns<v16, 8>(t, n0, n1, then); }
std::int64_t unit_avx512(Layout layout) { return unit<v16, 8>(layout); }
void attention_avx512(const decode_attention::Problem& p, std::int64_t row, std::int64_t kv_head, float* scores) {
    attention<v16>(p, row, kv_head, scores);
}
decode_math::LogitStats logit_stats_avx512(const float* x, std::int64_t n) { return logit_stats<v16>(x, n); }
void gelu_tanh_avx512(const float* x, float* y, std::int64_t n) { gelu_tanh<v16>(x, y, n); }

}  // namespace lmwb::few_rows::detail

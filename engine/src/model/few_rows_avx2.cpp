// Compiled with -mavx2 -mfma (engine/CMakeLists.txt); few_rows.cpp calls it only on CPUs that have them.
#include "few_rows_kernels.h"

namespace lmwb::few_rows::detail {

// 4 rows x 3 vectors of 8 accumulators: AVX2 has 16 registers.
void columns_avx2(const Task& t, std::int64_t n0, std::int64_t n1, std::int64_t then) { columns<v8, 4>(t, n0, n1, then); }
std::int64_t unit_avx2(Layout layout) { return unit<v8, 4>(layout); }
void attention_avx2(const decode_attention::Problem& p, std::int64_t row, std::int64_t kv_head, float* scores) {
    attention<v8>(p, row, kv_head, scores);
}
decode_math::LogitStats logit_stats_avx2(const float* x, std::int64_t n) { return logit_stats<v8>(x, n); }
void gelu_tanh_avx2(const float* x, float* y, std::int64_t n) { gelu_tanh<v8>(x, y, n); }

}  // namespace lmwb::few_rows::detail

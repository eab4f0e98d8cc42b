#include "decode_attention.h"

#include <vector>

#include "few_rows.h"
#include "few_rows_kernels.h"

namespace lmwb::decode_attention {

void run(const Problem& p) { run(p, few_rows::best_isa()); }

void run(const Problem& p, few_rows::Isa isa) {
    const std::int64_t items = p.rows * p.kv_heads;
    // Below a few hundred thousand multiply-adds a second thread costs more to wake than it saves.
    const bool split = items > 1 && items * (p.heads / p.kv_heads) * p.positions * p.head_dim >= 65536;
    // The kernel over plain floats, or over the vectors the CPU has (model/few_rows_kernels.h).
    auto one = few_rows::detail::attention<float>;
#if LMWB_FEW_ROWS_X86
    if (isa == few_rows::Isa::Avx512) one = few_rows::detail::attention_avx512;
    else if (isa == few_rows::Isa::Avx2) one = few_rows::detail::attention_avx2;
#endif
    (void)isa;
    auto body = [&](std::int64_t begin, std::int64_t end) {
        std::vector<float> scores(static_cast<std::size_t>(p.positions));
        for (std::int64_t i = begin; i < end; ++i) one(p, i / p.kv_heads, i % p.kv_heads, scores.data());
    };
    if (split) few_rows::parallel(items, body);
    else body(0, items);
}

}  // namespace lmwb::decode_attention

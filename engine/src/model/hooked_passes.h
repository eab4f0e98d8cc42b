// LanguageModel::run_hooked on a Network whose layers we run: one pass without hooks, then the hooked passes from
// where each starts, batched. Torch-free like transformer.h: ids is [1, T] on the network's device, and `input`,
// when given, replaces its token embeddings ([T][D]).
#pragma once

#include "transformer.h"

namespace lmwb {

std::vector<TokenReadout> run_hooked_passes(const Network& net, const at::Tensor& ids, const std::vector<float>* input, int layers,
                                            const std::vector<std::vector<Hook>>& passes,
                                            const std::vector<std::pair<int, std::int32_t>>& at, int batch_size, const Control& control);

// Calls `hooks` (all at one point, of one pass) on row `row` of value as HookValues: in place for float32 on the
// host, through a float32 copy otherwise. value must be contiguous.
void call_hooks_on_row(const std::vector<const Hook*>& hooks, const at::Tensor& value, std::int64_t row, int first_position);

}  // namespace lmwb

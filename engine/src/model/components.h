// Activation recording and patching over a Network's component hooks: the passes behind
// LanguageModel::record_activations and patched_readouts. Torch-free like transformer.h: ids is [1, T] on the
// network's device, and `input`, when given, replaces its token embeddings ([T][D]).
#pragma once

#include "transformer.h"

namespace lmwb {

Activations record_components(const Network& net, const at::Tensor& ids, const std::vector<float>* input, int layers,
                              const std::vector<Site>& sites, const std::vector<int>& positions);
std::vector<TokenReadout> patch_components(const Network& net, const at::Tensor& ids, const std::vector<float>* input, int layers,
                                           const Activations& source, const std::vector<std::vector<Patch>>& runs,
                                           const std::vector<std::pair<int, std::int32_t>>& at, int batch_size, const Control& control);

}  // namespace lmwb

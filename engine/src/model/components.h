// Activation recording and patching over a Network's component hooks: the passes behind
// LanguageModel::record_activations and patched_readouts. Torch-side, like transformer.h's callers.
#pragma once

#include <torch/torch.h>

#include "transformer.h"

namespace lmwb {

// One input sequence (ids [1, T], its token embeddings optionally replaced by input [T][D]) ready to run.
class ComponentPass {
public:
    ComponentPass(const Network& net, const torch::Tensor& ids, const std::vector<float>* input, int layers);
    Activations record(const std::vector<Site>& sites, const std::vector<int>& positions) const;
    std::vector<TokenReadout> patched(const Activations& source, const std::vector<std::vector<Patch>>& runs,
                                      const std::vector<std::pair<int, std::int32_t>>& at, int batch_size,
                                      const Control& control) const;

private:
    const Network& net_;
    int layers_;
    torch::Tensor embeddings_, mask_, positions_;
};

}  // namespace lmwb

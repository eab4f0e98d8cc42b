// How much memory a model and a pass over it will take, from the configuration alone, and how much the machine can
// give: what every command and GUI job checks before it starts, so that a job too large is refused with the numbers
// instead of being killed by the kernel, and what attribution sizes its internal batches from. Plain C++.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace lmwb {

struct ModelInfo;

// The weights' bytes in memory when a model of `info` is opened with `dtype` ("auto", "float32", "bfloat16",
// "float16") on `device`: a 16-bit checkpoint under "auto" on the CPU keeps its bytes, a float32 copy doubles them.
std::size_t held_weight_bytes(const ModelInfo& info, const std::string& dtype, const std::string& device = "cpu");

// One pass: `rows` sequences of `tokens` positions each (a batch, or attribution's points).
struct PassShape {
    std::int64_t rows = 1, tokens = 0;
    std::int64_t cached_tokens = 0;    // generation: positions the KV cache holds per row (prompt + new tokens)
    std::int64_t logit_positions = 0;  // positions whose full [vocab] logits are kept (0: scoring's blocks only)
    bool gradients = false;            // the backward pass keeps every layer's activations
    bool attention_maps = false;       // [layers, heads, tokens, tokens] probabilities returned
};

// Peak bytes of activations of one pass beyond the weights (an estimate on the high side: the blocks and buffers the
// engine uses, the activations autograd keeps, the KV cache, the heap's slack).
std::size_t estimate_activation_bytes(const ModelInfo& info, const PassShape& pass);

// Bytes the system can give this process now without swapping: MemAvailable, or the cgroup's limit less its usage
// when that is lower. 0 when unknown.
std::size_t available_memory_bytes();

// "1.4 GB" (decimal units, as `free -h --si` and the GUI's sizes).
std::string format_bytes(std::size_t bytes);

}  // namespace lmwb

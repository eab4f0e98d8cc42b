// The keys and values a network keeps between calls (generation, shared prefixes). Torch-side: only .cpp files that
// include torch use it (a std::vector may hold the incomplete at::Tensor until then); transformer.h forward-declares
// it.
#pragma once

#include <cstdint>
#include <vector>

namespace at {
class Tensor;
}

namespace lmwb {

struct KVCache {
    std::vector<at::Tensor> k, v;  // per layer [B, kv_heads, capacity, head_dim]
    std::int64_t length = 0;       // positions held so far
    // Positions it may hold: the tensors' third dimension once allocated. A TorchScript bundle's cache is allocated
    // on its first step, when the module's outputs tell the shapes.
    std::int64_t capacity = 0;
};

}  // namespace lmwb

#include "lmwb/memory_estimate.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "lmwb/model.h"

namespace lmwb {

std::size_t held_weight_bytes(const ModelInfo& info, const std::string& dtype, const std::string& device) {
    const std::size_t stored = info.weight_bytes;
    const bool sixteen = info.stored_dtype.rfind("BF16", 0) == 0 || info.stored_dtype.rfind("F16", 0) == 0;
    const bool cpu = device.rfind("cuda", 0) != 0;
    if (dtype == "float32") return sixteen ? 2 * stored : stored;
    if (dtype == "bfloat16" || dtype == "float16" || (dtype == "auto" && !cpu)) return sixteen ? stored : stored / 2;
    return stored;  // auto on the CPU: as stored
}

std::size_t estimate_activation_bytes(const ModelInfo& info, const PassShape& pass) {
    const double H = static_cast<double>(info.hidden_size), L = static_cast<double>(std::max<std::int64_t>(1, info.layers));
    const double heads = static_cast<double>(std::max<std::int64_t>(1, info.heads));
    const double hd = info.head_dim > 0 ? static_cast<double>(info.head_dim) : H / heads;
    const double kvd = static_cast<double>(std::max<std::int64_t>(1, info.kv_heads)) * hd;
    const double I = info.intermediate_size > 0 ? static_cast<double>(info.intermediate_size) : 4 * H;
    const double V = static_cast<double>(info.vocab_size), rows = static_cast<double>(std::max<std::int64_t>(1, pass.rows));
    const double T = static_cast<double>(std::max<std::int64_t>(0, pass.tokens)), f = 4;  // float32 compute
    const double positions = rows * T;
    // The engine's blocks, each at most 32 MiB with a temporary beside it, smaller for short inputs: attention scores,
    // MLP activations, logits; a widened block of 16-bit weights; and what the process and its heap keep besides.
    const double block = 64.0 * (1 << 20);
    double bytes = 64e6 + 32.0 * (1 << 20);
    bytes += std::min(block, rows * heads * T * T * f * 2) + std::min(block, positions * I * f * 3) + std::min(block, positions * V * f * 2);
    // Inference: the residual stream, a layer's normed input, queries, keys and values, its outputs, alive together.
    bytes += positions * (6 * H + 3 * kvd) * f;
    if (pass.gradients) {
        // Autograd keeps per layer and position the norms' inputs and outputs, queries, keys and values (before and
        // after rotation), the attention output and projection, the residual sums, and the MLP's gate, up, activation
        // and product; the backward holds one layer's gradients at a time beside them.
        bytes += positions * L * (12 * H + 5 * kvd + 4 * I) * f;
        bytes += positions * 2 * (12 * H + 5 * kvd + 4 * I) * f;
        // Short inputs take the whole-matrix attention, whose probabilities autograd keeps: [heads, T, T] per layer.
        if (T * T * heads * f <= 32.0 * (1 << 20)) bytes += rows * L * heads * T * T * f * 2;
        // The inputs, as points and as tensors, with their gradients (one per logit position when asked per token).
        bytes += positions * H * f * (3 + 2 * static_cast<double>(std::max<std::int64_t>(1, pass.logit_positions)));
    }
    // Logits kept whole: the logits, their log-softmax and (with gradients) its gradient.
    bytes += rows * static_cast<double>(pass.logit_positions) * V * f * (pass.gradients ? 3 : 2);
    // The KV cache: keys and values of every layer for every cached position.
    bytes += rows * static_cast<double>(pass.cached_tokens) * L * 2 * kvd * f;
    // Attention maps returned: every layer's [heads, T, T], and the whole-matrix scores of the layer computing.
    if (pass.attention_maps) bytes += rows * (L + 2) * heads * T * T * f;
    return static_cast<std::size_t>(bytes * 1.1);  // the heap's fragmentation and what the estimate leaves out
}

namespace {

// A number read from a file that holds one ("max" or missing: none).
bool read_number(const char* path, std::size_t& out) {
    std::ifstream in(path);
    std::string word;
    if (!(in >> word) || word == "max") return false;
    try {
        out = static_cast<std::size_t>(std::stoull(word));
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace

std::size_t available_memory_bytes() {
    std::size_t available = 0;
    std::ifstream meminfo("/proc/meminfo");
    std::string line;
    while (std::getline(meminfo, line)) {
        std::istringstream fields(line);
        std::string key;
        std::size_t kb = 0;
        if (fields >> key >> kb && key == "MemAvailable:") available = kb * 1024;
    }
    // A container's limit (cgroup v2) may be lower than the machine's memory.
    std::size_t limit = 0, usage = 0;
    if (read_number("/sys/fs/cgroup/memory.max", limit) && read_number("/sys/fs/cgroup/memory.current", usage)) {
        const std::size_t left = limit > usage ? limit - usage : 0;
        available = available ? std::min(available, left) : left;
    }
    return available;
}

std::string format_bytes(std::size_t bytes) {
    char text[32];
    const double b = static_cast<double>(bytes);
    if (b >= 1e9) std::snprintf(text, sizeof text, "%.1f GB", b / 1e9);
    else if (b >= 1e6) std::snprintf(text, sizeof text, "%.0f MB", b / 1e6);
    else if (b >= 1e3) std::snprintf(text, sizeof text, "%.0f kB", b / 1e3);
    else std::snprintf(text, sizeof text, "%zu B", bytes);
    return text;
}

}  // namespace lmwb

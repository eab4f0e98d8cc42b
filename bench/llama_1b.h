// The Llama-3.2-1B-shaped checkpoint the 1B benchmarks share (bench_load, bench_dtype): 1.24 B parameters, bfloat16,
// 2.47 GB, random values of a trained model's scale, the bundled tokenizer. Written once, streamed block by block.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace lmwb::bench {

namespace fs = std::filesystem;

struct Shape {
    std::int64_t hidden = 2048, layers = 16, heads = 32, kv_heads = 8, intermediate = 8192, vocab = 128256;
};

inline void write_llama_1b(const fs::path& dir, const std::string& source_dir) {
    const Shape s;
    fs::create_directories(dir);
    const std::int64_t hd = s.hidden / s.heads;
    nlohmann::json config = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", s.hidden},
                             {"intermediate_size", s.intermediate}, {"num_hidden_layers", s.layers}, {"num_attention_heads", s.heads},
                             {"num_key_value_heads", s.kv_heads}, {"vocab_size", s.vocab}, {"max_position_embeddings", 131072},
                             {"rms_norm_eps", 1e-5}, {"rope_theta", 500000.0}, {"tie_word_embeddings", true}, {"torch_dtype", "bfloat16"},
                             {"bos_token_id", 765}, {"eos_token_id", 765}, {"hidden_act", "silu"}, {"head_dim", hd}};
    std::ofstream(dir / "config.json") << config.dump(1);
    fs::copy_file(fs::path(source_dir) / "models/tiny-b/tokenizer.json", dir / "tokenizer.json", fs::copy_options::overwrite_existing);
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> tensors = {{"model.embed_tokens.weight", {s.vocab, s.hidden}},
                                                                             {"model.norm.weight", {s.hidden}}};
    for (std::int64_t l = 0; l < s.layers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        tensors.push_back({p + "input_layernorm.weight", {s.hidden}});
        tensors.push_back({p + "post_attention_layernorm.weight", {s.hidden}});
        tensors.push_back({p + "self_attn.q_proj.weight", {s.heads * hd, s.hidden}});
        tensors.push_back({p + "self_attn.k_proj.weight", {s.kv_heads * hd, s.hidden}});
        tensors.push_back({p + "self_attn.v_proj.weight", {s.kv_heads * hd, s.hidden}});
        tensors.push_back({p + "self_attn.o_proj.weight", {s.hidden, s.heads * hd}});
        tensors.push_back({p + "mlp.gate_proj.weight", {s.intermediate, s.hidden}});
        tensors.push_back({p + "mlp.up_proj.weight", {s.intermediate, s.hidden}});
        tensors.push_back({p + "mlp.down_proj.weight", {s.hidden, s.intermediate}});
    }
    nlohmann::json header = nlohmann::json::object();
    std::uint64_t offset = 0;
    for (const auto& [name, shape] : tensors) {
        std::uint64_t n = 1;
        for (auto d : shape) n *= static_cast<std::uint64_t>(d);
        header[name] = {{"dtype", "BF16"}, {"shape", shape}, {"data_offsets", {offset, offset + 2 * n}}};
        offset += 2 * n;
    }
    std::string h = header.dump();
    while (h.size() % 8) h += ' ';
    std::ofstream out(dir / "model.safetensors", std::ios::binary);
    const std::uint64_t hn = h.size();
    out.write(reinterpret_cast<const char*>(&hn), 8);
    out << h;
    // Values of about ±0.02 (a trained model's scale) as bfloat16: the top half of a float32.
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::vector<std::uint16_t> block(1 << 20);
    for (auto& v : block) {
        float f = normal(rng);
        std::uint32_t bits;
        std::memcpy(&bits, &f, 4);
        v = static_cast<std::uint16_t>(bits >> 16);
    }
    for (std::uint64_t written = 0; written < offset;) {
        const std::uint64_t n = std::min<std::uint64_t>(offset - written, block.size() * 2);
        out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
        written += n;
    }
}

}  // namespace lmwb::bench

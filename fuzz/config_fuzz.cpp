// A checkpoint's config.json: sizes, heads, positions, rope settings, windows, soft-caps and the family's defaults.
// Reading may fail with ModelError; what it accepts must be a shape the engine can build.
#include <cstdint>

#include "config.h"
#include "fuzz_support.h"
#include "lmwb/model_error.h"

using lmwb::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string path = lmwb::fuzz::write_file("config.json", {reinterpret_cast<const char*>(data), size});
    try {
        const lmwb::ArchConfig c = lmwb::read_config(path);
        check(c.hidden_size > 0 && c.layers > 0 && c.heads > 0 && c.kv_heads > 0 && c.head_dim > 0 && c.vocab_size > 0 &&
                  c.intermediate_size > 0 && c.max_positions > 0,
              "a size that is not positive");
        check(c.heads % c.kv_heads == 0, "query heads not a multiple of key/value heads");
        check(c.rotary_dims >= 0 && c.rotary_dims <= c.head_dim, "more rotary dimensions than a head has");
        check(c.layer_window.size() == static_cast<std::size_t>(c.layers), "a window setting per layer");
        lmwb::find_architecture(c.model_type);
    } catch (const lmwb::ModelError&) {
    }
    return 0;
}

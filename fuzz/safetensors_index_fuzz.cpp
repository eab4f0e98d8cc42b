// A sharded checkpoint's model.safetensors.index.json, in a folder that also holds two valid shards (and a file
// outside the folder that no index may reach). Loading may fail with ModelError; when it succeeds, every tensor
// the index names comes from a shard inside the folder.
#include <cstdint>
#include <cstring>

#include "fuzz_support.h"
#include "lmwb/model_error.h"
#include "safetensors.h"

using lmwb::fuzz::check;

namespace {

// A valid safetensors file holding one F32 tensor of `n` values.
std::string shard(const std::string& tensor, int n) {
    std::string header = "{\"" + tensor + "\":{\"dtype\":\"F32\",\"shape\":[" + std::to_string(n) +
                         "],\"data_offsets\":[0," + std::to_string(4 * n) + "]}}";
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    return out + header + std::string(static_cast<std::size_t>(4 * n), '\x01');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool ready = [] {
        lmwb::fuzz::write_file("model/model-00001-of-00002.safetensors", shard("a.weight", 3));
        lmwb::fuzz::write_file("model/model-00002-of-00002.safetensors", shard("b.weight", 5));
        lmwb::fuzz::write_file("secret.safetensors", shard("secret", 2));
        return true;
    }();
    (void)ready;
    lmwb::fuzz::write_file("model/model.safetensors.index.json", {reinterpret_cast<const char*>(data), size});
    const std::string folder = (lmwb::fuzz::scratch() / "model").string();
    try {
        lmwb::WeightStore store(folder);
        for (const auto& name : store.names()) {
            const auto* t = store.find(name);
            check(t != nullptr, "a listed tensor is not found");
            check(name != "secret", "a shard outside the model folder was read");
        }
        for (const auto& f : store.files()) check(f.rfind(folder + "/", 0) == 0, "a shard path outside the model folder");
        store.total_bytes();
    } catch (const lmwb::ModelError&) {
    }
    return 0;
}

// A safetensors file: the 8-byte header length, the JSON header (dtypes, shapes, offsets), the data. A read may fail
// with ModelError; when it succeeds every tensor's bytes lie inside the file (each is touched, so ASan sees any that
// do not) and agree with its dtype and shape.
#include <cstdint>

#include "fuzz_support.h"
#include "lmwb/model_error.h"
#include "safetensors.h"

using lmwb::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string path = lmwb::fuzz::write_file("model.safetensors", {reinterpret_cast<const char*>(data), size});
    try {
        lmwb::SafetensorsFile file(path);
        unsigned sum = 0;
        for (const auto& [name, t] : file.tensors()) {
            check(t.numel() >= 0, "negative element count");
            if (t.nbytes == 0) continue;
            const auto* bytes = static_cast<const unsigned char*>(t.data);
            sum += bytes[0] + bytes[t.nbytes - 1];
        }
        check(sum != ~0u, "");  // keeps the reads
    } catch (const lmwb::ModelError&) {
    }
    return 0;
}

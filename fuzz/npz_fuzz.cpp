// A NumPy .npz archive (Gemma Scope's SAEs): the zip's end records (zip64 too), central directory, local headers,
// stored or deflated entries, and each .npy's header and data. A read may fail with ModelError; when it succeeds every
// array holds as many values as its shape says (each is touched, so ASan sees any read past them).
#include <cstdint>

#include "fuzz_support.h"
#include "lmwb/model_error.h"
#include "npz.h"

using lmwb::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string path = lmwb::fuzz::write_file("params.npz", {reinterpret_cast<const char*>(data), size});
    try {
        float sum = 0;
        for (const auto& [name, a] : lmwb::read_npz(path)) {
            std::int64_t n = 1;
            for (auto d : a.shape) n *= d;
            check(static_cast<std::int64_t>(a.data.size()) == n, "values and shape disagree");
            if (!a.data.empty()) sum += a.data.front() + a.data.back();
        }
        check(sum == sum || sum != sum, "");  // keeps the reads
    } catch (const lmwb::ModelError&) {
    }
    return 0;
}

// NumPy's .npz archives (a zip of .npy files, stored or deflated, zip64 as numpy writes them): the float arrays in
// them, as float32. Gemma Scope ships its SAEs so.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lmwb {

struct NpyArray {
    std::vector<std::int64_t> shape;  // C order
    std::vector<float> data;
};

// Every array of the archive by name (without ".npy"). Throws ModelError naming the file and entry at fault: not a zip,
// an entry compressed otherwise than stored or deflate, a dtype other than little-endian f2/f4/f8, a truncated array.
std::map<std::string, NpyArray> read_npz(const std::string& path);

}  // namespace lmwb

// How every command that opens a model reads the options of opening it: the same names, help and checks everywhere.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "lmwb/model.h"

namespace lmwb::cli {

struct ModelFlags {
    int threads = 0;
    std::string device = "cpu", dtype = "auto", revision = "main";
    std::uint64_t max_memory = 0;  // bytes; 0: what the machine has available
};

// --revision, --threads, --device, --dtype, --max-memory.
void add_model_flags(CLI::App* cmd, ModelFlags& flags);
// Throws std::runtime_error naming the option for a thread count out of range.
ModelOptions model_options(const ModelFlags& flags);

}  // namespace lmwb::cli

// How every command that opens a model reads the options of opening it: the same names, help and checks everywhere.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "lmwb/model.h"

namespace lmwb::cli {

struct ModelFlags {
    int threads = 0;
    std::string device = "cpu", dtype = "auto", revision = "main";
};

// --revision, --threads, --device, --dtype.
void add_model_flags(CLI::App* cmd, ModelFlags& flags);
// Throws std::runtime_error naming the option for a thread count out of range.
ModelOptions model_options(const ModelFlags& flags);

}  // namespace lmwb::cli

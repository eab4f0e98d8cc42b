// The errors of reading and running a model: the checkpoint readers throw them as the engine does.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace lmwb {

// Load or run problem; what() names the file, tensor or setting at fault.
class ModelError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A scoring request that cannot be computed (an empty continuation, one longer than the context): `request` is its
// index in the call, `problem` the reason without it, so that callers can name their own item.
class RequestError : public ModelError {
public:
    RequestError(std::size_t index, const std::string& reason)
        : ModelError("request " + std::to_string(index) + ": " + reason), request(index), problem(reason) {}
    std::size_t request;
    std::string problem;
};

}  // namespace lmwb

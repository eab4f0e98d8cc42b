// Reading files whose path a user gave: regular files only (a folder, a FIFO or a device is refused before it is
// opened, so that reading never blocks or runs forever), and no more than a stated size.
#pragma once

#include <cstddef>
#include <limits>
#include <optional>
#include <string>

namespace lmwb::files {

// The whole file, or nullopt with why (when asked): "no such file", "is a folder, not a file", "is 3.2 GiB, more than
// the 256 MiB a … may be", …
std::optional<std::string> read_regular(const std::string& path, std::string* why = nullptr,
                                        std::size_t max_bytes = std::numeric_limits<std::size_t>::max());

}  // namespace lmwb::files

// Text helpers every library shares (plain C++, in lmwb_tokenizer): one UTF-8 decoder, Python's whitespace, a
// portable seeded generator, whole-file reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lmwb::text {

// Malformed UTF-8 becomes U+FFFD per maximal invalid subpart (as the tokenizer and Rust's from_utf8_lossy).
std::u32string decode(std::string_view utf8);
std::string encode(std::u32string_view chars);
// Python's str.isspace(): general category Zs or bidirectional class WS, B or S (U+3000, U+2028, U+0085 …).
bool is_space(char32_t c);
// SplitMix64 (Steele, Lea and Flood 2014): the same sequence from a seed on every platform and compiler.
std::uint64_t splitmix64(std::uint64_t& state);
// The whole file, or nullopt when it cannot be opened or read (callers name the file in their own error).
// The whole file, or nullopt with why (when asked): a directory, a FIFO or a device is refused before it is opened,
// so that reading never blocks or runs forever.
std::optional<std::string> read_file(const std::string& path, std::string* why = nullptr);

}  // namespace lmwb::text

#include "lmwb/text.h"

#include "lmwb/files.h"

#include <utf8proc.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "unicode.h"

namespace lmwb::text {

std::u32string decode(std::string_view utf8) { return uni::decode_lossy(utf8); }

std::string encode(std::u32string_view chars) { return uni::to_utf8(chars); }

bool is_space(char32_t c) {
    if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
    const auto* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(c));
    return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
           p->bidi_class == UTF8PROC_BIDI_CLASS_B || p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

std::optional<std::string> read_file(const std::string& path, std::string* why) { return files::read_regular(path, why); }

}  // namespace lmwb::text

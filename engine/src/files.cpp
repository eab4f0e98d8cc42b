#include "lmwb/files.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lmwb::files {

namespace {

std::string size_text(std::uintmax_t bytes) {
    char out[32];
    if (bytes >= (std::uintmax_t{1} << 30)) std::snprintf(out, sizeof out, "%.1f GiB", static_cast<double>(bytes) / (1u << 30));
    else if (bytes >= (std::uintmax_t{1} << 20)) std::snprintf(out, sizeof out, "%.1f MiB", static_cast<double>(bytes) / (1u << 20));
    else std::snprintf(out, sizeof out, "%ju bytes", bytes);
    return out;
}

}  // namespace

std::optional<std::string> read_regular(const std::string& path, std::string* why, std::size_t max_bytes) {
    auto fail = [&](const std::string& reason) -> std::optional<std::string> {
        if (why) *why = reason;
        return std::nullopt;
    };
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (status.type() == std::filesystem::file_type::not_found) return fail("no such file");
    if (ec) return fail(ec.message());
    if (std::filesystem::is_directory(status)) return fail("is a folder, not a file");
    if (!std::filesystem::is_regular_file(status)) return fail("not a regular file (a FIFO or a device?)");
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > max_bytes) return fail("is " + size_text(size) + ", more than the " + size_text(max_bytes) + " it may be");
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail("cannot open it");
    std::ostringstream s;
    s << in.rdbuf();
    if (in.bad()) return fail("cannot read it");
    std::string content = s.str();
    if (content.size() > max_bytes) return fail("grew past " + size_text(max_bytes) + " while it was read");
    return content;
}

}  // namespace lmwb::files

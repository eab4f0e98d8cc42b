// Shared by the fuzz targets: inputs that stand for several files, a scratch folder, checks that abort (so that
// libFuzzer, and the replay tests, report them as failures).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace lmwb::fuzz {

// Inputs that stand for several files separate them with this line (fuzz/lmwb.dict offers it to the mutator).
inline constexpr std::string_view kSeparator = "\n#lmwb-fuzz-next-file\n";

// At most `max_parts` parts; the last takes the rest of the input, separators included.
inline std::vector<std::string_view> split_files(std::string_view data, std::size_t max_parts) {
    std::vector<std::string_view> parts;
    while (parts.size() + 1 < max_parts) {
        const auto at = data.find(kSeparator);
        if (at == std::string_view::npos) break;
        parts.push_back(data.substr(0, at));
        data.remove_prefix(at + kSeparator.size());
    }
    parts.push_back(data);
    return parts;
}

// A folder of this process's own, removed when it exits normally.
inline const std::filesystem::path& scratch() {
    struct Folder {
        std::filesystem::path path;
        Folder() {
            const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
            std::string name = std::string(base) + "/lmwb-fuzz-XXXXXX";
            if (!::mkdtemp(name.data())) std::abort();
            path = name;
        }
        ~Folder() {
            std::error_code ec;
            std::filesystem::remove_all(path, ec);
        }
    };
    static Folder folder;
    return folder.path;
}

inline std::string write_file(const std::string& name, std::string_view data) {
    const std::filesystem::path p = scratch() / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) std::abort();
    return p.string();
}

// An invariant of the code under test: when it fails, the input found a bug.
inline void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "fuzz check failed: %s\n", what);
        std::abort();
    }
}

}  // namespace lmwb::fuzz

// Small helpers shared by the tests: scratch folders and files on disk, running a command.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

namespace lmwb::test {

// A fresh folder under the system temp dir, removed when the object dies.
class ScratchDir {
public:
    ScratchDir() {
        std::random_device rd;
        path_ = std::filesystem::temp_directory_path() / ("lmwb-test-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path_);
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string write(const std::string& name, const std::string& content) const {
        auto p = path_ / name;
        std::filesystem::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << content;
        return p.string();
    }
    std::string file(const std::string& name) const { return (path_ / name).string(); }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

struct CommandResult {
    int exit_code = -1;
    std::string output;  // stdout, and stderr when asked to merge it
};

inline CommandResult run_command(const std::string& command) {
    CommandResult r;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return r;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
    int status = pclose(pipe);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

// A word for /bin/sh: single-quoted, any ' inside closed, escaped and reopened.
inline std::string shell_quote(const std::string& word) {
    std::string out = "'";
    for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

inline std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// The text of a docs file between a generated table's markers (empty when either is missing).
inline std::string doc_section(const std::string& file, const std::string& begin, const std::string& end) {
    const std::string doc = read_text(file);
    const auto a = doc.find(begin), b = doc.find(end);
    if (a == std::string::npos || b == std::string::npos || b < a) return {};
    return doc.substr(a + begin.size(), b - a - begin.size());
}

inline std::string fixture(const std::string& relative) { return std::string(LMWB_FIXTURES) + "/" + relative; }
// A JSON fixture (reference values), parsed.
inline nlohmann::json json_fixture(const std::string& relative) { return nlohmann::json::parse(std::ifstream(fixture(relative))); }

}  // namespace lmwb::test

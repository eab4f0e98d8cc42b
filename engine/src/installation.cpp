#include "lmwb/installation.h"

#include <cstdlib>
#include <filesystem>

namespace lmwb {

namespace fs = std::filesystem;

const char* version() { return LMWB_VERSION; }

std::string executable_path() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : exe.string();
}

std::string data_dir() {
    std::error_code ec;
    if (const char* v = std::getenv("LMWB_DATA_DIR"); v && *v) return fs::is_directory(v, ec) ? std::string(v) : std::string();
    const std::string exe = executable_path();
    if (exe.empty()) return {};
    // LMWB_DATA_RELATIVE: the install data folder relative to the install bin folder, e.g. "../share/lmwb".
    const fs::path dir = (fs::path(exe).parent_path() / LMWB_DATA_RELATIVE).lexically_normal();
    return fs::is_directory(dir, ec) ? dir.string() : std::string();
}

namespace {
std::string sub_dir(const char* name) {
    const std::string root = data_dir();
    std::error_code ec;
    if (root.empty() || !fs::is_directory(fs::path(root) / name, ec)) return {};
    // Without links: paths written into reports are the same whichever link led here (the build tree's are links).
    const fs::path real = fs::canonical(fs::path(root) / name, ec);
    return ec ? (fs::path(root) / name).string() : real.string();
}
}  // namespace

std::string bundled_models_dir() { return sub_dir("models"); }
std::string bundled_suites_dir() { return sub_dir("suites"); }

std::string bundled_model(const std::string& name) {
    const std::string models = bundled_models_dir();
    if (models.empty() || name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") return {};
    std::error_code ec;
    const fs::path folder = fs::path(models) / name;
    return fs::is_directory(folder, ec) ? folder.string() : std::string();
}

}  // namespace lmwb

// The Hugging Face cache resolver on hostile names, revisions and ref files: a repository name, a revision and a
// refs/<revision> file's content come from the input (separated as fuzz_support.h says). Whatever it answers must
// be a snapshot folder inside the cache; anything else is a ModelError.
#include <cstdint>
#include <cstdlib>

#include "fuzz_support.h"
#include "lmwb/installation.h"
#include "lmwb/model_error.h"
#include "lmwb/model_source.h"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = lmwb::fuzz::split_files(std::string_view(reinterpret_cast<const char*>(data), size), 3);
    const std::string name(parts[0]), revision(parts.size() > 1 ? parts[1] : "main"), ref(parts.size() > 2 ? parts[2] : "");
    if (name.find('\0') != std::string::npos || revision.find('\0') != std::string::npos) return 0;
    const fs::path hub = lmwb::fuzz::scratch() / "hub";
    const fs::path repo = hub / "models--acme--tiny";
    std::error_code ec;
    fs::create_directories(repo / "snapshots" / "0123456789abcdef0123456789abcdef01234567", ec);
    fs::create_directories(repo / "refs", ec);
    lmwb::fuzz::write_file("hub/models--acme--tiny/refs/main", ref);
    ::setenv("HF_HUB_CACHE", hub.c_str(), 1);
    try {
        const fs::path got = fs::weakly_canonical(lmwb::resolve_model(name, revision), ec);
        const auto rel = got.lexically_relative(fs::weakly_canonical(hub / "models--acme--tiny" / "snapshots", ec));
        if (fs::exists(got) && fs::is_directory(got) && (rel.empty() || *rel.begin() == "..")) {
            // Only the cache's own snapshots, a folder the name itself is (a path given as the model) or a bundled model.
            if (!fs::is_directory(name) && lmwb::bundled_model(name).empty()) std::abort();
        }
    } catch (const lmwb::ModelError&) {
    }
    return 0;
}

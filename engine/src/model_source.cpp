#include "lmwb/model_source.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "lmwb/installation.h"
#include "lmwb/model_error.h"

namespace lmwb {

namespace {

namespace fs = std::filesystem;

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v && *v ? v : "";
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    return s;
}

bool is_commit(const std::string& s) {
    return s.size() == 40 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::vector<std::string> snapshots_of(const fs::path& repo) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(repo / "snapshots", ec))
        if (e.is_directory()) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

// A revision as the Hub names them: a branch or tag (letters, digits, '.', '_', '-', '/' between parts, as
// refs/pr/1; no part "." or "..") or a commit hash. Anything else never reaches the file system.
bool is_revision_name(const std::string& r) {
    if (r.empty() || r.size() > 255 || r.front() == '/' || r.back() == '/' || r.front() == '-') return false;
    for (char c : r)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-' && c != '/') return false;
    std::size_t start = 0;
    while (start <= r.size()) {
        const std::size_t end = std::min(r.find('/', start), r.size());
        const std::string part = r.substr(start, end - start);
        if (part.empty() || part == "." || part == "..") return false;
        start = end + 1;
    }
    return true;
}

// The snapshot folder of `repo` at `revision`, or throws saying what is missing.
fs::path snapshot(const fs::path& repo, const std::string& name, const std::string& revision) {
    if (!is_revision_name(revision))
        throw ModelError(name + ": revision '" + revision + "' is not a branch, tag or commit name (letters, digits, '.', '_', '-', '/')");
    const auto snaps = snapshots_of(repo);
    if (snaps.empty()) throw ModelError(repo.string() + ": the cache holds no snapshots of " + name + " (snapshots/ is missing or empty)");
    std::error_code ec;  // every query with an error code: a name too long for the file system is a "no", not a throw
    if (is_commit(revision) && fs::is_directory(repo / "snapshots" / revision, ec)) return repo / "snapshots" / revision;
    const fs::path ref = repo / "refs" / revision;
    const auto status = fs::symlink_status(ref, ec);
    if (!ec && fs::exists(status)) {
        // A ref is a small regular file of the cache holding a commit hash: never a link, never quoted back.
        if (!fs::is_regular_file(status) || fs::file_size(ref, ec) > 256)
            throw ModelError(ref.string() + ": not a ref file of the cache (a link, a folder or too large); refusing to read it");
        std::ifstream in(ref);
        std::string commit;
        std::getline(in, commit);
        commit = trim(commit);
        if (!is_commit(commit)) throw ModelError(ref.string() + ": does not hold a commit hash (40 hexadecimal digits)");
        if (!fs::is_directory(repo / "snapshots" / commit, ec))
            throw ModelError(ref.string() + ": names snapshot " + commit + ", which is not in " + (repo / "snapshots").string());
        return repo / "snapshots" / commit;
    }
    if (revision == "main" && snaps.size() == 1) return repo / "snapshots" / snaps.front();  // a cache copied without refs/
    std::string list;
    for (const auto& s : snaps) list += (list.empty() ? "" : ", ") + s;
    throw ModelError(repo.string() + ": no refs/" + revision + " and no snapshot " + revision + " (snapshots: " + list +
                     "); give --revision with one of them");
}

}  // namespace

std::string hf_cache_dir() {
    if (auto v = env("HF_HUB_CACHE"); !v.empty()) return v;
    if (auto v = env("HF_HOME"); !v.empty()) return (fs::path(v) / "hub").string();
    return (fs::path(env("HOME")) / ".cache" / "huggingface" / "hub").string();
}

std::string resolve_model(const std::string& name, const std::string& revision) {
    std::error_code ec;
    if (fs::is_directory(name, ec)) return name;
    // Only repository-shaped names go to the cache: a path that does not exist stays a missing path.
    const bool repo_name = !name.empty() && name.front() != '/' && name.front() != '.' && name.find("//") == std::string::npos &&
                           std::count(name.begin(), name.end(), '/') <= 1 && name.find('\\') == std::string::npos;
    if (!repo_name) throw ModelError(name + ": not a folder");
    if (auto bundled = bundled_model(name); !bundled.empty()) return bundled;  // "tiny-b": a model shipped with lmwb
    const auto slash = name.find('/');
    const std::string folder = "models--" + (slash == std::string::npos ? name : name.substr(0, slash) + "--" + name.substr(slash + 1));
    const fs::path repo = fs::path(hf_cache_dir()) / folder;
    if (!fs::is_directory(repo, ec))
        throw ModelError(name + ": not a folder, and not in the Hugging Face cache (looked for " + repo.string() +
                         "; set HF_HUB_CACHE or HF_HOME to use another cache)");
    return snapshot(repo, name, revision).string();
}

std::vector<CachedModel> cached_models() {
    std::vector<CachedModel> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(hf_cache_dir(), ec)) {
        const std::string dir = e.path().filename().string();
        if (!e.is_directory() || dir.rfind("models--", 0) != 0) continue;
        std::string name = dir.substr(8);
        if (auto sep = name.find("--"); sep != std::string::npos) name.replace(sep, 2, "/");
        try {
            const fs::path snap = snapshot(e.path(), name, "main");
            if (fs::is_regular_file(snap / "config.json", ec)) out.push_back({name, snap.filename().string(), snap.string()});
        } catch (const ModelError&) {
            // a repository without a usable main snapshot is not listed
        }
    }
    std::sort(out.begin(), out.end(), [](const CachedModel& a, const CachedModel& b) { return a.name < b.name; });
    return out;
}

}  // namespace lmwb

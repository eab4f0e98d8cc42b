// Where a model given on the command line or in the GUI lives: a folder as it is, or a Hugging Face repository name
// ("org/name") found offline in the local Hugging Face cache. Plain C++; no network, ever.
#pragma once

#include <string>
#include <vector>

namespace lmwb {

// $HF_HUB_CACHE, else $HF_HOME/hub, else $HOME/.cache/huggingface/hub.
std::string hf_cache_dir();

// An existing folder is returned as it is; the name of a bundled model ("tiny-b") is its folder. Otherwise `name` is
// a repository ("org/name" or "name") looked up in the cache: models--org--name/refs/<revision> names a commit whose files are in snapshots/<commit>/ (a revision may also
// be a commit itself). Throws ModelError saying where it looked: no such repository, no snapshots, a ref naming a
// missing snapshot, several snapshots and no ref.
std::string resolve_model(const std::string& name, const std::string& revision = "main");

struct CachedModel {
    std::string name;      // "org/name"
    std::string revision;  // the commit of refs/main, or of the only snapshot
    std::string path;      // the snapshot folder
};
// Repositories in the cache whose main snapshot (or only snapshot) holds a config.json, sorted by name.
std::vector<CachedModel> cached_models();

}  // namespace lmwb

// The program's version and where its own files are. Nothing here is a build-time path: the bundled models and
// suites are found relative to the running executable (<bindir>/../share/lmwb in an installed tree, and the same
// layout in the build tree), so an installed or moved copy works without the source tree.
#pragma once

#include <string>

namespace lmwb {

const char* version();  // the project's version (CMakeLists.txt `project(... VERSION ...)`, the only place it is set)

std::string executable_path();  // the running program's file; "" when the system does not say

// $LMWB_DATA_DIR when set, else the data folder beside the executable; "" when that folder does not exist.
std::string data_dir();
std::string bundled_models_dir();  // data_dir()/models, or ""
std::string bundled_suites_dir();  // data_dir()/suites, or ""

// A bundled model's folder by its name (e.g. "tiny-b"), or "" when there is none of that name.
std::string bundled_model(const std::string& name);

}  // namespace lmwb

// lm-eval task files (lm_eval_files.cpp): task YAMLs as JSON with the lines of their keys, and the local data files
// they name, split by split.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lmwb/suite.h"

namespace lmwb::datasets {

using ojson = nlohmann::ordered_json;

// A YAML document as JSON with the lines of its top-level keys.
struct YamlDoc {
    ojson value;
    std::map<std::string, int> lines;
    std::string file;
    int line_of(const std::string& key) const {
        auto it = lines.find(key);
        return it == lines.end() ? 0 : it->second;
    }
    [[noreturn]] void fail(const std::string& key, const std::string& message) const {
        const int line = line_of(key);
        throw SuiteError(file + (line ? ":" + std::to_string(line) : std::string()) + ": " + key + ": " + message);
    }
};

// A file's text, which must be UTF-8 (Python reads these files so and fails on anything else).
std::string read_text(const std::filesystem::path& p, const std::string& needed_by);
// Plain scalars resolve as PyYAML's loader does (null, booleans, integers, floats); quoted ones stay strings; a tag
// such as !function (a Python hook) is refused with its line.
YamlDoc read_yaml(const std::filesystem::path& path);
// include: the base's keys, then the task's own (lm-eval's shallow merge), resolved relative to each file.
YamlDoc read_task_yaml(const std::filesystem::path& path, int depth = 0);

// The documents of each split: JSON Lines, a JSON array, or CSV typed as the datasets library's pandas reader types
// it; `hash_input` holds the files' bytes for the suite's digest.
struct Data {
    std::map<std::string, std::vector<ojson>> splits;
    std::string hash_input;
};
Data load_data(const YamlDoc& y);

// lm_eval_task.cpp: one task YAML as its Suites (one per filter pipeline of a generate_until task), whether a key is
// one a task YAML may hold, whether a file is a YAML.
std::vector<Suite> build_task(YamlDoc y);
bool is_task_key(const std::string& key);
bool is_yaml(const std::filesystem::path& p);

}  // namespace lmwb::datasets

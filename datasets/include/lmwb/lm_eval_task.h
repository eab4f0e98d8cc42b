// lm-evaluation-harness task YAMLs on local data: a task becomes a Suite whose items carry the prompts lm-eval builds
// (api/task.py: doc_to_text, doc_to_choice, doc_to_target, description, few-shot examples, delimiters).
#pragma once

#include <string>
#include <vector>

#include "lmwb/suite.h"

namespace lmwb::datasets {

// Whether `path` is one for load_lm_eval_tasks: a .yaml / .yml file, or a folder holding them.
bool is_lm_eval_path(const std::string& path);

// A task YAML, a group YAML (its `task` list: task, group or tag names found next to it, task files, or inline
// mappings), or a folder of task YAMLs, as Suites: one per task, or one per filter pipeline of a generate_until task
// (named task,pipeline). The keys each takes are in docs/suite-format.md; any other is an error naming the file, its
// line and the key — a Python hook (`!function`, `process_docs`) cannot run here.
std::vector<Suite> load_lm_eval_tasks(const std::string& path);

// An item's responses (generation.repeats of them) through a suite's response_filters, as lm-eval's filters
// transform them: regex (re.findall, the group_select-th match, the first non-empty group of a tuple, stripped; else
// the fallback), lowercase, uppercase, remove_whitespace (str.strip) on each; take_first, take_first_k, majority_vote
// (the most frequent, the first seen of a tie) on the list. Without filters: the first response. Throws SuiteError
// for a pattern PCRE2 cannot compile or when more or fewer than one response is left.
std::string apply_response_filters(const Suite& suite, const std::vector<std::string>& responses);
inline std::string apply_response_filters(const Suite& suite, const std::string& response) {
    return apply_response_filters(suite, std::vector<std::string>{response});
}

// Python's re.sub(pattern, "", text) with PCRE2 (lm-eval's exact_match regexes_to_ignore). Throws SuiteError for a
// pattern that does not compile.
std::string remove_matches(const std::string& pattern, const std::string& text);

}  // namespace lmwb::datasets

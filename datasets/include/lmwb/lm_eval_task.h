// lm-evaluation-harness task YAMLs on local data: a task becomes a Suite whose items carry the prompts lm-eval builds
// (api/task.py: doc_to_text, doc_to_choice, doc_to_target, description, few-shot examples, delimiters).
#pragma once

#include <string>
#include <vector>

#include "lmwb/suite.h"

namespace lmwb::datasets {

// Whether `path` is one for load_lm_eval_tasks: a .yaml / .yml file, or a folder holding them.
bool is_lm_eval_path(const std::string& path);

// A task YAML, a group YAML (`group` with a `task` list of task names found next to it, or of task files), or a
// folder of task YAMLs. Supported: `include`, `task`, `dataset_path` (`json`, `csv`, or a local file or folder) with
// `dataset_kwargs.data_files` (a file, a list, or per split), `test_split` / `validation_split` / `fewshot_split` /
// `training_split`, `output_type` (multiple_choice, loglikelihood, loglikelihood_rolling, generate_until with
// `generation_kwargs` until / max_gen_toks / do_sample / temperature), `doc_to_text` /
// `doc_to_target` / `doc_to_choice` (a field name, Jinja with lm-eval's environment, or a list; a rendered choice
// list read as a Python literal), `target_delimiter`, `fewshot_delimiter`, `num_fewshot`, `fewshot_config.sampler:
// first_n`, `description`, `metric_list` (acc, acc_norm; a loglikelihood task's acc; word and byte perplexity and
// bits per byte; exact_match with ignore_case / ignore_punctuation), one `filter_list` pipeline (regex, lowercase,
// uppercase, take_first), `metadata.version`
// (docs/suite-format.md). Anything else is an error naming the file, its line and
// the key — a Python hook (`!function`, `process_docs`) cannot run here.
std::vector<Suite> load_lm_eval_tasks(const std::string& path);

// A response through a suite's response_filters, as lm-eval's filters transform it (regex: re.findall, the
// group_select-th match, the first non-empty group of a tuple, stripped; else the fallback). Throws SuiteError for a
// pattern PCRE2 cannot compile.
std::string apply_response_filters(const Suite& suite, const std::string& response);

}  // namespace lmwb::datasets

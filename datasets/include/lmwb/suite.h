// Evaluation suites: a JSON definition plus JSONL items (docs/suite-format.md). Loading renders every item's
// prompt (few-shot examples included), so what the model sees is fixed by the files and the suite's seed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace lmwb::datasets {

// Bad suite files; what() starts with "file:line:" or names the field at fault.
class SuiteError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class TaskKind { MultipleChoice, Generation, Perplexity };
std::string to_string(TaskKind kind);

struct FewShot {
    int count = 0;
    std::uint64_t seed = 1234;
    std::string separator = "\n\n";
    std::string source;  // a JSONL file of examples; empty: the suite's own items (never the item itself)
};

struct GenerationSettings {
    int max_new_tokens = 32;
    double temperature = 0;  // 0: greedy
    int top_k = 0;
    double top_p = 1;
    std::vector<std::string> stop;
    int repeats = 1;  // generations per item, reduced to one by the response filters (an lm-eval task's `repeats`)
};

// Without a suite's "normalization": the SQuAD v1.1 script's normalize_answer (all four steps). A suite's object
// names the steps it wants; a step it leaves out is off, except collapse_whitespace.
struct AnswerNormalization {
    bool lowercase = true, strip_punctuation = true, strip_articles = true, collapse_whitespace = true;
    // lm-eval's exact_match only (regexes_to_ignore, ignore_numbers): each pattern's matches removed from both sides
    // first (Python's re.sub(p, "", x), in order), ASCII digits removed last.
    std::vector<std::string> remove_patterns;
    bool remove_digits = false;
};

// One thing human raters judge of each item (docs/human-evaluation.md): a scale and the values it allows.
struct RubricDimension {
    std::string name;
    std::string scale = "ordinal";    // "nominal", "ordinal" or "interval"
    std::vector<std::string> values;  // in order: e.g. 1..5, or yes / no
};

struct SuiteItem {
    std::size_t index = 0;  // position among the suite's items
    std::size_t line = 0;   // line in the items file (1-based)
    std::string id;
    std::string prompt;                   // the context the model sees, few-shot examples included
    std::vector<std::string> choices;     // multiple_choice
    int answer = -1;                      // multiple_choice: index into choices
    std::vector<std::string> references;  // generation
    std::string text;                     // perplexity: the document
    std::string content_hash;             // SHA-256 of what is scored (prompt, choices, answer, references, text)
    // The prompt's parts, for chat templates: the few-shot examples (their prompt and target, in order) and the
    // item's own prompt. prompt = each shot's prompt + target_delimiter + target + separator, then question.
    struct Shot {
        std::string prompt, target;
    };
    std::vector<Shot> shots;
    std::string question;
    // Values of the suite's slice fields: a string or number gives one, a list of strings (tags) several, absent none.
    std::map<std::string, std::vector<std::string>> slices;
};

struct Suite {
    std::string path;  // the definition file
    std::string name, version, description;
    TaskKind kind = TaskKind::MultipleChoice;
    std::string sha256;  // of the definition, items and few-shot files
    std::string prompt_template, target_delimiter = " ";
    bool chat = false;  // prompts go through the model's chat template (as eval --apply-chat-template)
    FewShot few_shot;
    GenerationSettings generation;
    AnswerNormalization normalization;
    bool ascii_words = true;           // ROUGE with rouge_score's tokenizer ("ascii", the default) or "unicode"
    bool rouge_stemmer = false;        // ROUGE with rouge_score's Porter stemmer
    std::string bleu_tokenizer = "13a";
    // Exact match and F1: "squad-v1.1" (default; the SQuAD v1.1 script: ASCII punctuation, F1 0 when nothing is
    // left on both sides) or "unicode" (every Unicode punctuation character; F1 1 when both sides are empty).
    bool unicode_answers = false;
    std::vector<std::string> metrics;  // requested; empty: the kind's defaults
    std::vector<std::string> slices;   // item fields whose values group items for per-slice aggregates
    // Human rating dimensions; absent: generation suites get fluency 1-5, relevance 1-5 and correct yes/no.
    std::vector<RubricDimension> rubric;
    std::vector<SuiteItem> items;
    // An lm-evaluation-harness task (lmwb/lm_eval_task.h): its name, version and few-shot count, for the report.
    struct LmEvalTask {
        std::string task, version;
        int num_fewshot = 0;
        std::string filter;  // generate_until: the filter pipeline whose output the metrics read ("none": lm-eval's default)
    };
    std::optional<LmEvalTask> lm_eval;
    // One pipeline of lm-eval's filter_list: what the metrics of a generation suite read of its responses
    // (lm_eval/filters: regex with group_select and fallback, lowercase, uppercase, remove_whitespace, take_first,
    // take_first_k, majority_vote).
    struct ResponseFilter {
        std::string function;
        std::string pattern, fallback = "[invalid]";
        int group_select = 0;
        int k = 1;  // take_first_k
    };
    std::vector<ResponseFilter> response_filters;
};

// The fields of a suite definition, declared once: the loader accepts these and no others ("unknown field"), with
// the keys each object field holds; docs/suite-format.md's table is suite_fields_markdown() (`lmwb formats suite`,
// kept equal by a test).
struct SuiteField {
    std::vector<std::string> names;  // fields documented together ("name", "version", "description")
    std::string meaning;             // Markdown
    std::vector<std::string> keys;   // an object field's own keys (few_shot, generation, normalization)
};
const std::vector<SuiteField>& suite_fields();
std::string suite_fields_markdown();

Suite load_suite(const std::string& definition_path);

// `{field}` substitution ("{{" and "}}" are literal braces); values are strings or numbers.
// Throws SuiteError naming the missing field.
std::string render_template(std::string_view tmpl, const std::map<std::string, std::string>& fields);

std::string sha256_hex(std::string_view data);
// Streams the file; throws SuiteError when unreadable. after_chunk(bytes read so far) runs after each MiB and may
// throw to stop (a cancel).
std::string file_sha256(const std::string& path, const std::function<void(std::uint64_t)>& after_chunk = {});

}  // namespace lmwb::datasets

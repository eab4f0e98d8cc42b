// Evaluation reports: plain structs, JSON with a schema version (docs/report-schema.md), atomic writes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "lmwb/suite.h"

namespace lmwb::eval {

inline constexpr int kReportSchemaVersion = 1;

// Unreadable, malformed or incompatible reports and journals; what() names the file and field.
class ReportError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct ModelIdentity {
    std::string path, format, architecture, compute_dtype;
    std::int64_t parameters = 0;
    std::string weights_sha256, tokenizer_sha256;
    std::string repository, revision;  // opened by a Hugging Face cache name: which, at which revision (else empty)
};

struct ChoiceScore {
    std::string text;
    double logprob = 0;
    std::optional<double> unconditional_logprob;  // log p(choice | empty context), for acc_mutual_info
    bool is_greedy = false;
    std::size_t tokens = 0;
};

// One item's result: what went in, what came out, and every metric's value for it.
struct ItemRecord {
    std::size_t index = 0;  // position in the suite
    std::string id, content_hash;
    std::string prompt, target, response;
    std::string unfiltered;  // generation with lm-eval filters: the generated text; `response` is what they left
    std::vector<std::string> samples;  // generation with an lm-eval task's repeats: every generated text
    std::vector<std::string> references;
    std::vector<ChoiceScore> choices;
    int answer = -1, predicted = -1;
    // perplexity: the document; generation: the response under the scoring model
    double logprob = 0;
    std::size_t tokens = 0, words = 0, bytes = 0;
    std::vector<float> token_logprobs;
    std::string stop_reason;
    bool truncated = false;
    std::map<std::string, double> metrics;
    std::map<std::string, std::vector<std::string>> slices;  // the suite's slice fields: this item's values
    std::string attribution;  // JSON text of an attribution (docs/interpretability.md) for chosen items, else empty
};

struct Aggregate {
    std::string metric;
    double value = 0, stderr_ = 0, low = 0, high = 0;  // 95% interval
    std::string method;  // how the interval was found: "wilson", "percentile bootstrap", "bca bootstrap"
    std::size_t n = 0;   // items with a value
    bool higher_is_better = true;
    std::string signature;  // how to reproduce it elsewhere (sacreBLEU's signature), or empty
    bool has_interval = true;  // false for a slice of one item: stderr and ci95 are null
};

// The aggregates of the items whose slice field holds a value (e.g. category = "geography", tags contains "hard").
struct SliceReport {
    std::string field, value;
    std::size_t n = 0;  // items in the slice
    std::vector<Aggregate> aggregates;
};

struct ReliabilityBinRecord {
    double confidence_low = 0, confidence_high = 0, mean_confidence = 0, accuracy = 0;
    std::size_t count = 0;
};

// Human ratings merged into a report (lmwb ratings merge): per rubric dimension and pairwise comparison.
struct JudgeAgreement {
    std::string metric;   // a per-item metric of the scoring model (fluency, relevance)
    double spearman = 0;  // against the items' mean human rating
    std::size_t n = 0;
};
struct DimensionRatings {
    std::string suite, dimension, scale;
    std::size_t items = 0, raters = 0, ratings = 0;
    Aggregate mean;  // of the items' mean ratings; nominal: the share of the rubric's first value ("yes")
    std::map<std::string, std::size_t> counts;
    std::optional<double> cohen_kappa;         // exactly two raters, on the items both rated (quadratic weights unless nominal)
    std::optional<double> fleiss_kappa;        // every rated item has the same number (>= 2) of raters
    std::optional<double> krippendorff_alpha;  // any raters, missing ratings allowed, at the dimension's scale
    std::vector<JudgeAgreement> judge;
};
struct PairwiseRatings {
    std::string suite, a, b;
    std::size_t a_wins = 0, b_wins = 0, ties = 0, a_shown_first = 0;
    Aggregate b_win_rate;  // (B wins + ties / 2) / ratings, over ratings
    std::optional<double> krippendorff_alpha;
};
struct RatingsSummary {
    std::vector<std::string> raters;
    std::vector<DimensionRatings> dimensions;
    std::vector<PairwiseRatings> pairwise;
};

struct SuiteReport {
    std::string name, version, kind, sha256, path;
    std::size_t suite_items = 0;  // items in the suite file (before --limit and --shard)
    std::vector<std::string> metrics;
    bool ascii_words = true;    // rouge_tokenizer "ascii" (rouge_score's) or "unicode"
    bool rouge_stemmer = false;
    std::string bleu_tokenizer = "13a";
    bool chat = false;  // its prompts went through the model's chat template
    std::optional<datasets::Suite::LmEvalTask> lm_eval;  // an lm-evaluation-harness task: its name, version, n-shot
    std::vector<Aggregate> aggregates;
    std::vector<std::string> slice_fields;  // the suite's "slices"
    std::vector<SliceReport> slices;        // per field, per value (sorted)
    std::vector<datasets::RubricDimension> rubric;  // what human raters judge
    std::vector<ReliabilityBinRecord> reliability;  // multiple_choice
    std::vector<ItemRecord> items;
};

struct RunSettings {
    std::uint64_t seed = 0;
    std::size_t limit = 0;  // 0: all items
    int shard_index = 1, shard_count = 1;
    int bootstrap_iterations = 1000;  // 0 (no intervals) to kMaxResamples
    // Items run in fixed blocks of batch_size consecutive suite items, each block in its own model calls, so an item's
    // numbers depend on its block alone: shards take whole blocks (block b in shard b mod N + 1) and a resume redoes an
    // unfinished block whole, and both equal an uninterrupted run bit for bit. Reports without it (before blocks) took
    // items one by one: read as 1.
    int batch_size = 8;
    // lm-evaluation-harness's --apply_chat_template, --fewshot_as_multiturn and --system_instruction; chat_template
    // is the SHA-256 of the template a run used (with the flag or a suite's "chat": true), empty when none did.
    bool apply_chat_template = false, fewshot_as_multiturn = false;
    std::string system_instruction, chat_template;
};

// Facts about how and when the run happened: excluded when two reports are compared for equality.
struct Execution {
    std::string started, finished;  // UTC, ISO 8601
    double wall_seconds = 0;
    std::size_t tokens = 0;  // scored and generated tokens
    double tokens_per_second = 0, items_per_second = 0;
    int threads = 0;
    bool resumed = false;
    std::vector<std::string> merged_from;  // shard reports combined by `lmwb merge`
};

struct Report {
    int schema_version = kReportSchemaVersion;
    std::string software = "lmwb", software_version;
    ModelIdentity model;
    std::optional<ModelIdentity> judge;  // the scoring model for fluency and relevance, when not the model itself
    RunSettings settings;
    Execution execution;
    std::vector<SuiteReport> suites;
    std::optional<RatingsSummary> ratings;  // from raters' files, by `lmwb ratings merge`
};

std::string to_json_text(const Report& r, int indent = 2);
// Throws ReportError for malformed JSON, missing fields or a newer schema version, naming the file.
Report report_from_json_text(const std::string& text, const std::string& source);
Report read_report(const std::string& path);
// Outputs never replace what is not theirs. The path a file may be written at: an existing path must be a regular
// file — a device, FIFO, socket or folder is refused, and so is a symbolic link unless through_symlink (then the
// link's final target is returned, which must itself be a regular file or not exist yet). Throws ReportError naming
// the path and what is there.
std::string output_path(const std::string& path, bool through_symlink = false);
// Writes through a temporary file in the same folder (created exclusively, never following a link), flushed and
// renamed over the target, which output_path() checks first.
void write_file_atomic(const std::string& path, const std::string& content, bool through_symlink = false);
void write_report(const std::string& path, const Report& r, bool through_symlink = false);

// The report without its execution block, for equality checks across batch sizes, threads and resumes.
std::string deterministic_json(const Report& r);

// The report's fields, declared once (report_fields.cpp): docs/report-schema.md's table is report_fields_markdown()
// (`lmwb formats report`), and a test checks every field of written reports against the list. Paths are JSON
// pointers with `*` for a list's elements and a map's keys.
struct ReportField {
    std::string path, type, meaning;
};
const std::vector<ReportField>& report_fields();
std::string report_fields_markdown();
// The declared field a report's path falls under (a slice's aggregates as the suite's; anything under `ratings` or an
// item's `attribution`, documented elsewhere); nullptr when none.
const ReportField* find_report_field(const std::string& path);

}  // namespace lmwb::eval

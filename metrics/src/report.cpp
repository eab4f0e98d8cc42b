#include "lmwb/report.h"

#include <cerrno>
#include <cmath>
#include <limits>
#include <map>
#include <type_traits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "lmwb/report_analysis.h"
#include "lmwb/files.h"
#include "lmwb/json_file.h"
#include "lmwb/text.h"

namespace lmwb::eval {

namespace {
// A reading error with its JSON path, for report_from_json_text to put after the file's name.
struct AtPath : std::runtime_error {
    using std::runtime_error::runtime_error;
};
}  // namespace

using nlohmann::json;

namespace {

// A JSON value into a field. nlohmann converts a float into an integer with a plain cast, undefined behaviour past the
// integer's range (found by fuzz/journal: "tokens": 1e30): integer fields take JSON integers within their range only.
template <class T>
void get_value(const json& v, T& out) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        if (!v.is_number_integer()) throw json::type_error::create(302, "expected an integer, found " + std::string(v.type_name()), &v);
        // Negative values compare as int64, the rest as uint64: every T's limits fit the side they are compared on.
        const auto top = static_cast<std::uint64_t>(std::numeric_limits<T>::max());
        bool fits;
        if (v.is_number_unsigned()) {
            fits = v.get<std::uint64_t>() <= top;
        } else {
            const auto i = v.get<std::int64_t>();
            fits = i < 0 ? i >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) : static_cast<std::uint64_t>(i) <= top;
        }
        if (!fits) throw json::out_of_range::create(406, "integer " + v.dump() + " is out of range for this field", &v);
        out = v.is_number_unsigned() ? static_cast<T>(v.get<std::uint64_t>()) : static_cast<T>(v.get<std::int64_t>());
    } else if constexpr (std::is_same_v<T, std::map<std::string, std::size_t>>) {
        if (!v.is_object()) throw json::type_error::create(302, "expected an object, found " + std::string(v.type_name()), &v);
        out.clear();
        for (const auto& [k, x] : v.items()) get_value(x, out[k]);
    } else {
        v.get_to(out);
    }
}

template <class T>
void opt_get(const json& j, const char* key, T& out) {
    auto it = j.find(key);
    if (it != j.end() && !it->is_null()) get_value(*it, out);
}

}  // namespace

void to_json(json& j, const ModelIdentity& m) {
    j = {{"path", m.path}, {"format", m.format}, {"architecture", m.architecture}, {"compute_dtype", m.compute_dtype},
         {"parameters", m.parameters}, {"weights_sha256", m.weights_sha256}, {"tokenizer_sha256", m.tokenizer_sha256}};
    if (!m.repository.empty()) j["repository"] = m.repository, j["revision"] = m.revision;
}
void from_json(const json& j, ModelIdentity& m) {
    get_value(j.at("path"), m.path);
    get_value(j.at("format"), m.format);
    get_value(j.at("architecture"), m.architecture);
    opt_get(j, "compute_dtype", m.compute_dtype);
    opt_get(j, "parameters", m.parameters);
    get_value(j.at("weights_sha256"), m.weights_sha256);
    opt_get(j, "repository", m.repository);
    opt_get(j, "revision", m.revision);
    get_value(j.at("tokenizer_sha256"), m.tokenizer_sha256);
}

void to_json(json& j, const ChoiceScore& c) {
    j = {{"text", c.text}, {"logprob", c.logprob}, {"is_greedy", c.is_greedy}, {"tokens", c.tokens}};
    if (c.unconditional_logprob) j["unconditional_logprob"] = *c.unconditional_logprob;
}
void from_json(const json& j, ChoiceScore& c) {
    get_value(j.at("text"), c.text);
    get_value(j.at("logprob"), c.logprob);
    opt_get(j, "is_greedy", c.is_greedy);
    opt_get(j, "tokens", c.tokens);
    if (j.contains("unconditional_logprob")) c.unconditional_logprob = j["unconditional_logprob"].get<double>();
}

void to_json(json& j, const ItemRecord& r) {
    j = {{"index", r.index}, {"id", r.id}, {"content_hash", r.content_hash}, {"prompt", r.prompt}, {"target", r.target},
         {"metrics", r.metrics}};
    if (!r.response.empty() || !r.references.empty()) j["response"] = r.response;
    if (!r.references.empty()) j["references"] = r.references;
    if (!r.choices.empty()) {
        j["choices"] = r.choices;
        j["answer"] = r.answer;
        j["predicted"] = r.predicted;
    }
    if (r.tokens) {
        j["logprob"] = r.logprob;
        j["tokens"] = r.tokens;
        j["token_logprobs"] = r.token_logprobs;
    }
    if (r.words) j["words"] = r.words;
    if (r.bytes) j["bytes"] = r.bytes;
    if (!r.stop_reason.empty()) j["stop_reason"] = r.stop_reason;
    if (!r.unfiltered.empty()) j["unfiltered"] = r.unfiltered;
    if (!r.samples.empty()) j["samples"] = r.samples;
    if (r.truncated) j["truncated"] = true;
    if (!r.slices.empty()) j["slices"] = r.slices;
    if (!r.attribution.empty()) j["attribution"] = json::parse(r.attribution);
}
void from_json(const json& j, ItemRecord& r) {
    get_value(j.at("index"), r.index);
    get_value(j.at("id"), r.id);
    get_value(j.at("content_hash"), r.content_hash);
    get_value(j.at("prompt"), r.prompt);
    opt_get(j, "target", r.target);
    opt_get(j, "response", r.response);
    opt_get(j, "references", r.references);
    opt_get(j, "choices", r.choices);
    opt_get(j, "answer", r.answer);
    opt_get(j, "predicted", r.predicted);
    opt_get(j, "logprob", r.logprob);
    opt_get(j, "tokens", r.tokens);
    opt_get(j, "token_logprobs", r.token_logprobs);
    opt_get(j, "words", r.words);
    opt_get(j, "bytes", r.bytes);
    opt_get(j, "stop_reason", r.stop_reason);
    opt_get(j, "unfiltered", r.unfiltered);
    opt_get(j, "samples", r.samples);
    opt_get(j, "truncated", r.truncated);
    get_value(j.at("metrics"), r.metrics);
    opt_get(j, "slices", r.slices);
    if (j.contains("attribution") && j["attribution"].is_object()) r.attribution = j["attribution"].dump();
}

void to_json(json& j, const Aggregate& a) {
    j = {{"metric", a.metric}, {"value", a.value}, {"stderr", a.stderr_}, {"ci95", {a.low, a.high}}, {"method", a.method},
         {"n", a.n}, {"higher_is_better", a.higher_is_better}};
    if (!a.has_interval) j["stderr"] = j["ci95"] = nullptr;
    if (!a.signature.empty()) j["signature"] = a.signature;
}
void from_json(const json& j, Aggregate& a) {
    get_value(j.at("metric"), a.metric);
    get_value(j.at("value"), a.value);
    a.has_interval = !j.at("ci95").is_null();
    if (!a.has_interval) {
        a.stderr_ = a.low = a.high = a.value;
        get_value(j.at("method"), a.method);
        get_value(j.at("n"), a.n);
        opt_get(j, "higher_is_better", a.higher_is_better);
        opt_get(j, "signature", a.signature);
        return;
    }
    get_value(j.at("stderr"), a.stderr_);
    const auto& ci = j.at("ci95");
    if (!ci.is_array() || ci.size() != 2) throw ReportError("field 'ci95' of metric '" + a.metric + "' must be [low, high]");
    a.low = ci[0].get<double>();
    a.high = ci[1].get<double>();
    get_value(j.at("method"), a.method);
    get_value(j.at("n"), a.n);
    opt_get(j, "higher_is_better", a.higher_is_better);
    opt_get(j, "signature", a.signature);
}

}  // namespace lmwb::eval
namespace lmwb::datasets {
void to_json(nlohmann::json& j, const RubricDimension& d) { j = {{"name", d.name}, {"scale", d.scale}, {"values", d.values}}; }
void from_json(const nlohmann::json& j, RubricDimension& d) {
    j.at("name").get_to(d.name);  // strings only
    j.at("scale").get_to(d.scale);
    j.at("values").get_to(d.values);
}
}  // namespace lmwb::datasets
namespace lmwb::eval {

void to_json(json& j, const JudgeAgreement& a) { j = {{"metric", a.metric}, {"spearman", a.spearman}, {"n", a.n}}; }
void from_json(const json& j, JudgeAgreement& a) {
    get_value(j.at("metric"), a.metric);
    a.spearman = j.at("spearman").is_null() ? std::nan("") : j.at("spearman").get<double>();
    get_value(j.at("n"), a.n);
}
json optional_number(const std::optional<double>& v) { return v && std::isfinite(*v) ? json(*v) : json(nullptr); }
std::optional<double> read_optional(const json& j, const char* key) {
    if (!j.contains(key) || j[key].is_null()) return std::nullopt;
    return j[key].get<double>();
}
void to_json(json& j, const DimensionRatings& d) {
    j = {{"suite", d.suite}, {"dimension", d.dimension}, {"scale", d.scale}, {"items", d.items}, {"raters", d.raters},
         {"ratings", d.ratings}, {"mean", d.mean}, {"counts", d.counts}, {"cohen_kappa", optional_number(d.cohen_kappa)},
         {"fleiss_kappa", optional_number(d.fleiss_kappa)}, {"krippendorff_alpha", optional_number(d.krippendorff_alpha)},
         {"judge", d.judge}};
}
void from_json(const json& j, DimensionRatings& d) {
    get_value(j.at("suite"), d.suite);
    get_value(j.at("dimension"), d.dimension);
    get_value(j.at("scale"), d.scale);
    get_value(j.at("items"), d.items);
    get_value(j.at("raters"), d.raters);
    get_value(j.at("ratings"), d.ratings);
    get_value(j.at("mean"), d.mean);
    get_value(j.at("counts"), d.counts);
    d.cohen_kappa = read_optional(j, "cohen_kappa");
    d.fleiss_kappa = read_optional(j, "fleiss_kappa");
    d.krippendorff_alpha = read_optional(j, "krippendorff_alpha");
    get_value(j.at("judge"), d.judge);
}
void to_json(json& j, const PairwiseRatings& p) {
    j = {{"suite", p.suite}, {"a", p.a}, {"b", p.b}, {"a_wins", p.a_wins}, {"b_wins", p.b_wins}, {"ties", p.ties},
         {"a_shown_first", p.a_shown_first}, {"b_win_rate", p.b_win_rate}, {"krippendorff_alpha", optional_number(p.krippendorff_alpha)}};
}
void from_json(const json& j, PairwiseRatings& p) {
    get_value(j.at("suite"), p.suite);
    get_value(j.at("a"), p.a);
    get_value(j.at("b"), p.b);
    get_value(j.at("a_wins"), p.a_wins);
    get_value(j.at("b_wins"), p.b_wins);
    get_value(j.at("ties"), p.ties);
    get_value(j.at("a_shown_first"), p.a_shown_first);
    get_value(j.at("b_win_rate"), p.b_win_rate);
    p.krippendorff_alpha = read_optional(j, "krippendorff_alpha");
}
void to_json(json& j, const RatingsSummary& r) { j = {{"raters", r.raters}, {"dimensions", r.dimensions}, {"pairwise", r.pairwise}}; }
void from_json(const json& j, RatingsSummary& r) {
    get_value(j.at("raters"), r.raters);
    get_value(j.at("dimensions"), r.dimensions);
    get_value(j.at("pairwise"), r.pairwise);
}

void to_json(json& j, const SliceReport& s) {
    j = {{"field", s.field}, {"value", s.value}, {"n", s.n}, {"aggregates", s.aggregates}};
}
void from_json(const json& j, SliceReport& s) {
    get_value(j.at("field"), s.field);
    get_value(j.at("value"), s.value);
    get_value(j.at("n"), s.n);
    get_value(j.at("aggregates"), s.aggregates);
}

void to_json(json& j, const ReliabilityBinRecord& b) {
    j = {{"confidence_low", b.confidence_low}, {"confidence_high", b.confidence_high}, {"mean_confidence", b.mean_confidence},
         {"accuracy", b.accuracy}, {"count", b.count}};
}
void from_json(const json& j, ReliabilityBinRecord& b) {
    get_value(j.at("confidence_low"), b.confidence_low);
    get_value(j.at("confidence_high"), b.confidence_high);
    get_value(j.at("mean_confidence"), b.mean_confidence);
    get_value(j.at("accuracy"), b.accuracy);
    get_value(j.at("count"), b.count);
}

void to_json(json& j, const SuiteReport& s) {
    j = {{"name", s.name}, {"version", s.version}, {"kind", s.kind}, {"sha256", s.sha256}, {"path", s.path},
         {"suite_items", s.suite_items}, {"metrics", s.metrics}, {"rouge_tokenizer", s.ascii_words ? "ascii" : "unicode"},
         {"aggregates", s.aggregates}, {"items", s.items}};
    if (s.rouge_stemmer) j["rouge_stemmer"] = true;
    if (s.chat) j["chat"] = true;
    if (s.lm_eval) {
        j["lm_eval"] = {{"task", s.lm_eval->task}, {"version", s.lm_eval->version}, {"num_fewshot", s.lm_eval->num_fewshot}};
        if (!s.lm_eval->filter.empty()) j["lm_eval"]["filter"] = s.lm_eval->filter;
    }
    if (s.bleu_tokenizer != "13a") j["bleu_tokenizer"] = s.bleu_tokenizer;
    if (!s.reliability.empty()) j["reliability"] = s.reliability;
    if (!s.slice_fields.empty()) {
        j["slice_fields"] = s.slice_fields;
        j["slices"] = s.slices;
    }
    if (!s.rubric.empty()) j["rubric"] = s.rubric;
}
void from_json(const json& j, SuiteReport& s) {
    get_value(j.at("name"), s.name);
    get_value(j.at("version"), s.version);
    get_value(j.at("kind"), s.kind);
    get_value(j.at("sha256"), s.sha256);
    opt_get(j, "path", s.path);
    get_value(j.at("suite_items"), s.suite_items);
    get_value(j.at("metrics"), s.metrics);
    std::string rt = "unicode";
    opt_get(j, "rouge_tokenizer", rt);
    s.ascii_words = rt == "ascii";
    opt_get(j, "rouge_stemmer", s.rouge_stemmer);
    opt_get(j, "chat", s.chat);
    if (j.contains("lm_eval")) {
        datasets::Suite::LmEvalTask t;
        get_value(j.at("lm_eval").at("task"), t.task);
        get_value(j.at("lm_eval").at("version"), t.version);
        get_value(j.at("lm_eval").at("num_fewshot"), t.num_fewshot);
        opt_get(j.at("lm_eval"), "filter", t.filter);
        s.lm_eval = t;
    }
    opt_get(j, "bleu_tokenizer", s.bleu_tokenizer);
    get_value(j.at("aggregates"), s.aggregates);
    opt_get(j, "reliability", s.reliability);
    opt_get(j, "slice_fields", s.slice_fields);
    opt_get(j, "slices", s.slices);
    opt_get(j, "rubric", s.rubric);
    // Each item with its place: "/suites/0/items/3 (id 'x'): type must be number, but is null".
    const json& items = j.at("items");
    if (!items.is_array()) throw AtPath("/items: expected an array");
    s.items.clear();
    for (std::size_t k = 0; k < items.size(); ++k) {
        try {
            s.items.push_back(items[k].get<ItemRecord>());
        } catch (const json::exception& e) {
            const std::string id = items[k].is_object() && items[k].contains("id") && items[k]["id"].is_string() ? " (id '" + items[k]["id"].get<std::string>() + "')" : "";
            throw AtPath("/items/" + std::to_string(k) + id + ": " + e.what());
        }
    }
}

void to_json(json& j, const RunSettings& s) {
    j = {{"seed", s.seed}, {"limit", s.limit}, {"shard", {{"index", s.shard_index}, {"count", s.shard_count}}},
         {"bootstrap_iterations", s.bootstrap_iterations}, {"batch_size", s.batch_size}};
    if (s.apply_chat_template || s.fewshot_as_multiturn || !s.system_instruction.empty() || !s.chat_template.empty())
        j["chat"] = {{"apply_chat_template", s.apply_chat_template}, {"fewshot_as_multiturn", s.fewshot_as_multiturn},
                     {"system_instruction", s.system_instruction}, {"template_sha256", s.chat_template}};
}
void from_json(const json& j, RunSettings& s) {
    get_value(j.at("seed"), s.seed);
    get_value(j.at("limit"), s.limit);
    get_value(j.at("shard").at("index"), s.shard_index);
    get_value(j.at("shard").at("count"), s.shard_count);
    get_value(j.at("bootstrap_iterations"), s.bootstrap_iterations);
    s.batch_size = 1;  // written before blocks: items were assigned to shards one by one
    opt_get(j, "batch_size", s.batch_size);
    if (s.batch_size < 1) throw AtPath("/settings/batch_size: must be at least 1");
    if (s.shard_count < 1 || s.shard_index < 1 || s.shard_index > s.shard_count)
        throw AtPath("/settings/shard: index " + std::to_string(s.shard_index) + " of " + std::to_string(s.shard_count) + "; expected 1 <= index <= count");
    if (s.bootstrap_iterations < 0) throw AtPath("/settings/bootstrap_iterations: must not be negative");
    if (j.contains("chat")) {
        const json& c = j.at("chat");
        get_value(c.at("apply_chat_template"), s.apply_chat_template);
        get_value(c.at("fewshot_as_multiturn"), s.fewshot_as_multiturn);
        get_value(c.at("system_instruction"), s.system_instruction);
        get_value(c.at("template_sha256"), s.chat_template);
    }
}

void to_json(json& j, const Execution& e) {
    j = {{"started", e.started}, {"finished", e.finished}, {"wall_seconds", e.wall_seconds}, {"tokens", e.tokens},
         {"tokens_per_second", e.tokens_per_second}, {"items_per_second", e.items_per_second}, {"threads", e.threads},
         {"resumed", e.resumed}};
    if (!e.merged_from.empty()) j["merged_from"] = e.merged_from;
}
void from_json(const json& j, Execution& e) {
    opt_get(j, "started", e.started);
    opt_get(j, "finished", e.finished);
    opt_get(j, "wall_seconds", e.wall_seconds);
    opt_get(j, "tokens", e.tokens);
    opt_get(j, "tokens_per_second", e.tokens_per_second);
    opt_get(j, "items_per_second", e.items_per_second);
    opt_get(j, "threads", e.threads);
    opt_get(j, "resumed", e.resumed);
    opt_get(j, "merged_from", e.merged_from);
}

namespace {

json report_json(const Report& r, bool with_execution) {
    json j = {{"schema", "lmwb.report"}, {"schema_version", r.schema_version}, {"software", r.software},
              {"software_version", r.software_version}, {"model", r.model}, {"settings", r.settings}, {"suites", r.suites}};
    j["judge"] = r.judge ? json(*r.judge) : json(nullptr);
    if (r.ratings) j["ratings"] = *r.ratings;
    if (with_execution) j["execution"] = r.execution;
    return j;
}

}  // namespace

std::string to_json_text(const Report& r, int indent) { return report_json(r, true).dump(indent) + "\n"; }

std::string deterministic_json(const Report& r) { return report_json(r, false).dump(); }

Report report_from_json_text(const std::string& text, const std::string& source) {
    // The rules every file's JSON follows (lmwb/json_file.h): unique keys, a nesting limit.
    const json j = json_file::parse(text, source, [](const std::string& message) { throw ReportError(message); });
    if (!j.is_object() || j.value("schema", "") != "lmwb.report")
        throw ReportError(source + ": not an lmwb report (no \"schema\": \"lmwb.report\")");
    Report r;
    try {
        get_value(j.at("schema_version"), r.schema_version);
        if (r.schema_version > kReportSchemaVersion)
            throw ReportError(source + ": report schema version " + std::to_string(r.schema_version) +
                              " is newer than this lmwb reads (" + std::to_string(kReportSchemaVersion) + "); update lmwb");
        if (r.schema_version < 1) throw ReportError(source + ": field 'schema_version' must be at least 1");
        opt_get(j, "software", r.software);
        opt_get(j, "software_version", r.software_version);
        get_value(j.at("model"), r.model);
        if (j.contains("judge") && !j["judge"].is_null()) r.judge = j["judge"].get<ModelIdentity>();
        get_value(j.at("settings"), r.settings);
        if (j.contains("execution")) get_value(j["execution"], r.execution);
        const json& suites = j.at("suites");
        if (!suites.is_array()) throw ReportError(source + ": /suites: expected an array");
        for (std::size_t i = 0; i < suites.size(); ++i) {
            try {
                r.suites.push_back(suites[i].get<SuiteReport>());
            } catch (const json::exception& e) {
                throw ReportError(source + ": /suites/" + std::to_string(i) + ": " + e.what());
            } catch (const AtPath& e) {
                throw ReportError(source + ": /suites/" + std::to_string(i) + e.what());
            }
        }
        if (j.contains("ratings") && !j["ratings"].is_null()) r.ratings = j["ratings"].get<RatingsSummary>();
    } catch (const json::exception& e) {
        throw ReportError(source + ": " + e.what());
    } catch (const AtPath& e) {
        throw ReportError(source + ": " + e.what());
    }
    for (const auto& s : r.suites) validate_suite(s, source);
    return r;
}

Report read_report(const std::string& path) {
    std::string why;
    // Regular files only (never a FIFO, /dev/zero or a folder), of at most 4 GiB.
    const auto content = files::read_regular(path, &why, std::size_t{4} << 30);
    if (!content) throw ReportError(path + ": cannot open the report (" + why + ")");
    return report_from_json_text(*content, path);
}

namespace {

const char* kind_of(mode_t m) {
    return S_ISDIR(m) ? "a folder" : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device" : S_ISFIFO(m) ? "a FIFO"
           : S_ISSOCK(m) ? "a socket" : S_ISLNK(m) ? "a symbolic link" : "not a regular file";
}

}  // namespace

std::string output_path(const std::string& path, bool through_symlink) {
    namespace fs = std::filesystem;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return path;  // nothing there yet (a missing folder fails at the write)
    if (S_ISREG(st.st_mode)) return path;
    if (!S_ISLNK(st.st_mode))
        throw ReportError(path + ": exists and is " + kind_of(st.st_mode) + ", not a file of ours; refusing to replace it");
    std::error_code ec;
    const fs::path target = fs::weakly_canonical(fs::path(path), ec);
    if (!through_symlink || ec)
        throw ReportError(path + ": is a symbolic link (to " + (ec ? fs::read_symlink(path, ec).string() : target.string()) +
                          "); refusing to replace the link. Writing through it to its target is a separate, explicit choice");
    if (::lstat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        throw ReportError(path + ": links to " + target.string() + ", which is " + kind_of(st.st_mode) + "; refusing to replace it");
    return target.string();
}

void write_file_atomic(const std::string& requested, const std::string& content, bool through_symlink) {
    namespace fs = std::filesystem;
    const std::string path = output_path(requested, through_symlink);
    fs::path target(path);
    // A temporary name nobody holds: created exclusively, so a file or link already there is never written through.
    fs::path tmp;
    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
        tmp = target.parent_path() / ("." + target.filename().string() + ".tmp" + std::to_string(::getpid()) + "-" + std::to_string(attempt));
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) throw ReportError(path + ": cannot write (" + std::string(std::strerror(errno)) + ")");
    std::size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            throw ReportError(path + ": write failed (" + std::string(std::strerror(err)) + ")");
        }
        done += static_cast<std::size_t>(n);
    }
    bool ok = ::fsync(fd) == 0;
    ok = ::close(fd) == 0 && ok;
    if (!ok || std::rename(tmp.c_str(), target.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw ReportError(path + ": could not be written (" + std::string(std::strerror(err)) + ")");
    }
}

void write_report(const std::string& path, const Report& r, bool through_symlink) {
    write_file_atomic(path, to_json_text(r), through_symlink);
}

}  // namespace lmwb::eval

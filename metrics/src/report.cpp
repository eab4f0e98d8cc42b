#include "lmwb/report.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace lmwb::eval {

using nlohmann::json;

namespace {

template <class T>
void opt_get(const json& j, const char* key, T& out) {
    auto it = j.find(key);
    if (it != j.end() && !it->is_null()) it->get_to(out);
}

}  // namespace

void to_json(json& j, const ModelIdentity& m) {
    j = {{"path", m.path}, {"format", m.format}, {"architecture", m.architecture}, {"compute_dtype", m.compute_dtype},
         {"parameters", m.parameters}, {"weights_sha256", m.weights_sha256}, {"tokenizer_sha256", m.tokenizer_sha256}};
}
void from_json(const json& j, ModelIdentity& m) {
    j.at("path").get_to(m.path);
    j.at("format").get_to(m.format);
    j.at("architecture").get_to(m.architecture);
    opt_get(j, "compute_dtype", m.compute_dtype);
    opt_get(j, "parameters", m.parameters);
    j.at("weights_sha256").get_to(m.weights_sha256);
    j.at("tokenizer_sha256").get_to(m.tokenizer_sha256);
}

void to_json(json& j, const ChoiceScore& c) {
    j = {{"text", c.text}, {"logprob", c.logprob}, {"is_greedy", c.is_greedy}, {"tokens", c.tokens}};
    if (c.unconditional_logprob) j["unconditional_logprob"] = *c.unconditional_logprob;
}
void from_json(const json& j, ChoiceScore& c) {
    j.at("text").get_to(c.text);
    j.at("logprob").get_to(c.logprob);
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
    if (r.truncated) j["truncated"] = true;
    if (!r.slices.empty()) j["slices"] = r.slices;
    if (!r.attribution.empty()) j["attribution"] = json::parse(r.attribution);
}
void from_json(const json& j, ItemRecord& r) {
    j.at("index").get_to(r.index);
    j.at("id").get_to(r.id);
    j.at("content_hash").get_to(r.content_hash);
    j.at("prompt").get_to(r.prompt);
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
    opt_get(j, "truncated", r.truncated);
    j.at("metrics").get_to(r.metrics);
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
    j.at("metric").get_to(a.metric);
    j.at("value").get_to(a.value);
    a.has_interval = !j.at("ci95").is_null();
    if (!a.has_interval) {
        a.stderr_ = a.low = a.high = a.value;
        j.at("method").get_to(a.method);
        j.at("n").get_to(a.n);
        opt_get(j, "higher_is_better", a.higher_is_better);
        opt_get(j, "signature", a.signature);
        return;
    }
    j.at("stderr").get_to(a.stderr_);
    const auto& ci = j.at("ci95");
    if (!ci.is_array() || ci.size() != 2) throw ReportError("field 'ci95' of metric '" + a.metric + "' must be [low, high]");
    a.low = ci[0].get<double>();
    a.high = ci[1].get<double>();
    j.at("method").get_to(a.method);
    j.at("n").get_to(a.n);
    opt_get(j, "higher_is_better", a.higher_is_better);
    opt_get(j, "signature", a.signature);
}

}  // namespace lmwb::eval
namespace lmwb::datasets {
void to_json(nlohmann::json& j, const RubricDimension& d) { j = {{"name", d.name}, {"scale", d.scale}, {"values", d.values}}; }
void from_json(const nlohmann::json& j, RubricDimension& d) {
    j.at("name").get_to(d.name);
    j.at("scale").get_to(d.scale);
    j.at("values").get_to(d.values);
}
}  // namespace lmwb::datasets
namespace lmwb::eval {

void to_json(json& j, const JudgeAgreement& a) { j = {{"metric", a.metric}, {"spearman", a.spearman}, {"n", a.n}}; }
void from_json(const json& j, JudgeAgreement& a) {
    j.at("metric").get_to(a.metric);
    a.spearman = j.at("spearman").is_null() ? std::nan("") : j.at("spearman").get<double>();
    j.at("n").get_to(a.n);
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
    j.at("suite").get_to(d.suite);
    j.at("dimension").get_to(d.dimension);
    j.at("scale").get_to(d.scale);
    j.at("items").get_to(d.items);
    j.at("raters").get_to(d.raters);
    j.at("ratings").get_to(d.ratings);
    j.at("mean").get_to(d.mean);
    j.at("counts").get_to(d.counts);
    d.cohen_kappa = read_optional(j, "cohen_kappa");
    d.fleiss_kappa = read_optional(j, "fleiss_kappa");
    d.krippendorff_alpha = read_optional(j, "krippendorff_alpha");
    j.at("judge").get_to(d.judge);
}
void to_json(json& j, const PairwiseRatings& p) {
    j = {{"suite", p.suite}, {"a", p.a}, {"b", p.b}, {"a_wins", p.a_wins}, {"b_wins", p.b_wins}, {"ties", p.ties},
         {"a_shown_first", p.a_shown_first}, {"b_win_rate", p.b_win_rate}, {"krippendorff_alpha", optional_number(p.krippendorff_alpha)}};
}
void from_json(const json& j, PairwiseRatings& p) {
    j.at("suite").get_to(p.suite);
    j.at("a").get_to(p.a);
    j.at("b").get_to(p.b);
    j.at("a_wins").get_to(p.a_wins);
    j.at("b_wins").get_to(p.b_wins);
    j.at("ties").get_to(p.ties);
    j.at("a_shown_first").get_to(p.a_shown_first);
    j.at("b_win_rate").get_to(p.b_win_rate);
    p.krippendorff_alpha = read_optional(j, "krippendorff_alpha");
}
void to_json(json& j, const RatingsSummary& r) { j = {{"raters", r.raters}, {"dimensions", r.dimensions}, {"pairwise", r.pairwise}}; }
void from_json(const json& j, RatingsSummary& r) {
    j.at("raters").get_to(r.raters);
    j.at("dimensions").get_to(r.dimensions);
    j.at("pairwise").get_to(r.pairwise);
}

void to_json(json& j, const SliceReport& s) {
    j = {{"field", s.field}, {"value", s.value}, {"n", s.n}, {"aggregates", s.aggregates}};
}
void from_json(const json& j, SliceReport& s) {
    j.at("field").get_to(s.field);
    j.at("value").get_to(s.value);
    j.at("n").get_to(s.n);
    j.at("aggregates").get_to(s.aggregates);
}

void to_json(json& j, const ReliabilityBinRecord& b) {
    j = {{"confidence_low", b.confidence_low}, {"confidence_high", b.confidence_high}, {"mean_confidence", b.mean_confidence},
         {"accuracy", b.accuracy}, {"count", b.count}};
}
void from_json(const json& j, ReliabilityBinRecord& b) {
    j.at("confidence_low").get_to(b.confidence_low);
    j.at("confidence_high").get_to(b.confidence_high);
    j.at("mean_confidence").get_to(b.mean_confidence);
    j.at("accuracy").get_to(b.accuracy);
    j.at("count").get_to(b.count);
}

void to_json(json& j, const SuiteReport& s) {
    j = {{"name", s.name}, {"version", s.version}, {"kind", s.kind}, {"sha256", s.sha256}, {"path", s.path},
         {"suite_items", s.suite_items}, {"metrics", s.metrics}, {"rouge_tokenizer", s.ascii_words ? "ascii" : "unicode"},
         {"aggregates", s.aggregates}, {"items", s.items}};
    if (s.rouge_stemmer) j["rouge_stemmer"] = true;
    if (s.bleu_tokenizer != "13a") j["bleu_tokenizer"] = s.bleu_tokenizer;
    if (!s.reliability.empty()) j["reliability"] = s.reliability;
    if (!s.slice_fields.empty()) {
        j["slice_fields"] = s.slice_fields;
        j["slices"] = s.slices;
    }
    if (!s.rubric.empty()) j["rubric"] = s.rubric;
}
void from_json(const json& j, SuiteReport& s) {
    j.at("name").get_to(s.name);
    j.at("version").get_to(s.version);
    j.at("kind").get_to(s.kind);
    j.at("sha256").get_to(s.sha256);
    opt_get(j, "path", s.path);
    j.at("suite_items").get_to(s.suite_items);
    j.at("metrics").get_to(s.metrics);
    std::string rt = "unicode";
    opt_get(j, "rouge_tokenizer", rt);
    s.ascii_words = rt == "ascii";
    opt_get(j, "rouge_stemmer", s.rouge_stemmer);
    opt_get(j, "bleu_tokenizer", s.bleu_tokenizer);
    j.at("aggregates").get_to(s.aggregates);
    opt_get(j, "reliability", s.reliability);
    opt_get(j, "slice_fields", s.slice_fields);
    opt_get(j, "slices", s.slices);
    opt_get(j, "rubric", s.rubric);
    j.at("items").get_to(s.items);
}

void to_json(json& j, const RunSettings& s) {
    j = {{"seed", s.seed}, {"limit", s.limit}, {"shard", {{"index", s.shard_index}, {"count", s.shard_count}}},
         {"bootstrap_iterations", s.bootstrap_iterations}};
}
void from_json(const json& j, RunSettings& s) {
    j.at("seed").get_to(s.seed);
    j.at("limit").get_to(s.limit);
    j.at("shard").at("index").get_to(s.shard_index);
    j.at("shard").at("count").get_to(s.shard_count);
    j.at("bootstrap_iterations").get_to(s.bootstrap_iterations);
}

void to_json(json& j, const Execution& e) {
    j = {{"started", e.started}, {"finished", e.finished}, {"wall_seconds", e.wall_seconds}, {"tokens", e.tokens},
         {"tokens_per_second", e.tokens_per_second}, {"items_per_second", e.items_per_second}, {"threads", e.threads},
         {"batch_size", e.batch_size}, {"resumed", e.resumed}};
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
    opt_get(j, "batch_size", e.batch_size);
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
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {  // parse errors, and numbers beyond double's range ("1e400")
        throw ReportError(source + ": not a JSON report (" + std::string(e.what()) + ")");
    }
    if (!j.is_object() || j.value("schema", "") != "lmwb.report")
        throw ReportError(source + ": not an lmwb report (no \"schema\": \"lmwb.report\")");
    Report r;
    try {
        r.schema_version = j.at("schema_version").get<int>();
        if (r.schema_version > kReportSchemaVersion)
            throw ReportError(source + ": report schema version " + std::to_string(r.schema_version) +
                              " is newer than this lmwb reads (" + std::to_string(kReportSchemaVersion) + "); update lmwb");
        if (r.schema_version < 1) throw ReportError(source + ": field 'schema_version' must be at least 1");
        opt_get(j, "software", r.software);
        opt_get(j, "software_version", r.software_version);
        j.at("model").get_to(r.model);
        if (j.contains("judge") && !j["judge"].is_null()) r.judge = j["judge"].get<ModelIdentity>();
        j.at("settings").get_to(r.settings);
        if (j.contains("execution")) j["execution"].get_to(r.execution);
        j.at("suites").get_to(r.suites);
        if (j.contains("ratings") && !j["ratings"].is_null()) r.ratings = j["ratings"].get<RatingsSummary>();
    } catch (const json::exception& e) {
        throw ReportError(source + ": " + e.what());
    }
    return r;
}

Report read_report(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ReportError(path + ": cannot open the report");
    std::ostringstream s;
    s << in.rdbuf();
    return report_from_json_text(s.str(), path);
}

void write_file_atomic(const std::string& path, const std::string& content) {
    namespace fs = std::filesystem;
    fs::path target(path);
    fs::path tmp = target.parent_path() / ("." + target.filename().string() + ".tmp" + std::to_string(::getpid()));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
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

void write_report(const std::string& path, const Report& r) { write_file_atomic(path, to_json_text(r)); }

}  // namespace lmwb::eval

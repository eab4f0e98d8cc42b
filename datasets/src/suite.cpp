#include <algorithm>
#include <cstdint>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <type_traits>
#include <limits>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "lmwb/suite.h"
#include "lmwb/files.h"
#include "lmwb/json_file.h"
#include "lmwb/text.h"

namespace lmwb::datasets {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

[[noreturn]] void suite_error(const std::string& message) { throw SuiteError(message); }

// A definition is a few kilobytes; items and few-shot files may be large, never unbounded.
constexpr std::size_t kMaxDefinitionBytes = std::size_t{16} << 20, kMaxItemsBytes = std::size_t{2} << 30;

std::string read_file(const std::string& path, const std::string& what, std::size_t max_bytes = kMaxItemsBytes) {
    std::string why;
    auto content = files::read_regular(path, &why, max_bytes);
    if (!content) throw SuiteError(path + ": cannot open " + what + ": " + why);
    return *content;
}

// One JSONL record with where it came from.
struct Record {
    std::size_t line;
    json value;
};

std::vector<Record> read_jsonl(const std::string& path, const std::string& content) {
    std::vector<Record> out;
    std::size_t line_no = 0, pos = 0;
    while (pos < content.size()) {
        auto end = content.find('\n', pos);
        if (end == std::string::npos) end = content.size();
        std::string line = content.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        // The rules every file's JSON follows (lmwb/json_file.h): unique keys, a nesting limit.
        json v = json_file::parse(line, path + ":" + std::to_string(line_no), suite_error);
        if (!v.is_object()) throw SuiteError(path + ":" + std::to_string(line_no) + ": expected a JSON object, found " + v.type_name());
        out.push_back({line_no, std::move(v)});
    }
    return out;
}

std::string scalar_text(const json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number() || v.is_boolean()) return v.dump();
    return {};
}

// What a typed field expects, as json_file's errors word it.
template <class T>
std::string expected_type() {
    if constexpr (std::is_same_v<T, bool>) return "true or false";
    else if constexpr (std::is_integral_v<T>) return "an integer";
    else if constexpr (std::is_floating_point_v<T>) return "a number";
    else if constexpr (std::is_same_v<T, std::string>) return "a string";
    else if constexpr (std::is_same_v<T, std::vector<std::string>>) return "a list of strings";
    else return "an object of strings";
}

// Reads the definition's typed fields, naming the field on a type mismatch.
struct Def {
    const json& j;
    const std::string& path;
    template <class T>
    T get(const json& obj, const std::string& key, T fallback, const std::string& where) const {
        auto it = obj.find(key);
        if (it == obj.end() || it->is_null()) return fallback;
        // nlohmann casts a float into an integer unchecked, undefined past the integer's range (found by
        // fuzz/suite, fuzz/corpus/suite/crash-float-into-integer). 1e9 is a float in JSON: floats in range are kept.
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
            if (it->is_number_float()) {
                const double x = it->get<double>(), top = std::ldexp(1.0, std::numeric_limits<T>::digits);
                if (!(x >= (std::is_signed_v<T> ? -top : 0.0) && x < top))
                    throw SuiteError(path + ": /" + where + key + ": is " + it->dump() + ", out of range");
                return static_cast<T>(x);
            }
        }
        try {
            return it->get<T>();
        } catch (const json::exception&) {
            throw SuiteError(path + ": /" + where + key + ": expected " + expected_type<T>() + ", found " + it->type_name());
        }
    }
};

void check_keys(const json& obj, const std::set<std::string>& allowed, const std::string& path, const std::string& where) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
        if (!allowed.count(it.key())) throw SuiteError(path + ": unknown field '/" + where + it.key() + "'");
}

std::set<std::string> field_names() {
    std::set<std::string> out;
    for (const auto& f : suite_fields()) out.insert(f.names.begin(), f.names.end());
    return out;
}

std::set<std::string> keys_of(const std::string& field) {
    for (const auto& f : suite_fields())
        if (f.names.front() == field) return {f.keys.begin(), f.keys.end()};
    return {};
}

struct Mapped {
    std::map<std::string, std::string> fields;  // template values
    const json* choices = nullptr;
    const json* answer = nullptr;
    const json* references = nullptr;
    const json* text = nullptr;
    const json* id = nullptr;
};

}  // namespace

const std::vector<SuiteField>& suite_fields() {
    static const std::vector<SuiteField> fields = {
        {{"lmwb_suite"}, "format version, 1 (optional)", {}},
        {{"name", "version", "description"}, "identity; reports carry name, version and the SHA-256 of all files", {}},
        {{"kind"}, "`multiple_choice`, `generation` or `perplexity`", {}},
        {{"items"}, "the JSONL file, relative to the definition", {}},
        {{"fields"}, "maps the canonical item keys `id`, `choices`, `answer`, `references`, `text` to the keys your items use", {}},
        {{"prompt"}, "template with `{field}` substitution from the item's top-level string or number fields; `{{` and `}}` are literal braces. Not used by `perplexity`", {}},
        {{"target_delimiter"}, "put between the context and a choice (multiple choice) or a few-shot example's target; default `\" \"`", {}},
        {{"choices"}, "fixed choices for every item (e.g. yes/no tasks); otherwise each item's `choices`", {}},
        {{"chat"}, "`true`: prompts reach the model through its chat template, as `lmwb eval --apply-chat-template` (lm-evaluation-harness's semantics: the few-shot examples and the prompt as one user message, or alternating user/assistant turns with `--fewshot-as-multiturn`; a choice is scored right after the generation prompt). Not for `perplexity`", {}},
        {{"few_shot"}, "`count` examples before each prompt, each `prompt + target_delimiter + target`, joined by `separator` (default `\"\\n\\n\"`); drawn per item with `seed` from `items` (a JSONL file of the same shape) or, when absent, from the suite's other items (never the item itself): for item i (0-based), a SplitMix64 stream started at seed · 0x9E3779B97F4A7C15 + i + 1 (mod 2⁶⁴) drives a partial Fisher–Yates shuffle of the pool in file order, and the first `count` are the examples, in draw order (independent of sharding, `--limit` and run order; pinned by `scripts/reference/few_shot_reference.py`)", {"count", "seed", "separator", "items"}},
        {{"generation"}, "decoding for `generation` suites; `temperature` 0 is greedy. Sampled runs draw with a seed derived from `--seed` and the item id, so shards, resumes and item order do not change the output", {"max_new_tokens", "temperature", "top_k", "top_p", "stop"}},
        {{"normalization"}, "applied to response and references before `exact_match` and `contains`. Without the field: the SQuAD v1.1 script's `normalize_answer` (lowercase, punctuation per `answer_convention`, articles, whitespace), so `exact_match` is SQuAD's `exact_match_score`. With it: the steps named `true`; a step left out is off, except `collapse_whitespace`", {"lowercase", "strip_punctuation", "strip_articles", "collapse_whitespace"}},
        {{"answer_convention"}, "how `exact_match`, `contains` and `f1` treat punctuation and empty answers: `squad-v1.1` (default: the SQuAD v1.1 evaluation script — Python's `string.punctuation`, ASCII only, is what `strip_punctuation` removes, and `f1` is 0 when no token is left on both sides) or `unicode` (every Unicode punctuation character is removed, e.g. `。`, `«»`, `¿`, and `f1` is 1 when both sides are empty). Exact match of two empty answers is 1 in both, as in the SQuAD script", {}},
        {{"rouge_tokenizer"}, "`ascii` (default: `rouge_score`'s tokenizer: the text lowercased as Python does, then only `[a-z0-9]` runs, so Chinese text has no words) or `unicode` (lowercased runs of letters, marks and digits; each CJK ideograph, kana or Hangul syllable is a word). `distinct_*` and `seq_rep_*` always count Unicode words", {}},
        {{"metrics"}, "which metrics to compute; absent: the defaults of the kind (below). Unknown names, or metrics of another kind, are errors", {}},
        {{"slices"}, "item fields to slice by, e.g. `[\"topic\", \"difficulty\", \"tags\"]`: a string or number puts the item in that value's slice, a list of strings (tags) in each; an item without the field is in none of its slices. The report carries every aggregate per slice, `lmwb compare` pairs each slice too", {}},
        {{"bleu_tokenizer", "rouge_stemmer"}, "BLEU's tokenizer and ROUGE's stemmer (see the metrics below)", {}},
        {{"rubric"}, "what human raters judge of each item: `[{\"name\": \"fluency\", \"scale\": \"ordinal\", \"values\": [1, 2, 3, 4, 5]}, …]` ([human-evaluation.md](human-evaluation.md)); generation suites default to fluency, relevance (1–5) and correct (yes/no)", {}},
    };
    return fields;
}

std::string suite_fields_markdown() {
    std::string out = "| field | meaning |\n|---|---|\n";
    for (const auto& f : suite_fields()) {
        std::string names;
        for (const auto& n : f.names) names += (names.empty() ? "`" : ", `") + n + "`";
        out += "| " + names + " | " + f.meaning + " |\n";
    }
    return out;
}

std::string to_string(TaskKind kind) {
    switch (kind) {
    case TaskKind::MultipleChoice: return "multiple_choice";
    case TaskKind::Generation: return "generation";
    case TaskKind::Perplexity: return "perplexity";
    }
    return "?";
}

std::string render_template(std::string_view t, const std::map<std::string, std::string>& fields) {
    std::string out;
    for (std::size_t i = 0; i < t.size(); ++i) {
        char c = t[i];
        if ((c == '{' || c == '}') && i + 1 < t.size() && t[i + 1] == c) {
            out += c;
            ++i;
        } else if (c == '{') {
            auto end = t.find('}', i);
            if (end == std::string_view::npos) throw SuiteError("template: unclosed '{' at character " + std::to_string(i));
            std::string name(t.substr(i + 1, end - i - 1));
            auto it = fields.find(name);
            if (it == fields.end()) throw SuiteError("template field '" + name + "' is missing");
            out += it->second;
            i = end;
        } else {
            out += c;
        }
    }
    return out;
}

Suite load_suite(const std::string& definition_path) {
    Suite s;
    s.path = definition_path;
    const std::string& P = definition_path;
    std::string def_text = read_file(P, "the suite definition", kMaxDefinitionBytes);
    const json j = json_file::parse(def_text, P, suite_error);
    if (!j.is_object()) throw SuiteError(P + ": a suite definition is a JSON object");
    check_keys(j, field_names(), P, "");
    Def d{j, P};
    if (d.get<int>(j, "lmwb_suite", 1, "") != 1)
        throw SuiteError(P + ": /lmwb_suite: is " + j["lmwb_suite"].dump() + "; this version reads format 1");
    s.name = d.get<std::string>(j, "name", "", "");
    if (s.name.empty()) throw SuiteError(P + ": /name: missing field");
    s.version = d.get<std::string>(j, "version", "1", "");
    s.description = d.get<std::string>(j, "description", "", "");
    std::string kind = d.get<std::string>(j, "kind", "", "");
    if (kind == "multiple_choice") s.kind = TaskKind::MultipleChoice;
    else if (kind == "generation") s.kind = TaskKind::Generation;
    else if (kind == "perplexity") s.kind = TaskKind::Perplexity;
    else throw SuiteError(P + ": /kind: is '" + kind + "'; expected multiple_choice, generation or perplexity");
    std::string items_name = d.get<std::string>(j, "items", "", "");
    if (items_name.empty()) throw SuiteError(P + ": /items: missing field (the JSONL file of items)");
    auto base = fs::path(P).parent_path();
    auto resolve = [&](const std::string& f) { return fs::path(f).is_absolute() ? f : (base / f).string(); };
    std::string items_path = resolve(items_name);

    s.prompt_template = d.get<std::string>(j, "prompt", s.kind == TaskKind::Perplexity ? "" : "{question}", "");
    s.target_delimiter = d.get<std::string>(j, "target_delimiter", " ", "");
    s.chat = d.get<bool>(j, "chat", false, "");
    if (s.chat && s.kind == TaskKind::Perplexity) throw SuiteError(P + ": /chat: perplexity suites score their texts as they are");
    auto mapping = d.get<std::map<std::string, std::string>>(j, "fields", {}, "");
    for (auto& [k, v] : mapping)
        if (k != "id" && k != "choices" && k != "answer" && k != "references" && k != "text")
            throw SuiteError(P + ": unknown field '/fields/" + k + "'; maps id, choices, answer, references or text to the items' keys");
    auto fixed_choices = d.get<std::vector<std::string>>(j, "choices", {}, "");
    if (j.contains("few_shot")) {
        const auto& f = j["few_shot"];
        if (!f.is_object()) throw SuiteError(P + ": /few_shot: must be an object");
        check_keys(f, keys_of("few_shot"), P, "few_shot/");
        s.few_shot.count = d.get<int>(f, "count", 0, "few_shot/");
        s.few_shot.seed = d.get<std::uint64_t>(f, "seed", 1234, "few_shot/");
        s.few_shot.separator = d.get<std::string>(f, "separator", "\n\n", "few_shot/");
        std::string src = d.get<std::string>(f, "items", "", "few_shot/");
        if (!src.empty()) s.few_shot.source = resolve(src);
        if (s.few_shot.count < 0) throw SuiteError(P + ": /few_shot/count: must not be negative");
    }
    if (j.contains("generation")) {
        const auto& g = j["generation"];
        if (!g.is_object()) throw SuiteError(P + ": /generation: must be an object");
        check_keys(g, keys_of("generation"), P, "generation/");
        s.generation.max_new_tokens = d.get<int>(g, "max_new_tokens", 32, "generation/");
        s.generation.temperature = d.get<double>(g, "temperature", 0.0, "generation/");
        s.generation.top_k = d.get<int>(g, "top_k", 0, "generation/");
        s.generation.top_p = d.get<double>(g, "top_p", 1.0, "generation/");
        s.generation.stop = d.get<std::vector<std::string>>(g, "stop", {}, "generation/");
        // Checked here, so that a bad setting fails when the suite opens, not after a run has started.
        const auto& gen = s.generation;
        if (gen.max_new_tokens <= 0 || gen.max_new_tokens > (1 << 20))
            throw SuiteError(P + ": /generation/max_new_tokens: is " + std::to_string(gen.max_new_tokens) + "; expected 1 to 1048576");
        if (!(gen.temperature >= 0) || !std::isfinite(gen.temperature))
            throw SuiteError(P + ": /generation/temperature: is " + std::to_string(gen.temperature) + "; expected 0 (greedy) or more");
        if (!(gen.top_p > 0 && gen.top_p <= 1))
            throw SuiteError(P + ": /generation/top_p: is " + std::to_string(gen.top_p) + "; expected more than 0 and at most 1");
        if (gen.top_k < 0) throw SuiteError(P + ": /generation/top_k: is " + std::to_string(gen.top_k) + "; expected 0 (off) or more");
    }
    if (j.contains("normalization")) {
        const auto& n = j["normalization"];
        if (!n.is_object()) throw SuiteError(P + ": /normalization: must be an object");
        check_keys(n, keys_of("normalization"), P, "normalization/");
        s.normalization.lowercase = d.get<bool>(n, "lowercase", false, "normalization/");
        s.normalization.strip_punctuation = d.get<bool>(n, "strip_punctuation", false, "normalization/");
        s.normalization.strip_articles = d.get<bool>(n, "strip_articles", false, "normalization/");
        s.normalization.collapse_whitespace = d.get<bool>(n, "collapse_whitespace", true, "normalization/");
    }
    std::string ac = d.get<std::string>(j, "answer_convention", "squad-v1.1", "");
    if (ac != "squad-v1.1" && ac != "unicode")
        throw SuiteError(P + ": /answer_convention: is '" + ac + "'; expected squad-v1.1 or unicode");
    s.unicode_answers = ac == "unicode";
    std::string rt = d.get<std::string>(j, "rouge_tokenizer", "ascii", "");
    if (rt != "unicode" && rt != "ascii") throw SuiteError(P + ": /rouge_tokenizer: is '" + rt + "'; expected unicode or ascii");
    s.ascii_words = rt == "ascii";
    s.rouge_stemmer = d.get<bool>(j, "rouge_stemmer", false, "");
    s.bleu_tokenizer = d.get<std::string>(j, "bleu_tokenizer", "13a", "");  // checked against the metrics' list when run
    s.metrics = d.get<std::vector<std::string>>(j, "metrics", {}, "");
    s.slices = d.get<std::vector<std::string>>(j, "slices", {}, "");
    if (j.contains("rubric")) {
        const json& rb = j["rubric"];
        if (!rb.is_array()) throw SuiteError(P + ": /rubric: must be a list of dimensions");
        for (std::size_t i = 0; i < rb.size(); ++i) {
            const std::string at = P + ": /rubric/" + std::to_string(i) + ":";
            if (!rb[i].is_object() || !rb[i].contains("name") || !rb[i]["name"].is_string() || !rb[i].contains("values") || !rb[i]["values"].is_array())
                throw SuiteError(at + " needs a 'name' and a list of 'values'");
            RubricDimension dim;
            dim.name = rb[i]["name"].get<std::string>();
            dim.scale = rb[i].value("scale", std::string("ordinal"));
            if (dim.scale != "nominal" && dim.scale != "ordinal" && dim.scale != "interval")
                throw SuiteError(at + ": scale '" + dim.scale + "'; expected nominal, ordinal or interval");
            for (const auto& v : rb[i]["values"]) {
                if (!v.is_string() && !v.is_number()) throw SuiteError(at + ": values must be strings or numbers");
                if (dim.scale != "nominal" && !v.is_number()) throw SuiteError(at + ": an " + dim.scale + " scale needs numbers");
                dim.values.push_back(scalar_text(v));
            }
            if (dim.values.size() < 2) throw SuiteError(at + ": a dimension needs at least two values");
            if (dim.name == "preference") throw SuiteError(at + ": 'preference' is the pairwise comparison's own dimension");
            for (const auto& other : s.rubric)
                if (other.name == dim.name) throw SuiteError(at + ": '" + dim.name + "' is named twice");
            s.rubric.push_back(std::move(dim));
        }
    } else if (s.kind == TaskKind::Generation) {
        s.rubric = {{"fluency", "ordinal", {"1", "2", "3", "4", "5"}},
                    {"relevance", "ordinal", {"1", "2", "3", "4", "5"}},
                    {"correct", "nominal", {"yes", "no"}}};
    }
    for (std::size_t i = 0; i < s.slices.size(); ++i) {
        if (s.slices[i].empty()) throw SuiteError(P + ": /slices: entry " + std::to_string(i) + " is empty");
        if (std::count(s.slices.begin(), s.slices.end(), s.slices[i]) > 1)
            throw SuiteError(P + ": /slices: '" + s.slices[i] + "' is named twice");
    }

    auto key = [&](const std::string& canonical) {
        auto it = mapping.find(canonical);
        return it == mapping.end() ? canonical : it->second;
    };
    auto map_record = [&](const Record& r) {
        Mapped m;
        for (auto it = r.value.begin(); it != r.value.end(); ++it) {
            auto v = scalar_text(it.value());
            if (!v.empty() || it->is_string()) m.fields[it.key()] = v;
        }
        auto find = [&](const std::string& canonical) -> const json* {
            auto it = r.value.find(key(canonical));
            return it == r.value.end() || it->is_null() ? nullptr : &*it;
        };
        m.id = find("id");
        m.choices = find("choices");
        m.answer = find("answer");
        m.references = find("references");
        m.text = find("text");
        return m;
    };
    auto where = [](const std::string& file, const Record& r) { return file + ":" + std::to_string(r.line) + ": "; };

    // The target a few-shot example shows after its prompt.
    struct Example {
        std::string prompt, target;
    };
    auto build = [&](const std::string& file, const Record& r, SuiteItem& item) -> Example {
        Mapped m = map_record(r);
        Example ex;
        try {
            ex.prompt = s.kind == TaskKind::Perplexity ? "" : render_template(s.prompt_template, m.fields);
        } catch (const SuiteError& e) {
            throw SuiteError(where(file, r) + e.what() + " (the suite's 'prompt' uses it)");
        }
        for (const auto& field : s.slices) {
            auto it = r.value.find(field);
            if (it == r.value.end() || it->is_null()) continue;  // not in this slice field at all
            auto& values = item.slices[field];
            if (it->is_string() || it->is_number() || it->is_boolean()) {
                values.push_back(it->is_boolean() ? (it->get<bool>() ? "true" : "false") : scalar_text(*it));
            } else if (it->is_array()) {
                for (const auto& v : *it) {
                    if (!v.is_string() && !v.is_number()) throw SuiteError(where(file, r) + "slice field '" + field + "' must hold strings or numbers");
                    if (std::find(values.begin(), values.end(), scalar_text(v)) == values.end()) values.push_back(scalar_text(v));
                }
            } else {
                throw SuiteError(where(file, r) + "slice field '" + field + "' must be a string, a number or a list of them");
            }
        }
        if (m.id) {
            if (!m.id->is_string() && !m.id->is_number_integer())
                throw SuiteError(where(file, r) + "/" + key("id") + ": must be a string or an integer");
            item.id = scalar_text(*m.id);
        }
        if (s.kind == TaskKind::MultipleChoice) {
            if (!fixed_choices.empty()) {
                item.choices = fixed_choices;
            } else {
                if (!m.choices) throw SuiteError(where(file, r) + "/" + key("choices") + ": missing field");
                if (!m.choices->is_array() || m.choices->empty())
                    throw SuiteError(where(file, r) + "/" + key("choices") + ": must be a non-empty array of strings");
                for (const auto& c : *m.choices) {
                    if (!c.is_string() && !c.is_number()) throw SuiteError(where(file, r) + "/" + key("choices") + ": must hold strings");
                    item.choices.push_back(scalar_text(c));
                }
            }
            if (!m.answer) throw SuiteError(where(file, r) + "/" + key("answer") + ": missing field");
            if (m.answer->is_number_unsigned() && m.answer->get<unsigned long long>() > static_cast<unsigned long long>(INT32_MAX)) {
                throw SuiteError(where(file, r) + "/" + key("answer") + ": is " + std::to_string(m.answer->get<unsigned long long>()) +
                                 ", out of range for " + std::to_string(item.choices.size()) + " choices");
            } else if (m.answer->is_number_integer()) {
                auto a = m.answer->get<long long>();
                if (a < 0 || a >= static_cast<long long>(item.choices.size()))
                    throw SuiteError(where(file, r) + "/" + key("answer") + ": is " + std::to_string(a) + ", out of range for " +
                                     std::to_string(item.choices.size()) + " choices");
                item.answer = static_cast<int>(a);
            } else if (m.answer->is_string()) {
                auto a = m.answer->get<std::string>();
                auto it = std::find(item.choices.begin(), item.choices.end(), a);
                if (it == item.choices.end()) throw SuiteError(where(file, r) + "/" + key("answer") + ": is '" + a + "', which is not one of the choices");
                item.answer = static_cast<int>(it - item.choices.begin());
            } else {
                throw SuiteError(where(file, r) + "/" + key("answer") + ": must be a choice index or the choice's text");
            }
            ex.target = item.choices[static_cast<std::size_t>(item.answer)];
        } else if (s.kind == TaskKind::Generation) {
            if (!m.references) throw SuiteError(where(file, r) + "/" + key("references") + ": missing field");
            if (m.references->is_string()) {
                item.references.push_back(m.references->get<std::string>());
            } else if (m.references->is_array() && !m.references->empty()) {
                for (const auto& x : *m.references) {
                    if (!x.is_string()) throw SuiteError(where(file, r) + "/" + key("references") + ": must hold strings");
                    item.references.push_back(x.get<std::string>());
                }
            } else {
                throw SuiteError(where(file, r) + "/" + key("references") + ": must be a string or a non-empty array of strings");
            }
            ex.target = item.references.front();
        } else {
            if (!m.text || !m.text->is_string()) throw SuiteError(where(file, r) + "/" + key("text") + ": must be a string");
            item.text = m.text->get<std::string>();
            if (item.text.empty()) throw SuiteError(where(file, r) + "/" + key("text") + ": is empty");
        }
        return ex;
    };

    std::string items_text = read_file(items_path, "the suite's items");
    auto records = read_jsonl(items_path, items_text);
    if (records.empty()) throw SuiteError(items_path + ": the suite has no items");
    std::string hash_input = def_text + '\0' + items_text;

    std::vector<Example> examples;
    s.items.resize(records.size());
    std::unordered_map<std::string, std::size_t> seen;  // id -> line
    for (std::size_t i = 0; i < records.size(); ++i) {
        auto& item = s.items[i];
        item.index = i;
        item.line = records[i].line;
        examples.push_back(build(items_path, records[i], item));
        if (item.id.empty()) item.id = std::to_string(i);
        auto [it, fresh] = seen.emplace(item.id, item.line);
        if (!fresh)
            throw SuiteError(items_path + ":" + std::to_string(item.line) + ": duplicate id '" + item.id + "' (first on line " +
                             std::to_string(it->second) + ")");
    }
    // Few-shot examples: from their own file or from the other items.
    std::vector<Example> pool;
    bool own_pool = s.few_shot.source.empty();
    if (s.few_shot.count > 0) {
        if (s.kind == TaskKind::Perplexity) throw SuiteError(P + ": /few_shot: does not apply to perplexity suites");
        if (own_pool) {
            pool = examples;
        } else {
            std::string shot_text = read_file(s.few_shot.source, "the few-shot examples");
            hash_input += '\0' + shot_text;
            for (const auto& r : read_jsonl(s.few_shot.source, shot_text)) {
                SuiteItem scratch;
                pool.push_back(build(s.few_shot.source, r, scratch));
            }
        }
        std::size_t available = pool.size() - (own_pool ? 1 : 0);
        if (static_cast<std::size_t>(s.few_shot.count) > available)
            throw SuiteError(P + ": /few_shot/count: is " + std::to_string(s.few_shot.count) + " but only " +
                             std::to_string(available) + " examples are available");
    }
    for (std::size_t i = 0; i < s.items.size(); ++i) {
        auto& item = s.items[i];
        std::string prefix;
        if (s.few_shot.count > 0) {
            // A draw per item from (seed, index): independent of sharding, --limit and the order items run in.
            std::uint64_t state = s.few_shot.seed * 0x9E3779B97F4A7C15ull + i + 1;
            auto next = [&state] { return text::splitmix64(state); };
            std::vector<std::size_t> order;
            for (std::size_t k = 0; k < pool.size(); ++k)
                if (!own_pool || k != i) order.push_back(k);
            for (int k = 0; k < s.few_shot.count; ++k) {  // partial Fisher-Yates
                std::size_t left = order.size() - static_cast<std::size_t>(k);
                std::size_t pick = static_cast<std::size_t>(k) + static_cast<std::size_t>(next() % left);
                std::swap(order[static_cast<std::size_t>(k)], order[pick]);
                const auto& ex = pool[order[static_cast<std::size_t>(k)]];
                prefix += ex.prompt + s.target_delimiter + ex.target + s.few_shot.separator;
                item.shots.push_back({ex.prompt, ex.target});
            }
        }
        item.question = examples[i].prompt;
        item.prompt = prefix + examples[i].prompt;
        json content = {{"id", item.id}, {"prompt", item.prompt}, {"choices", item.choices}, {"answer", item.answer},
                        {"references", item.references}, {"text", item.text}, {"delimiter", s.target_delimiter}};
        item.content_hash = sha256_hex(content.dump());
    }
    s.sha256 = sha256_hex(hash_input);
    return s;
}

}  // namespace lmwb::datasets

// lm-evaluation-harness task YAMLs (lm_eval/api/task.py ConfigurableTask, lm_eval/utils.py apply_template) on local
// JSON, JSON Lines and CSV files, as Suites whose prompts are the contexts lm-eval builds.
#include "lmwb/lm_eval_task.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "lmwb/jinja.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

namespace lmwb::datasets {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

// The keys this reader understands; any other is refused by name (lm-eval has many more: a task using them would
// not be the task lm-eval runs).
const std::vector<std::string> kTaskKeys = {"task", "tag", "include", "dataset_path", "dataset_name", "dataset_kwargs", "test_split",
                                            "validation_split", "fewshot_split", "training_split", "output_type", "doc_to_text",
                                            "doc_to_target", "doc_to_choice", "target_delimiter", "fewshot_delimiter", "num_fewshot",
                                            "fewshot_config", "description", "metric_list", "metadata", "should_decontaminate",
                                            "doc_to_decontamination_query", "generation_kwargs", "filter_list"};

// Python reads these files as UTF-8 and fails on anything else; so does this reader, naming the byte.
void require_utf8(const std::string& text, const fs::path& p) {
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        bool ok = n > 0 && i + n <= text.size() && !(n == 2 && c < 0xC2) && !(n == 4 && c > 0xF4);
        for (std::size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
        if (ok && n == 3) {
            const auto c1 = static_cast<unsigned char>(text[i + 1]);
            ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);  // overlong, surrogates
        }
        if (ok && n == 4) {
            const auto c1 = static_cast<unsigned char>(text[i + 1]);
            ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
        }
        if (!ok) throw SuiteError(p.string() + ": not UTF-8 (byte " + std::to_string(i) + ")");
        i += n;
    }
}

std::string read_text(const fs::path& p, const std::string& needed_by) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw SuiteError(p.string() + ": cannot read (" + needed_by + ")");
    std::ostringstream s;
    s << in.rdbuf();
    std::string text = s.str();
    require_utf8(text, p);
    return text;
}

// A YAML document as JSON with the lines of its top-level keys. Plain scalars resolve as PyYAML's loader does for
// the values tasks use (null, booleans, integers, floats); quoted ones stay strings; a tag such as !function (a
// Python hook) is refused with its line.
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

ojson scalar(const YAML::Node& n, const std::string& file) {
    const std::string& tag = n.Tag();
    const std::string& s = n.Scalar();
    if (tag == "!") return s;  // quoted
    if (tag != "?" && tag != "tag:yaml.org,2002:str")
        throw SuiteError(file + ":" + std::to_string(n.Mark().line + 1) + ": the tag " + tag + " (" + s +
                         ") needs Python (lm-eval's !function hooks cannot run here); write the template in Jinja instead");
    if (tag == "tag:yaml.org,2002:str") return s;
    if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
    if (s == "true" || s == "True" || s == "TRUE" || s == "yes" || s == "Yes" || s == "on" || s == "On") return true;
    if (s == "false" || s == "False" || s == "FALSE" || s == "no" || s == "No" || s == "off" || s == "Off") return false;
    try {
        std::size_t used = 0;
        const long long i = std::stoll(s, &used, 10);
        if (used == s.size()) return i;
    } catch (const std::exception&) {
    }
    try {
        std::size_t used = 0;
        const double d = std::stod(s, &used);
        if (used == s.size() && s.find_first_of(".eE") != std::string::npos) return d;
    } catch (const std::exception&) {
    }
    return s;
}

ojson to_json(const YAML::Node& n, const std::string& file) {
    switch (n.Type()) {
    case YAML::NodeType::Null: return nullptr;
    case YAML::NodeType::Scalar: return scalar(n, file);
    case YAML::NodeType::Sequence: {
        ojson a = ojson::array();
        for (const auto& e : n) a.push_back(to_json(e, file));
        return a;
    }
    case YAML::NodeType::Map: {
        if (n.Tag() != "?" && n.Tag() != "tag:yaml.org,2002:map" && !n.Tag().empty())
            throw SuiteError(file + ":" + std::to_string(n.Mark().line + 1) + ": the tag " + n.Tag() + " needs Python");
        ojson o = ojson::object();
        for (const auto& kv : n) o[kv.first.as<std::string>()] = to_json(kv.second, file);
        return o;
    }
    default: return nullptr;
    }
}

YamlDoc read_yaml(const fs::path& path) {
    YamlDoc d;
    d.file = path.string();
    YAML::Node root;
    try {
        root = YAML::Load(read_text(path, "a task YAML"));
    } catch (const YAML::Exception& e) {
        throw SuiteError(d.file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    if (!root.IsMap()) throw SuiteError(d.file + ": a task YAML is a mapping of keys (task, dataset_path, doc_to_text, …)");
    try {
        for (const auto& kv : root) d.lines[kv.first.as<std::string>()] = kv.first.Mark().line + 1;
        d.value = to_json(root, d.file);
    } catch (const YAML::Exception& e) {  // a key that is not text, an alias to nothing
        throw SuiteError(d.file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    return d;
}

// include: the base's keys, then the task's own (lm-eval's shallow merge), resolved relative to each file.
YamlDoc read_task_yaml(const fs::path& path, int depth = 0) {
    if (depth > 8) throw SuiteError(path.string() + ": include: nested more than 8 deep (a cycle?)");
    YamlDoc d = read_yaml(path);
    if (!d.value.contains("include")) return d;
    if (!d.value["include"].is_string()) d.fail("include", "expected a file name");
    const fs::path base_path = path.parent_path() / d.value["include"].get<std::string>();
    if (!fs::exists(base_path)) d.fail("include", base_path.string() + " does not exist");
    YamlDoc base = read_task_yaml(base_path, depth + 1);
    ojson merged = base.value;
    for (const auto& [k, v] : d.value.items())
        if (k != "include") merged[k] = v;
    for (const auto& [k, line] : base.lines)
        if (!d.lines.count(k)) d.lines[k] = line;  // (the base's line, in its own file)
    d.value = std::move(merged);
    return d;
}

// --- data files ---------------------------------------------------------------------------------------------------

std::vector<std::string> csv_row(const std::string& text, std::size_t& pos, const std::string& file, std::size_t line) {
    std::vector<std::string> cells(1);
    bool quoted = false;
    while (pos < text.size()) {
        const char c = text[pos++];
        if (quoted) {
            if (c == '"') {
                if (pos < text.size() && text[pos] == '"') cells.back() += '"', ++pos;
                else quoted = false;
            } else {
                cells.back() += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            cells.emplace_back();
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && pos < text.size() && text[pos] == '\n') ++pos;
            return cells;
        } else {
            cells.back() += c;
        }
    }
    if (quoted) throw SuiteError(file + ":" + std::to_string(line) + ": a quoted CSV field does not end");
    return cells;
}

// CSV as the datasets library reads it with pandas: a header row, and columns of integers or numbers typed so.
std::vector<ojson> read_csv(const fs::path& p) {
    const std::string text = read_text(p, "the task's data");
    std::size_t pos = 0, line = 1;
    const auto header = csv_row(text, pos, p.string(), line);
    std::vector<std::vector<std::string>> rows;
    while (pos < text.size()) {
        ++line;
        auto r = csv_row(text, pos, p.string(), line);
        if (r.size() == 1 && r[0].empty()) continue;
        if (r.size() != header.size())
            throw SuiteError(p.string() + ":" + std::to_string(line) + ": " + std::to_string(r.size()) + " fields; the header has " + std::to_string(header.size()));
        rows.push_back(std::move(r));
    }
    std::vector<int> type(header.size(), 0);  // 0 integer, 1 number, 2 string
    for (const auto& r : rows)
        for (std::size_t c = 0; c < r.size(); ++c) {
            std::size_t used = 0;
            try {
                (void)std::stoll(r[c], &used);
                if (used == r[c].size() && !r[c].empty()) continue;
            } catch (const std::exception&) {
            }
            try {
                (void)std::stod(r[c], &used);
                if (used == r[c].size() && !r[c].empty()) {
                    type[c] = std::max(type[c], 1);
                    continue;
                }
            } catch (const std::exception&) {
            }
            type[c] = 2;
        }
    std::vector<ojson> docs;
    for (const auto& r : rows) {
        ojson d = ojson::object();
        for (std::size_t c = 0; c < r.size(); ++c) d[header[c]] = type[c] == 0 ? ojson(std::stoll(r[c])) : type[c] == 1 ? ojson(std::stod(r[c])) : ojson(r[c]);
        docs.push_back(std::move(d));
    }
    return docs;
}

// JSON Lines, or one JSON array of objects.
std::vector<ojson> read_json_docs(const fs::path& p) {
    const std::string text = read_text(p, "the task's data");
    std::vector<ojson> docs;
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && text[first] == '[') {
        ojson a;
        try {
            a = ojson::parse(text);
        } catch (const nlohmann::json::exception& e) {
            throw SuiteError(p.string() + ": malformed JSON: " + e.what());
        }
        for (auto& d : a) {
            if (!d.is_object()) throw SuiteError(p.string() + ": expected a list of objects");
            docs.push_back(std::move(d));
        }
        return docs;
    }
    std::istringstream in(text);
    std::string l;
    for (std::size_t line = 1; std::getline(in, l); ++line) {
        if (l.find_first_not_of(" \t\r") == std::string::npos) continue;
        try {
            docs.push_back(ojson::parse(l));
        } catch (const nlohmann::json::exception& e) {
            throw SuiteError(p.string() + ":" + std::to_string(line) + ": malformed JSON: " + e.what());
        }
        if (!docs.back().is_object()) throw SuiteError(p.string() + ":" + std::to_string(line) + ": expected an object");
    }
    return docs;
}

std::vector<ojson> read_docs(const fs::path& p, const std::string& format) {
    const std::string ext = p.extension().string();
    if (format == "csv" || (format.empty() && ext == ".csv")) return read_csv(p);
    return read_json_docs(p);
}

struct Data {
    std::map<std::string, std::vector<ojson>> splits;
    std::string hash_input;
};

Data load_data(const YamlDoc& y) {
    const ojson& t = y.value;
    const fs::path here = fs::path(y.file).parent_path();
    if (t.contains("dataset_name") && !t["dataset_name"].is_null())
        y.fail("dataset_name", "a Hugging Face dataset configuration: lmwb reads local files only (dataset_path: json or csv with data_files)");
    if (!t.contains("dataset_path") || !t["dataset_path"].is_string()) y.fail("dataset_path", "needed: json, csv, or a local file or folder");
    const std::string path = t["dataset_path"];
    std::map<std::string, std::vector<fs::path>> files;
    std::string format;
    auto add = [&](const std::string& split, const ojson& v) {
        if (v.is_string()) files[split].push_back(here / v.get<std::string>());
        else if (v.is_array())
            for (const auto& f : v) {
                if (!f.is_string()) y.fail("dataset_kwargs", "data_files entries are file names");
                files[split].push_back(here / f.get<std::string>());
            }
        else y.fail("dataset_kwargs", "data_files: a file, a list of files, or one per split");
    };
    if (t.contains("dataset_kwargs")) {
        const ojson& k = t["dataset_kwargs"];
        for (const auto& [key, v] : k.items())
            if (key != "data_files") y.fail("dataset_kwargs", "'" + key + "' is not supported (only data_files)");
        if (k.contains("data_files")) {
            const ojson& df = k["data_files"];
            if (df.is_object()) for (const auto& [split, v] : df.items()) add(split, v);
            else add("train", df);  // the datasets library's name for files given without a split
        }
    }
    if (path == "json" || path == "csv") {
        format = path;
        if (files.empty()) y.fail("dataset_path", path + " needs dataset_kwargs.data_files");
    } else if (files.empty()) {
        const fs::path local = here / path;
        if (fs::is_regular_file(local)) files["train"].push_back(local);
        else if (fs::is_directory(local)) {
            for (const auto& e : fs::directory_iterator(local)) {
                const std::string ext = e.path().extension().string();
                if (ext == ".json" || ext == ".jsonl" || ext == ".csv") files[e.path().stem().string()].push_back(e.path());
            }
            for (auto& [split, list] : files) std::sort(list.begin(), list.end());
        } else {
            y.fail("dataset_path", "'" + path + "' is not a local file or folder: lmwb reads no dataset hub (dataset_path: json or csv with data_files)");
        }
    }
    Data d;
    for (const auto& [split, list] : files)
        for (const auto& f : list) {
            if (!fs::exists(f)) y.fail("dataset_kwargs", f.string() + " does not exist");
            auto docs = read_docs(f, format);
            d.hash_input += '\0' + read_text(f, "the task's data");
            auto& out = d.splits[split];
            out.insert(out.end(), std::make_move_iterator(docs.begin()), std::make_move_iterator(docs.end()));
        }
    return d;
}

// --- Python literals (ast.literal_eval of a rendered choice list) --------------------------------------------------

class Literal {
public:
    explicit Literal(const std::string& s) : s_(s) {}
    ojson parse() {
        ojson v = value();
        skip();
        if (p_ != s_.size()) fail();
        return v;
    }

private:
    [[noreturn]] void fail() const { throw SuiteError("not a Python literal: " + s_.substr(0, 200)); }
    void skip() {
        while (p_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[p_]))) ++p_;
    }
    ojson value() {
        skip();
        if (p_ >= s_.size()) fail();
        const char c = s_[p_];
        if (c == '[' || c == '(') {
            const char close = c == '[' ? ']' : ')';
            ++p_;
            ojson a = ojson::array();
            skip();
            while (p_ < s_.size() && s_[p_] != close) {
                a.push_back(value());
                skip();
                if (p_ < s_.size() && s_[p_] == ',') ++p_, skip();
                else if (p_ < s_.size() && s_[p_] != close) fail();
            }
            if (p_ >= s_.size()) fail();
            ++p_;
            return a;
        }
        if (c == '\'' || c == '"') return string();
        if (s_.compare(p_, 4, "None") == 0) return p_ += 4, ojson(nullptr);
        if (s_.compare(p_, 4, "True") == 0) return p_ += 4, ojson(true);
        if (s_.compare(p_, 5, "False") == 0) return p_ += 5, ojson(false);
        std::size_t used = 0;
        try {
            const std::string rest = s_.substr(p_);
            const double d = std::stod(rest, &used);
            const std::string num = rest.substr(0, used);
            p_ += used;
            if (num.find_first_of(".eE") == std::string::npos) return ojson(std::stoll(num));
            return ojson(d);
        } catch (const std::exception&) {
            fail();
        }
    }
    ojson string() {
        const char q = s_[p_++];
        std::string out;
        while (p_ < s_.size() && s_[p_] != q) {
            char c = s_[p_++];
            if (c != '\\') { out += c; continue; }
            if (p_ >= s_.size()) fail();
            const char e = s_[p_++];
            switch (e) {
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case '\\': case '\'': case '"': out += e; break;
            default: out += '\\', out += e;
            }
        }
        if (p_ >= s_.size()) fail();
        ++p_;
        return out;
    }
    const std::string& s_;
    std::size_t p_ = 0;
};

// --- the task ------------------------------------------------------------------------------------------------------

class Task {
public:
    explicit Task(YamlDoc y) : y_(std::move(y)) {}

    Suite build() {
        const ojson& t = y_.value;
        for (const auto& [k, v] : t.items())
            if (std::find(kTaskKeys.begin(), kTaskKeys.end(), k) == kTaskKeys.end())
                y_.fail(k, "not supported by lmwb (supported: " + join(kTaskKeys) + ")");
        if (!t.contains("task") || !t["task"].is_string()) y_.fail("task", "the task's name is needed");
        // The types lm-eval's TaskConfig gives its fields.
        auto expect = [&](const char* key, bool ok, const char* what) {
            if (t.contains(key) && !t[key].is_null() && !ok) y_.fail(key, std::string("expected ") + what);
        };
        expect("output_type", t.value("output_type", ojson()).is_string(), "a string");
        expect("num_fewshot", t.value("num_fewshot", ojson()).is_number_integer() && t["num_fewshot"].get<long long>() >= 0 &&
                                  t["num_fewshot"].get<long long>() <= 1000000, "a count");
        expect("fewshot_config", t.value("fewshot_config", ojson()).is_object(), "a mapping");
        expect("metric_list", t.value("metric_list", ojson()).is_array(), "a list of {metric: …}");
        expect("target_delimiter", t.value("target_delimiter", ojson()).is_string(), "a string");
        expect("fewshot_delimiter", t.value("fewshot_delimiter", ojson()).is_string(), "a string");
        expect("metadata", t.value("metadata", ojson()).is_object(), "a mapping");
        for (const char* k : {"test_split", "validation_split", "fewshot_split", "training_split"}) expect(k, t.value(k, ojson()).is_string(), "a split's name");
        if (t.contains("metric_list"))
            for (const auto& m : t["metric_list"])
                if (!m.is_object()) y_.fail("metric_list", "each entry is {metric: name, …}");
        output_type_ = t.value("output_type", std::string("generate_until"));
        if (output_type_ != "multiple_choice" && output_type_ != "loglikelihood" && output_type_ != "loglikelihood_rolling" &&
            output_type_ != "generate_until")
            y_.fail("output_type", "'" + output_type_ + "': expected multiple_choice, loglikelihood, loglikelihood_rolling or generate_until");
        const bool mc = output_type_ == "multiple_choice", rolling = output_type_ == "loglikelihood_rolling",
                   generate = output_type_ == "generate_until";
        if (!generate)
            for (const char* k : {"generation_kwargs", "filter_list"})
                if (t.contains(k)) y_.fail(k, "applies to generate_until tasks");
        for (const char* k : {"doc_to_text", "doc_to_target", "doc_to_choice"}) {
            if (!mc && std::string(k) == "doc_to_choice") {
                if (generate) continue;  // a generate_until task may name its answer by an index into choices
                if (t.contains(k)) y_.fail(k, "applies to multiple_choice tasks");
                continue;
            }
            if (rolling && std::string(k) == "doc_to_text") continue;
            if (!t.contains(k)) y_.fail(k, "needed by a " + output_type_ + " task");
        }
        if (t.contains("fewshot_config")) {
            for (const auto& [k, v] : t["fewshot_config"].items())
                if (k != "sampler") y_.fail("fewshot_config", "'" + k + "' is not supported (only sampler: first_n)");
            if (!t["fewshot_config"].contains("sampler") || t["fewshot_config"]["sampler"] != "first_n")
                y_.fail("fewshot_config", "only sampler: first_n (the default sampler draws with Python's random)");
        }
        if (t.contains("should_decontaminate") && t["should_decontaminate"] == true) y_.fail("should_decontaminate", "decontamination is not supported");
        Data data = load_data(y_);
        auto split_named = [&](const char* key) -> const std::vector<ojson>* {
            if (!t.contains(key) || t[key].is_null()) return nullptr;
            const std::string name = t[key];
            auto it = data.splits.find(name);
            if (it == data.splits.end()) y_.fail(key, "no split '" + name + "' in the data (it has: " + split_names(data) + ")");
            return &it->second;
        };
        const std::vector<ojson>* eval_docs = split_named("test_split");
        std::string eval_split = eval_docs ? t["test_split"].get<std::string>() : "";
        if (!eval_docs) {
            eval_docs = split_named("validation_split");
            if (eval_docs) eval_split = t["validation_split"];
        }
        if (!eval_docs) y_.fail("test_split", "neither test_split nor validation_split names a split to evaluate");
        const std::vector<ojson>* shots = split_named("fewshot_split");
        std::string shot_split = shots ? t["fewshot_split"].get<std::string>() : "";
        if (!shots) {
            for (const char* k : {"training_split", "validation_split"})
                if ((shots = split_named(k))) {
                    shot_split = t[k];
                    break;
                }
        }
        const int n_shot = t.value("num_fewshot", 0);
        if (rolling && n_shot > 0) y_.fail("num_fewshot", "must be 0 for perplexity (loglikelihood_rolling) tasks, as in lm-eval");
        if (n_shot > 0 && !shots) y_.fail("num_fewshot", "needs a fewshot_split (or training/validation split) for its examples");
        if (n_shot > 0 && !t.contains("fewshot_config"))
            y_.fail("num_fewshot", "lm-eval's default sampler draws with Python's random; add fewshot_config: {sampler: first_n}");
        const std::string target_delimiter = t.value("target_delimiter", std::string(" ")), fewshot_delimiter = t.value("fewshot_delimiter", std::string("\n\n"));

        Suite s;
        s.path = y_.file;
        s.name = t["task"];
        s.kind = rolling ? TaskKind::Perplexity : generate ? TaskKind::Generation : TaskKind::MultipleChoice;
        if (generate) generation_settings(s, fewshot_delimiter);
        // loglikelihood: the continuation is doc_to_target as it is (construct_requests adds no delimiter)
        s.target_delimiter = mc ? target_delimiter : "";
        if (t.contains("metadata") && t["metadata"].contains("version")) {
            const ojson& v = t["metadata"]["version"];
            s.version = v.is_string() ? v.get<std::string>() : v.dump();
        }
        s.lm_eval = Suite::LmEvalTask{s.name, s.version, n_shot};
        s.metrics = metrics();
        s.description = "lm-evaluation-harness task " + s.name;
        std::string description;
        if (t.contains("description") && !t["description"].is_null()) {
            if (!t["description"].is_string()) y_.fail("description", "expected a string");
            description = t["description"];
        }
        for (std::size_t i = 0; i < eval_docs->size(); ++i) {
            const ojson& doc = (*eval_docs)[i];
            SuiteItem item;
            item.index = i;
            item.line = i + 1;
            item.id = std::to_string(i);
            std::string prefix = description.empty() ? "" : render("description", description, doc);
            // first_n: the split's first examples, without the document itself when both come from one split
            std::size_t taken = 0;
            for (std::size_t k = 0; shots && taken < static_cast<std::size_t>(n_shot) && k < shots->size(); ++k) {
                if (shot_split == eval_split && k == i) continue;
                const ojson& fs_doc = (*shots)[k];
                const std::string q = text(fs_doc), a = answer_text(fs_doc);
                prefix += q + target_delimiter + a + fewshot_delimiter;
                item.shots.push_back({q, a});
                ++taken;
            }
            if (taken < static_cast<std::size_t>(n_shot))
                y_.fail("num_fewshot", std::to_string(n_shot) + " examples asked, " + std::to_string(taken) + " available");
            if (rolling) {  // the document is doc_to_target, scored in rolling windows
                const ojson v = field_or_render("doc_to_target", doc);
                if (!v.is_string()) y_.fail("doc_to_target", "gives " + std::string(v.type_name()) + ", not the text to score");
                item.text = v;
            } else {
                item.question = text(doc);
                item.prompt = prefix + item.question;
                if (generate) {
                    item.references = references(doc);
                } else if (mc) {
                    item.choices = choices(doc);
                    item.answer = gold(doc, item.choices);
                } else {  // loglikelihood: one continuation; lm-eval's acc is whether it is the greedy one
                    const ojson v = field_or_render("doc_to_target", doc);
                    if (!v.is_string()) y_.fail("doc_to_target", "gives " + std::string(v.type_name()) + ", not the continuation");
                    item.choices = {v.get<std::string>()};
                    item.answer = 0;
                }
            }
            const nlohmann::json content = {{"id", item.id}, {"prompt", item.prompt}, {"choices", item.choices}, {"answer", item.answer},
                                            {"references", item.references}, {"text", item.text}, {"delimiter", s.target_delimiter}};
            item.content_hash = sha256_hex(content.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
            s.items.push_back(std::move(item));
        }
        if (s.items.empty()) y_.fail("test_split", "the split '" + eval_split + "' has no documents");
        s.sha256 = sha256_hex(read_text(y_.file, "the task") + data.hash_input);
        return s;
    }

private:
    static std::string join(const std::vector<std::string>& v) {
        std::string out;
        for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
        return out;
    }
    static std::string split_names(const Data& d) {
        std::string out;
        for (const auto& [k, v] : d.splits) out += (out.empty() ? "" : ", ") + k;
        return out.empty() ? "none" : out;
    }

    // lm-eval's metric names to lmwb's: the same for multiple_choice and perplexity; a loglikelihood task's acc
    // (is_greedy) is lmwb's exact_match of its one continuation.
    std::vector<std::string> metrics() const {
        const ojson& t = y_.value;
        const std::map<std::string, std::map<std::string, std::string>> known = {
            {"multiple_choice", {{"acc", "acc"}, {"acc_norm", "acc_norm"}}},
            {"loglikelihood", {{"acc", "exact_match"}}},
            {"loglikelihood_rolling", {{"word_perplexity", "word_perplexity"}, {"byte_perplexity", "byte_perplexity"}, {"bits_per_byte", "bits_per_byte"}}},
            {"generate_until", {{"exact_match", "exact_match"}}}};
        const auto& names = known.at(output_type_);
        if (!t.contains("metric_list")) {
            if (output_type_ == "multiple_choice") return {"acc", "acc_norm"};
            if (output_type_ == "loglikelihood" || output_type_ == "generate_until") return {"exact_match"};
            return {"word_perplexity", "byte_perplexity", "bits_per_byte"};
        }
        std::vector<std::string> out;
        for (const auto& m : t["metric_list"]) {
            const std::string name = m.is_object() ? m.value("metric", std::string()) : "";
            if (!names.count(name)) {
                std::string supported;
                for (const auto& [k, v] : names) supported += (supported.empty() ? "" : ", ") + k;
                y_.fail("metric_list", "metric '" + name + "' is not supported for " + output_type_ + " here (" + supported + ")");
            }
            for (const auto& [k, v] : m.items()) {
                if (k == "metric" || k == "aggregation" || k == "higher_is_better") continue;
                // exact_match's options (HF evaluate's exact_match): case and ASCII punctuation
                if (name == "exact_match" && (k == "ignore_case" || k == "ignore_punctuation") && v.is_boolean()) continue;
                y_.fail("metric_list", "'" + k + "' of metric " + name + " is not supported" +
                                           (name == "exact_match" ? std::string(" (ignore_case and ignore_punctuation are)") : std::string()));
            }
            const std::string aggregation = m.value("aggregation", std::string());
            if (!aggregation.empty() && aggregation != "mean" && aggregation != name && !(aggregation == "weighted_perplexity" && name != "bits_per_byte"))
                y_.fail("metric_list", "aggregation '" + aggregation + "' of " + name + " is not lm-eval's own");
            out.push_back(names.at(name));
        }
        return out;
    }

    std::string render(const std::string& key, const std::string& source, const ojson& doc) {
        auto it = templates_.find(source);
        if (it == templates_.end()) {
            try {
                it = templates_.emplace(source, std::make_unique<jinja::Template>(source, y_.file + ": " + key, jinja::Environment::lm_eval())).first;
            } catch (const jinja::Error& e) {
                y_.fail(key, e.message + " (line " + std::to_string(e.line) + " of the template)");
            }
        }
        try {
            return it->second->render(doc);
        } catch (const jinja::Error& e) {
            y_.fail(key, e.message);
        }
    }

    // doc_to_text / doc_to_target / doc_to_choice as lm-eval resolves them: a field of the document, else a template.
    ojson field_or_render(const char* key, const ojson& doc) {
        const ojson& spec = y_.value[key];
        if (spec.is_string()) {
            const std::string s = spec;
            if (doc.contains(s)) return doc[s];
            return render(key, s, doc);
        }
        return spec;
    }

    // generation_kwargs as lm-eval's TaskConfig defaults them (until: the few-shot delimiter; greedy) and HFLM reads
    // them (max_gen_toks 256); exact_match compares the text as generated, its options as the metric's.
    void generation_settings(Suite& s, const std::string& fewshot_delimiter) const {
        const ojson& t = y_.value;
        s.generation = GenerationSettings{};
        s.generation.max_new_tokens = 256;
        s.generation.stop = {fewshot_delimiter};
        if (t.contains("generation_kwargs") && !t["generation_kwargs"].is_null()) {
            const ojson& g = t["generation_kwargs"];
            if (!g.is_object()) y_.fail("generation_kwargs", "expected a mapping");
            bool sample = false;
            for (const auto& [k, v] : g.items()) {
                if (k == "until") {
                    s.generation.stop.clear();
                    if (v.is_string()) s.generation.stop.push_back(v);
                    else if (v.is_array())
                        for (const auto& u : v) {
                            if (!u.is_string()) y_.fail("generation_kwargs", "until: strings");
                            s.generation.stop.push_back(u);
                        }
                    else y_.fail("generation_kwargs", "until: a string or a list of strings");
                } else if (k == "max_gen_toks" && v.is_number_integer() && v.get<long long>() > 0) {
                    s.generation.max_new_tokens = static_cast<int>(std::min<long long>(v.get<long long>(), 1 << 20));
                } else if (k == "do_sample" && v.is_boolean()) {
                    sample = v;
                } else if (k == "temperature" && v.is_number()) {
                    s.generation.temperature = v.get<double>();
                } else {
                    y_.fail("generation_kwargs", "'" + k + "' is not supported (until, max_gen_toks, do_sample, temperature)");
                }
            }
            if (!sample) s.generation.temperature = 0;  // greedy
        }
        s.generation.stop.erase(std::remove(s.generation.stop.begin(), s.generation.stop.end(), std::string()), s.generation.stop.end());
        AnswerNormalization exact{false, false, false, false};
        if (t.contains("metric_list"))
            for (const auto& m : t["metric_list"])
                if (m.is_object() && m.value("metric", std::string()) == "exact_match") {
                    exact.lowercase = m.value("ignore_case", false);
                    exact.strip_punctuation = m.value("ignore_punctuation", false);
                }
        s.normalization = exact;
        if (t.contains("filter_list")) {  // one generation per document: take_first is the identity
            if (!t["filter_list"].is_array() || t["filter_list"].size() != 1)
                y_.fail("filter_list", "one filter pipeline is supported (lm-eval reports each pipeline's metrics apart)");
            const ojson& f = t["filter_list"][0];
            const ojson steps = f.is_object() && f.contains("filter") ? f["filter"] : ojson();
            if (!steps.is_array()) y_.fail("filter_list", "expected {name, filter: [{function, …}]}");
            for (const auto& step : steps) {
                const std::string fn = step.is_object() ? step.value("function", std::string()) : "";
                Suite::ResponseFilter rf;
                rf.function = fn;
                for (const auto& [k, v] : step.items()) {
                    if (k == "function") continue;
                    if (fn == "regex" && k == "regex_pattern" && v.is_string()) rf.pattern = v;
                    else if (fn == "regex" && k == "group_select" && v.is_number_integer()) rf.group_select = v;
                    else if (fn == "regex" && k == "fallback" && v.is_string()) rf.fallback = v;
                    else y_.fail("filter_list", "'" + k + "' of the " + fn + " filter is not supported");
                }
                if (fn == "regex") {
                    if (rf.pattern.empty()) rf.pattern = "#### (\\-?[0-9\\.\\,]+)";  // RegexFilter's default
                } else if (fn != "take_first" && fn != "lowercase" && fn != "uppercase") {
                    y_.fail("filter_list", "the " + fn + " filter is not supported (regex, take_first, lowercase, uppercase are)");
                }
                s.response_filters.push_back(rf);
            }
            try {  // a pattern that does not compile is the task's error, not a run's
                (void)apply_response_filters(s, "");
            } catch (const SuiteError& e) {
                y_.fail("filter_list", e.what());
            }
        }
    }

    std::vector<std::string> references(const ojson& doc) {
        ojson g = target(doc);
        if (y_.value.contains("doc_to_choice")) {  // then the target is an index into the choices
            const auto c = choices(doc);
            if (!g.is_number_integer() || g.get<long long>() < 0 || g.get<long long>() >= static_cast<long long>(c.size()))
                y_.fail("doc_to_target", "with doc_to_choice, an index into the choices");
            return {c[static_cast<std::size_t>(g.get<long long>())]};
        }
        if (g.is_string()) return {g.get<std::string>()};
        if (g.is_number_integer()) return {std::to_string(g.get<long long>())};  // str(gold), as process_results casts it
        if (g.is_array() && !g.empty()) {  // several targets: any may match
            std::vector<std::string> out;
            for (const auto& x : g) {
                if (!x.is_string()) y_.fail("doc_to_target", "a target list of strings");
                out.push_back(x);
            }
            return out;
        }
        y_.fail("doc_to_target", "gives " + std::string(g.type_name()) + ", not a reference answer");
    }

    std::string text(const ojson& doc) {
        const ojson v = field_or_render("doc_to_text", doc);
        if (!v.is_string()) y_.fail("doc_to_text", "gives " + std::string(v.type_name()) + ", not text (multiple inputs, as Winogrande's, are not supported)");
        const std::string s = v;
        if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
            y_.fail("doc_to_text", "renders a number, which lm-eval reads as a choice index (multiple inputs): not supported");
        return s;
    }

    std::vector<std::string> choices(const ojson& doc) {
        const ojson& spec = y_.value["doc_to_choice"];
        ojson list;
        if (spec.is_string()) {
            const std::string s = spec;
            if (doc.contains(s)) list = doc[s];
            else {
                const std::string rendered = render("doc_to_choice", s, doc);
                try {
                    list = Literal(rendered).parse();
                } catch (const SuiteError& e) {
                    y_.fail("doc_to_choice", std::string(e.what()) + " (lm-eval reads the rendered text with ast.literal_eval)");
                }
            }
        } else if (spec.is_array()) {
            list = spec;
        } else if (spec.is_object()) {
            list = ojson::array();
            for (const auto& [k, v] : spec.items()) list.push_back(v);
        } else {
            y_.fail("doc_to_choice", "expected a field name, a template or a list");
        }
        if (!list.is_array() || list.empty()) y_.fail("doc_to_choice", "gives no list of choices");
        std::vector<std::string> out;
        for (const auto& c : list) {
            if (c.is_string()) out.push_back(c);
            else if (c.is_number_integer()) out.push_back(std::to_string(c.get<long long>()));
            else y_.fail("doc_to_choice", "a choice that is not text: " + c.dump());
        }
        return out;
    }

    // doc_to_target: an index, or a choice's text; a rendered number is an index (lm-eval's isdigit rule).
    ojson target(const ojson& doc) {
        const ojson& spec = y_.value["doc_to_target"];
        ojson v = field_or_render("doc_to_target", doc);
        if (!v.is_string() || (spec.is_string() && doc.contains(spec.get<std::string>()))) return v;  // a field as it is
        const std::string s = v;
        if (y_.value.contains("doc_to_choice") && !s.empty() &&
            std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
            return std::stoll(s);
        if (s.size() >= 2 && s.front() == '[' && s.back() == ']') {  // a rendered list of targets
            try {
                return Literal(s).parse();
            } catch (const SuiteError&) {
                return v;
            }
        }
        return v;
    }

    int gold(const ojson& doc, const std::vector<std::string>& options) {
        const ojson t = target(doc);
        if (t.is_number_integer()) {
            const long long g = t;
            if (g < 0 || g >= static_cast<long long>(options.size()))
                y_.fail("doc_to_target", "index " + std::to_string(g) + " is not one of the " + std::to_string(options.size()) + " choices");
            return static_cast<int>(g);
        }
        if (t.is_string()) {
            auto it = std::find(options.begin(), options.end(), t.get<std::string>());
            if (it == options.end()) y_.fail("doc_to_target", "'" + t.get<std::string>() + "' is not one of the choices");
            return static_cast<int>(it - options.begin());
        }
        y_.fail("doc_to_target", "gives " + std::string(t.type_name()) + " (several gold answers are not supported)");
    }

    std::string answer_text(const ojson& doc) {
        const ojson t = target(doc);
        if (t.is_number_integer()) {
            const auto c = choices(doc);
            const long long g = t;
            if (g < 0 || g >= static_cast<long long>(c.size())) y_.fail("doc_to_target", "index " + std::to_string(g) + " out of the choices");
            return c[static_cast<std::size_t>(g)];
        }
        if (t.is_string()) return t;
        if (t.is_array() && !t.empty() && t[0].is_string()) return t[0];
        y_.fail("doc_to_target", "gives " + std::string(t.type_name()));
    }

    YamlDoc y_;
    std::string output_type_;
    std::map<std::string, std::unique_ptr<jinja::Template>> templates_;
};

bool is_yaml(const fs::path& p) { return p.extension() == ".yaml" || p.extension() == ".yml"; }

Suite build_task(YamlDoc y) {
    const std::string file = y.file;
    try {
        return Task(std::move(y)).build();
    } catch (const nlohmann::json::exception& e) {  // a value of a type the checks above do not name
        throw SuiteError(file + ": a value of the wrong type (" + e.what() + ")");
    }
}

}  // namespace

bool is_lm_eval_path(const std::string& path) {
    const fs::path p(path);
    if (fs::is_regular_file(p)) return is_yaml(p);
    if (!fs::is_directory(p)) return false;
    for (const auto& e : fs::directory_iterator(p))
        if (is_yaml(e.path())) return true;
    return false;
}

std::vector<Suite> load_lm_eval_tasks(const std::string& path) {
    const fs::path p(path);
    std::vector<fs::path> files;
    if (fs::is_directory(p)) {
        for (const auto& e : fs::directory_iterator(p))
            if (is_yaml(e.path())) files.push_back(e.path());
        std::sort(files.begin(), files.end());
    } else {
        files.push_back(p);
    }
    std::vector<Suite> out;
    std::vector<std::string> seen;
    for (const auto& f : files) {
        YamlDoc y = read_task_yaml(f);
        if (y.value.contains("group") && y.value.contains("task") && y.value["task"].is_array()) {
            // A group: its tasks by name (a YAML next to it whose `task` is that name) or by file.
            for (const auto& entry : y.value["task"]) {
                if (!entry.is_string()) y.fail("task", "group entries are task names or files (inline configurations are not supported)");
                const std::string name = entry;
                fs::path found;
                if (is_yaml(name) && fs::exists(f.parent_path() / name)) found = f.parent_path() / name;
                for (const auto& e : fs::directory_iterator(f.parent_path())) {
                    if (!found.empty()) break;
                    if (!is_yaml(e.path()) || e.path() == f) continue;
                    YamlDoc other = read_yaml(e.path());
                    if (other.value.contains("task") && other.value["task"] == name) found = e.path();
                }
                if (found.empty()) y.fail("task", "no task named '" + name + "' next to the group");
                if (std::find(seen.begin(), seen.end(), found.string()) != seen.end()) continue;
                seen.push_back(found.string());
                out.push_back(build_task(read_task_yaml(found)));
            }
            continue;
        }
        if (y.value.contains("group") && !y.value.contains("task")) y.fail("group", "a group lists its tasks under `task`");
        if (fs::is_directory(p) && (!y.value.contains("task") || !y.value["task"].is_string())) continue;  // a base file for include
        if (std::find(seen.begin(), seen.end(), f.string()) != seen.end()) continue;
        seen.push_back(f.string());
        out.push_back(build_task(std::move(y)));
    }
    if (out.empty()) throw SuiteError(path + ": no lm-eval task YAML here");
    return out;
}

}  // namespace lmwb::datasets

namespace lmwb::datasets {

namespace {

struct Pcre {
    pcre2_code* code = nullptr;
    explicit Pcre(const std::string& pattern) {
        int err = 0;
        PCRE2_SIZE at = 0;
        code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP, &err, &at, nullptr);
        if (!code) {
            PCRE2_UCHAR buf[256];
            pcre2_get_error_message(err, buf, sizeof buf);
            throw SuiteError("regex_pattern '" + pattern + "' at " + std::to_string(at) + ": " + reinterpret_cast<const char*>(buf));
        }
    }
    ~Pcre() { pcre2_code_free(code); }
    Pcre(const Pcre&) = delete;
    Pcre& operator=(const Pcre&) = delete;
};

// re.findall: every non-overlapping match; without groups the whole match, with one its text, with several a tuple.
std::vector<std::vector<std::string>> findall(const Pcre& re, const std::string& text, std::uint32_t& groups) {
    pcre2_pattern_info(re.code, PCRE2_INFO_CAPTURECOUNT, &groups);
    std::vector<std::vector<std::string>> out;
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(re.code, nullptr);
    PCRE2_SIZE start = 0;
    while (start <= text.size()) {
        const int rc = pcre2_match(re.code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), start, 0, md, nullptr);
        if (rc < 0) break;
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        std::vector<std::string> m;
        for (std::uint32_t g = groups ? 1 : 0; g <= groups; ++g)
            m.push_back(ov[2 * g] == PCRE2_UNSET ? std::string() : text.substr(ov[2 * g], ov[2 * g + 1] - ov[2 * g]));
        out.push_back(std::move(m));
        if (ov[1] == ov[0]) {  // an empty match: step one character on
            if (ov[1] >= text.size()) break;
            start = ov[1] + 1;
            while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
        } else {
            start = ov[1];
        }
    }
    pcre2_match_data_free(md);
    return out;
}

std::u32string decode(const std::string& s) {
    std::u32string out;
    const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
    utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(s.size());
    while (left > 0) {
        utf8proc_int32_t c = 0;
        utf8proc_ssize_t n = utf8proc_iterate(p, left, &c);
        if (n <= 0) c = 0xFFFD, n = 1;
        out += static_cast<char32_t>(c);
        p += n;
        left -= n;
    }
    return out;
}

std::string encode(const std::u32string& s) {
    std::string out;
    for (char32_t c : s) {
        utf8proc_uint8_t buf[4];
        const auto n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(c), buf);
        out.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
    }
    return out;
}

// Python's str.isspace(): bidirectional classes WS, B, S, or category Zs.
bool py_space(char32_t c) {
    const auto* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(c));
    return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS || p->bidi_class == UTF8PROC_BIDI_CLASS_B ||
           p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

std::string py_strip(const std::string& s) {
    const auto chars = decode(s);
    std::size_t a = 0, z = chars.size();
    while (a < z && py_space(chars[a])) ++a;
    while (z > a && py_space(chars[z - 1])) --z;
    return encode(chars.substr(a, z - a));
}

}  // namespace

std::string apply_response_filters(const Suite& suite, const std::string& response) {
    std::string r = response;
    for (const auto& f : suite.response_filters) {
        if (f.function == "lowercase" || f.function == "uppercase") {
            std::u32string out;
            for (char32_t c : decode(r))
                out += static_cast<char32_t>(f.function == "lowercase" ? utf8proc_tolower(static_cast<utf8proc_int32_t>(c))
                                                                       : utf8proc_toupper(static_cast<utf8proc_int32_t>(c)));
            r = encode(out);
        } else if (f.function == "regex") {
            const Pcre re(f.pattern);
            std::uint32_t groups = 0;
            const auto matches = findall(re, r, groups);
            if (matches.empty()) {
                r = f.fallback;
                continue;
            }
            const auto n = static_cast<long long>(matches.size());
            const long long k = f.group_select < 0 ? n + f.group_select : f.group_select;
            if (k < 0 || k >= n) {  // Python's IndexError; lm-eval would stop the run
                throw SuiteError("regex filter: group_select " + std::to_string(f.group_select) + " of " + std::to_string(n) + " matches");
            }
            const auto& m = matches[static_cast<std::size_t>(k)];
            std::string picked;
            if (groups <= 1) {
                picked = m.front();
            } else {  // a tuple: its first non-empty group, else the fallback
                picked = f.fallback;
                for (const auto& g : m)
                    if (!g.empty()) {
                        picked = g;
                        break;
                    }
            }
            r = py_strip(picked);
        }
    }
    return r;
}

}  // namespace lmwb::datasets

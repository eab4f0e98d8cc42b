// The files of an lm-eval task: YAML (yaml-cpp), its includes, and JSON, JSON Lines and CSV data.
#include "lm_eval_files.h"

#include <algorithm>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "lmwb/files.h"

namespace lmwb::datasets {

namespace fs = std::filesystem;

namespace {

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

}  // namespace

std::string read_text(const fs::path& p, const std::string& needed_by) {
    std::string why;
    auto text = files::read_regular(p.string(), &why, std::size_t{2} << 30);
    if (!text) throw SuiteError(p.string() + ": cannot read (" + needed_by + "): " + why);
    require_utf8(*text, p);
    return std::move(*text);
}

namespace {

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

}  // namespace

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
YamlDoc read_task_yaml(const fs::path& path, int depth) {
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

namespace {

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

// The datasets library's text builder: one document {"text": line} per line (universal newlines, the line break
// dropped, empty lines kept).
std::vector<ojson> read_text_docs(const fs::path& p) {
    const std::string text = read_text(p, "the task's data");
    std::vector<ojson> docs;
    std::string line;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c != '\n' && c != '\r') {
            line += c;
            continue;
        }
        if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
        docs.push_back(ojson{{"text", line}});
        line.clear();
    }
    if (!line.empty()) docs.push_back(ojson{{"text", line}});
    return docs;
}

std::vector<ojson> read_docs(const fs::path& p, const std::string& format) {
    const std::string ext = p.extension().string();
    if (ext == ".parquet" || format == "parquet")
        throw SuiteError(p.string() + ": Parquet cannot be read here (Debian has no Parquet library lmwb uses): convert it to JSON Lines, "
                                      "e.g. datasets' Dataset.from_parquet(f).to_json(\"f.jsonl\")");
    if (format == "csv" || (format.empty() && ext == ".csv")) return read_csv(p);
    if (format == "text" || (format.empty() && ext == ".txt")) return read_text_docs(p);
    return read_json_docs(p);
}

}  // namespace

Data load_data(const YamlDoc& y) {
    const ojson& t = y.value;
    const fs::path here = fs::path(y.file).parent_path();
    if (t.contains("dataset_name") && !t["dataset_name"].is_null())
        y.fail("dataset_name", "a Hugging Face dataset configuration: lmwb reads local files only (dataset_path: json or csv with data_files)");
    if (!t.contains("dataset_path") || !t["dataset_path"].is_string()) y.fail("dataset_path", "needed: json, csv, text, or a local file or folder");
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
    if (path == "json" || path == "csv" || path == "text" || path == "parquet") {
        format = path;
        if (files.empty()) y.fail("dataset_path", path + " needs dataset_kwargs.data_files");
    } else if (files.empty()) {
        const fs::path local = here / path;
        if (fs::is_regular_file(local)) files["train"].push_back(local);
        else if (fs::is_directory(local)) {
            for (const auto& e : fs::directory_iterator(local)) {
                const std::string ext = e.path().extension().string();
                if (ext == ".json" || ext == ".jsonl" || ext == ".csv" || ext == ".txt" || ext == ".parquet") files[e.path().stem().string()].push_back(e.path());
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

}  // namespace lmwb::datasets

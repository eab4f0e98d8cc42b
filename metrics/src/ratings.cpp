#include "lmwb/ratings.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "lmwb/agreement.h"
#include "lmwb/report_analysis.h"
#include "lmwb/statistics.h"
#include "lmwb/json_file.h"
#include "lmwb/text.h"
#include "unicode_text.h"

namespace lmwb::eval {

using nlohmann::json;

namespace {

constexpr const char* kPreference = "preference";

// Python's str.strip() on UTF-8 (the metrics library's one whitespace rule).
std::string strip_space(const std::string& s) { return metrics::text::encode(metrics::text::strip(metrics::text::decode(s))); }
// Resamples for the intervals of non-binary rating means (fixed: a summary of the same ratings never changes).
constexpr int kBootstrapIterations = 2000;

std::vector<std::string> lines_of(const std::string& content) {
    std::vector<std::string> lines;
    for (std::size_t pos = 0; pos < content.size();) {
        auto end = content.find('\n', pos);
        if (end == std::string::npos) end = content.size();
        std::string line = content.substr(pos, end - pos);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines.push_back(std::move(line));
        pos = end + 1;
    }
    return lines;
}

std::string value_text(const json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return std::to_string(v.get<long long>());
    if (v.is_number()) {
        json copy = v;
        return copy.dump();
    }
    throw std::invalid_argument("expected a string or a number");
}

Rating rating_from(const json& j, std::size_t line, const std::string& where) {
    if (!j.is_object()) throw ReportError(where + ": expected a JSON object");
    Rating r;
    r.line = line;
    try {
        r.suite = j.at("suite").get<std::string>();
        r.item = value_text(j.at("item"));
        r.dimension = j.at("dimension").get<std::string>();
        r.value = value_text(j.at("value"));
        if (r.dimension == kPreference) {
            r.a = j.at("a").get<std::string>();
            r.b = j.at("b").get<std::string>();
            r.first = j.value("first", std::string("A"));
        }
    } catch (const std::exception& e) {
        throw ReportError(where + ": " + e.what() + " (a rating has suite, item, dimension and value; a preference also a, b, first)");
    }
    return r;
}

json rating_json(const Rating& r) {
    json j = {{"suite", r.suite}, {"item", r.item}, {"dimension", r.dimension}, {"value", r.value}};
    if (r.dimension == kPreference) j["a"] = r.a, j["b"] = r.b, j["first"] = r.first;
    return j;
}

// CSV records (RFC 4180: quoted fields may hold commas, doubled quotes and line breaks), each with the line it
// starts on; blank lines are skipped. An unterminated quote is an error naming the line it opened on.
struct CsvRecord {
    std::vector<std::string> fields;
    std::size_t line = 0;
};
std::vector<CsvRecord> csv_records(const std::string& text, const std::string& path) {
    std::vector<CsvRecord> out;
    CsvRecord cur{{std::string()}, 1};
    std::size_t line = 1, quote_line = 0;
    bool quoted = false, any = false;
    auto finish = [&] {
        if (any || cur.fields.size() > 1 || !cur.fields[0].empty()) out.push_back(std::move(cur));
        cur = CsvRecord{{std::string()}, line};
        any = false;
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') cur.fields.back() += '"', ++i;
            else if (c == '"') quoted = false;
            else cur.fields.back() += c, line += c == '\n';
        } else if (c == '"') {
            quoted = any = true;
            quote_line = line;
        } else if (c == ',') {
            cur.fields.emplace_back();
        } else if (c == '\n' || (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
            if (c == '\r') ++i;
            ++line;
            finish();
        } else {
            cur.fields.back() += c;
        }
    }
    if (quoted) throw ReportError(path + ":" + std::to_string(quote_line) + ": a quoted field is never closed");
    finish();
    return out;
}

// One line's JSON under the rules every file follows (lmwb/json_file.h): a key twice would silently keep the last.
json parse_unique(const std::string& text, const std::string& where) {
    return json_file::parse(text, where, [](const std::string& message) { throw ReportError(message); });
}

// A value of an ordinal or interval rubric as a number; anything else says which.
double number(const std::string& s, const std::string& dimension) {
    std::size_t used = 0;
    double v = 0;
    try {
        v = std::stod(s, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != s.size() || !std::isfinite(v))
        throw ReportError("rubric dimension '" + dimension + "': value '" + s + "' is not a number (ordinal and interval scales hold numbers; "
                          "make it nominal for words)");
    return v;
}

}  // namespace

RatingsFile read_ratings(const std::string& path) {
    std::string why;
    auto content = text::read_file(path, &why);
    if (!content) throw ReportError(path + ": cannot read the ratings file (" + why + ")");
    auto lines = lines_of(*content);
    RatingsFile out;
    if (lines.empty()) throw ReportError(path + ": empty ratings file");
    json header = json::parse(lines[0], nullptr, false);
    if (header.is_discarded() || !header.is_object() || !header.contains("lmwb_ratings") || !header.contains("rater"))
        throw ReportError(path + ":1: not an lmwb ratings file (its first line names the rater)");
    if (!header["rater"].is_string() || (header.contains("report") && !header["report"].is_string()))
        throw ReportError(path + ":1: 'rater' and 'report' must be strings");
    out.rater = header["rater"].get<std::string>();
    out.report = header.value("report", std::string());
    if (out.rater.empty()) throw ReportError(path + ":1: the rater has no name");
    for (std::size_t i = 1; i < lines.size(); ++i) {
        if (lines[i].empty()) continue;
        const std::string where = path + ":" + std::to_string(i + 1);
        out.ratings.push_back(rating_from(parse_unique(lines[i], where), i + 1, where));
    }
    return out;
}

void write_ratings(const std::string& path, const RatingsFile& r, bool through_symlink) {
    std::string text = json{{"lmwb_ratings", 1}, {"rater", r.rater}, {"report", r.report}}.dump() + "\n";
    for (const auto& x : r.ratings) text += rating_json(x).dump() + "\n";
    write_file_atomic(path, text, through_symlink);
}

RatingsFile import_ratings(const std::string& path, const std::string& rater, const std::string& report_name) {
    if (strip_space(rater).empty()) throw ReportError("the rater has no name");
    std::string why;
    auto content = text::read_file(path, &why);
    if (!content) throw ReportError(path + ": cannot read the ratings to import (" + why + ")");
    if (content->rfind("\xEF\xBB\xBF", 0) == 0) content->erase(0, 3);  // a UTF-8 byte-order mark (Excel's "CSV UTF-8")
    RatingsFile out;
    out.rater = rater;
    out.report = report_name;
    const bool csv = path.size() >= 4 && path.compare(path.size() - 4, 4, ".csv") == 0;
    if (csv) {
        std::vector<std::string> header;
        for (auto& rec : csv_records(*content, path)) {
            const std::string where = path + ":" + std::to_string(rec.line);
            if (header.empty()) {
                header = rec.fields;
                for (std::size_t k = 0; k < header.size(); ++k)
                    if (std::find(header.begin(), header.begin() + static_cast<std::ptrdiff_t>(k), header[k]) != header.begin() + static_cast<std::ptrdiff_t>(k))
                        throw ReportError(where + ": the header names column '" + header[k] + "' twice");
                for (const char* need : {"suite", "item", "dimension", "value"})
                    if (std::find(header.begin(), header.end(), need) == header.end())
                        throw ReportError(where + ": the header has no '" + need + "' column (suite,item,dimension,value[,a,b,first])");
                continue;
            }
            if (rec.fields.size() != header.size())
                throw ReportError(where + ": " + std::to_string(rec.fields.size()) + " fields, the header has " + std::to_string(header.size()));
            json j = json::object();
            for (std::size_t k = 0; k < header.size(); ++k) j[header[k]] = rec.fields[k];
            out.ratings.push_back(rating_from(j, rec.line, where));
        }
    } else {
        auto lines = lines_of(*content);
        for (std::size_t i = 0; i < lines.size(); ++i) {
            if (strip_space(lines[i]).empty()) continue;
            const std::string where = path + ":" + std::to_string(i + 1);
            out.ratings.push_back(rating_from(parse_unique(lines[i], where), i + 1, where));
        }
    }
    if (out.ratings.empty()) throw ReportError(path + ": holds no ratings");
    return out;
}

std::string ratings_file_for(const std::string& report_path, const std::string& rater) {
    if (strip_space(rater).empty()) throw ReportError("the rater has no name");
    std::string name;
    static const char* hex = "0123456789ABCDEF";
    for (unsigned char c : strip_space(rater)) {
        if (std::isalnum(c) || c == '_' || c == '.' || c == '~' || c == '-') name += static_cast<char>(c);
        else name += '%', name += hex[c >> 4], name += hex[c & 15];
    }
    std::string stem = report_path;
    if (stem.size() >= 5 && stem.compare(stem.size() - 5, 5, ".json") == 0) stem.resize(stem.size() - 5);
    return stem + ".ratings." + name + ".jsonl";
}

void check_ratings(const Report& report, const RatingsFile& ratings, const std::string& source) {
    std::set<std::tuple<std::string, std::string, std::string, std::string, std::string>> seen;
    for (const Rating& r : ratings.ratings) {
        const std::string where = source + ":" + std::to_string(r.line) + ": ";
        auto s = std::find_if(report.suites.begin(), report.suites.end(), [&](const SuiteReport& x) { return x.name == r.suite; });
        if (s == report.suites.end()) throw ReportError(where + "suite '" + r.suite + "' is not in the report");
        if (std::none_of(s->items.begin(), s->items.end(), [&](const ItemRecord& it) { return it.id == r.item; }))
            throw ReportError(where + "item '" + r.item + "' is not in suite '" + r.suite + "'");
        if (r.dimension == kPreference) {
            if (r.value != "A" && r.value != "B" && r.value != "tie") throw ReportError(where + "preference '" + r.value + "'; expected A, B or tie");
            if (r.first != "A" && r.first != "B") throw ReportError(where + "first '" + r.first + "'; expected A or B");
        } else {
            auto d = std::find_if(s->rubric.begin(), s->rubric.end(), [&](const datasets::RubricDimension& x) { return x.name == r.dimension; });
            if (d == s->rubric.end()) throw ReportError(where + "dimension '" + r.dimension + "' is not in suite '" + r.suite + "''s rubric");
            if (std::find(d->values.begin(), d->values.end(), r.value) == d->values.end())
                throw ReportError(where + "'" + r.value + "' is not a value of " + r.dimension);
        }
        if (!seen.insert({r.suite, r.item, r.dimension, r.a, r.b}).second)
            throw ReportError(where + ratings.rater + " rated " + r.suite + "/" + r.item + " " + r.dimension + " twice");
    }
}

RatingsSummary summarize_ratings(const Report& report, const std::vector<RatingsFile>& files) {
    RatingsSummary out;
    for (const auto& f : files) {
        if (std::find(out.raters.begin(), out.raters.end(), f.rater) != out.raters.end())
            throw ReportError("rater '" + f.rater + "' has two ratings files");
        out.raters.push_back(f.rater);
    }
    const std::size_t R = files.size();
    for (const SuiteReport& s : report.suites) {
        std::map<std::string, std::size_t> item_index;
        for (std::size_t i = 0; i < s.items.size(); ++i) item_index[s.items[i].id] = i;
        for (const auto& dim : s.rubric) {
            // value[rater][item], missing where the rater did not rate it.
            std::vector<std::vector<std::optional<std::string>>> given(R, std::vector<std::optional<std::string>>(s.items.size()));
            DimensionRatings d;
            d.suite = s.name;
            d.dimension = dim.name;
            d.scale = dim.scale;
            std::set<std::string> raters;
            for (std::size_t k = 0; k < R; ++k)
                for (const Rating& r : files[k].ratings)
                    if (r.suite == s.name && r.dimension == dim.name) {
                        given[k][item_index.at(r.item)] = r.value;
                        raters.insert(files[k].rater);
                        ++d.ratings;
                        ++d.counts[r.value];
                    }
            if (d.ratings == 0) continue;
            d.raters = raters.size();
            const bool nominal = dim.scale == "nominal";
            // Values as numbers: ordinal and interval scales hold numbers; nominal ones their position in the rubric.
            auto code = [&](const std::string& v) {
                return nominal ? static_cast<double>(std::find(dim.values.begin(), dim.values.end(), v) - dim.values.begin()) : number(v, dim.name);
            };
            std::vector<double> item_means, item_ids;
            std::vector<std::optional<double>> per_item(s.items.size());
            for (std::size_t i = 0; i < s.items.size(); ++i) {
                double sum = 0, n = 0;
                for (std::size_t k = 0; k < R; ++k)
                    if (given[k][i]) sum += nominal ? (*given[k][i] == dim.values.front() ? 1.0 : 0.0) : code(*given[k][i]), n += 1;
                if (n > 0) per_item[i] = sum / n, item_means.push_back(sum / n), ++d.items;
            }
            auto iv = metrics::mean_interval(item_means, kBootstrapIterations, metrics::stable_hash(s.name + "/" + dim.name));
            d.mean.metric = nominal ? dim.name + "=" + dim.values.front() : dim.name;
            d.mean.value = iv.value, d.mean.stderr_ = iv.stderr_, d.mean.low = iv.low, d.mean.high = iv.high;
            d.mean.method = iv.method;
            d.mean.n = item_means.size();
            d.mean.has_interval = item_means.size() > 1;
            // Agreement.
            std::vector<std::vector<std::optional<double>>> coded(R, std::vector<std::optional<double>>(s.items.size()));
            for (std::size_t k = 0; k < R; ++k)
                for (std::size_t i = 0; i < s.items.size(); ++i)
                    if (given[k][i]) coded[k][i] = code(*given[k][i]);
            const auto scale = nominal ? metrics::Scale::Nominal : dim.scale == "ordinal" ? metrics::Scale::Ordinal : metrics::Scale::Interval;
            const double alpha = metrics::krippendorff_alpha(coded, scale);
            if (std::isfinite(alpha)) d.krippendorff_alpha = alpha;
            if (R == 2) {
                std::vector<double> a, b;
                for (std::size_t i = 0; i < s.items.size(); ++i)
                    if (coded[0][i] && coded[1][i]) a.push_back(*coded[0][i]), b.push_back(*coded[1][i]);
                const double kappa = metrics::cohen_kappa(a, b, nominal ? metrics::KappaWeights::None : metrics::KappaWeights::Quadratic);
                if (!a.empty() && std::isfinite(kappa)) d.cohen_kappa = kappa;
            }
            std::vector<std::vector<double>> table;
            std::size_t per = 0;
            bool equal = true;
            for (std::size_t i = 0; i < s.items.size() && equal; ++i) {
                std::vector<double> row(dim.values.size(), 0);
                std::size_t n = 0;
                for (std::size_t k = 0; k < R; ++k)
                    if (given[k][i]) ++row[static_cast<std::size_t>(std::find(dim.values.begin(), dim.values.end(), *given[k][i]) - dim.values.begin())], ++n;
                if (n == 0) continue;
                if (per == 0) per = n;
                equal = n == per;
                table.push_back(row);
            }
            if (equal && per >= 2) {
                const double kappa = metrics::fleiss_kappa(table);
                if (std::isfinite(kappa)) d.fleiss_kappa = kappa;
            }
            // The scoring model's per-item judgements against the humans' (ordinal and interval dimensions).
            if (!nominal)
                for (const auto& m : s.metrics) {
                    const MetricInfo* info = find_metric(s, m);
                    if (!info || info->needs == ModelInput::None || info->needs == ModelInput::Unconditional) continue;
                    std::vector<double> x, y;
                    for (std::size_t i = 0; i < s.items.size(); ++i) {
                        auto v = s.items[i].metrics.find(m);
                        if (per_item[i] && v != s.items[i].metrics.end()) x.push_back(v->second), y.push_back(*per_item[i]);
                    }
                    if (x.size() >= 3) d.judge.push_back({m, metrics::spearman(x, y), x.size()});
                }
            out.dimensions.push_back(std::move(d));
        }
        // Pairwise preferences, per pair of runs.
        std::map<std::pair<std::string, std::string>, std::vector<const Rating*>> pairs;
        std::map<const Rating*, std::size_t> rater_of;
        for (std::size_t k = 0; k < R; ++k)
            for (const Rating& r : files[k].ratings)
                if (r.suite == s.name && r.dimension == kPreference) pairs[{r.a, r.b}].push_back(&r), rater_of[&r] = k;
        for (const auto& [ab, list] : pairs) {
            PairwiseRatings p;
            p.suite = s.name;
            p.a = ab.first;
            p.b = ab.second;
            std::vector<double> score;
            std::vector<std::vector<std::optional<double>>> coded(R, std::vector<std::optional<double>>(s.items.size()));
            for (const Rating* r : list) {
                const double v = r->value == "B" ? 1.0 : r->value == "tie" ? 0.5 : 0.0;
                (r->value == "A" ? p.a_wins : r->value == "B" ? p.b_wins : p.ties) += 1;
                p.a_shown_first += r->first == "A";
                score.push_back(v);
                coded[rater_of[r]][item_index.at(r->item)] = v;
            }
            auto iv = metrics::mean_interval(score, kBootstrapIterations, metrics::stable_hash(s.name + "/" + p.a + "/" + p.b));
            p.b_win_rate.metric = "b_win_rate";
            p.b_win_rate.value = iv.value, p.b_win_rate.stderr_ = iv.stderr_, p.b_win_rate.low = iv.low, p.b_win_rate.high = iv.high;
            p.b_win_rate.method = iv.method;
            p.b_win_rate.n = score.size();
            p.b_win_rate.has_interval = score.size() > 1;
            const double alpha = metrics::krippendorff_alpha(coded, metrics::Scale::Nominal);
            if (std::isfinite(alpha)) p.krippendorff_alpha = alpha;
            out.pairwise.push_back(std::move(p));
        }
    }
    return out;
}

}  // namespace lmwb::eval

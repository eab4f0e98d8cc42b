#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "evaluation_internal.h"

namespace lmwb::eval {

void to_json(nlohmann::json& j, const ModelIdentity& m);
void to_json(nlohmann::json& j, const RunSettings& s);

namespace {

nlohmann::json identity_key(const ModelIdentity& m) {
    nlohmann::json j = m;
    for (const char* how_it_was_named : {"path", "repository", "revision"}) j.erase(how_it_was_named);
    return j;
}

}  // namespace

int shard_of(std::size_t index, const RunSettings& settings) {
    const auto block = index / static_cast<std::size_t>(std::max(1, settings.batch_size));
    return static_cast<int>(block % static_cast<std::size_t>(std::max(1, settings.shard_count))) + 1;
}

Report merge_reports(const std::vector<Report>& shards, const std::vector<std::string>& names) {
    if (shards.empty()) throw ReportError("merge: no reports given");
    const Report& first = shards.front();
    const int n = first.settings.shard_count;
    std::vector<int> seen(static_cast<std::size_t>(n) + 1, -1);
    for (std::size_t k = 0; k < shards.size(); ++k) {
        const Report& r = shards[k];
        const std::string& name = names[k];
        if (identity_key(r.model) != identity_key(first.model))
            throw ReportError(name + ": a different model (weights or tokenizer) than " + names[0]);
        if ((r.judge.has_value() != first.judge.has_value()) || (r.judge && identity_key(*r.judge) != identity_key(*first.judge)))
            throw ReportError(name + ": a different judge model than " + names[0]);
        if (r.settings.seed != first.settings.seed || r.settings.limit != first.settings.limit ||
            r.settings.bootstrap_iterations != first.settings.bootstrap_iterations || r.settings.shard_count != n ||
            r.settings.batch_size != first.settings.batch_size || r.settings.apply_chat_template != first.settings.apply_chat_template ||
            r.settings.fewshot_as_multiturn != first.settings.fewshot_as_multiturn ||
            r.settings.system_instruction != first.settings.system_instruction || r.settings.chat_template != first.settings.chat_template)
            throw ReportError(name + ": settings (seed, limit, bootstrap iterations, shard count, batch size or chat template) differ from " + names[0]);
        int idx = r.settings.shard_index;
        if (idx < 1 || idx > n) throw ReportError(name + ": shard " + std::to_string(idx) + "/" + std::to_string(n) + " is out of range");
        if (seen[static_cast<std::size_t>(idx)] >= 0)
            throw ReportError(name + ": shard " + std::to_string(idx) + "/" + std::to_string(n) + " is also in " +
                              names[static_cast<std::size_t>(seen[static_cast<std::size_t>(idx)])]);
        seen[static_cast<std::size_t>(idx)] = static_cast<int>(k);
        for (const auto& suite : r.suites) validate_suite(suite, name);
        if (r.suites.size() != first.suites.size())
            throw ReportError(name + ": holds " + std::to_string(r.suites.size()) + " suites, " + names[0] + " " + std::to_string(first.suites.size()));
        for (std::size_t s = 0; s < r.suites.size(); ++s)
            if (r.suites[s].name != first.suites[s].name || r.suites[s].sha256 != first.suites[s].sha256 ||
                r.suites[s].metrics != first.suites[s].metrics || r.suites[s].suite_items != first.suites[s].suite_items)
                throw ReportError(name + ": suite '" + r.suites[s].name + "' differs from " + names[0] + "'s '" + first.suites[s].name + "'");
    }
    std::string missing;
    for (int i = 1; i <= n; ++i)
        if (seen[static_cast<std::size_t>(i)] < 0) missing += (missing.empty() ? "" : ", ") + std::to_string(i) + "/" + std::to_string(n);
    if (!missing.empty()) throw ReportError("merge: shard " + missing + " missing");

    Report out = first;
    out.settings.shard_index = out.settings.shard_count = 1;
    out.execution = {};
    out.execution.merged_from = names;
    out.execution.started = first.execution.started;
    for (std::size_t s = 0; s < out.suites.size(); ++s) {
        out.suites[s].items.clear();
        // The items the run selected: the first `limit` of the suite (all without one), in blocks (shard_of).
        const std::size_t total = first.settings.limit ? std::min(first.settings.limit, first.suites[s].suite_items) : first.suites[s].suite_items;
        const std::string& suite = out.suites[s].name;
        std::map<std::size_t, std::string> owner;
        for (std::size_t k = 0; k < shards.size(); ++k)
            for (const auto& item : shards[k].suites[s].items) {
                if (item.index >= total)
                    throw ReportError(names[k] + ": item '" + item.id + "' of suite '" + suite + "' has index " + std::to_string(item.index) +
                                      ", outside the run's " + std::to_string(total) + " items");
                const int shard = shards[k].settings.shard_index;
                if (const int owner_shard = shard_of(item.index, first.settings); owner_shard != shard)
                    throw ReportError(names[k] + ": item '" + item.id + "' of suite '" + suite + "' (index " + std::to_string(item.index) +
                                      ") belongs to shard " + std::to_string(owner_shard) + "/" + std::to_string(n) + ", not " +
                                      std::to_string(shard) + "/" + std::to_string(n));
                auto [it, fresh] = owner.emplace(item.index, names[k]);
                if (!fresh) throw ReportError(names[k] + ": item '" + item.id + "' of suite '" + suite + "' is also in " + it->second);
                out.suites[s].items.push_back(item);
            }
        if (owner.size() != total) {
            std::string gaps;
            std::size_t shown = 0, absent = total - owner.size();
            for (std::size_t i = 0; i < total && shown < 5; ++i)
                if (!owner.count(i)) gaps += (shown++ ? ", " : "") + std::to_string(i);
            throw ReportError("merge: suite '" + suite + "' has " + std::to_string(owner.size()) + " of its " + std::to_string(total) +
                              " items; missing " + std::to_string(absent) + " (index " + gaps + (absent > shown ? ", …" : "") +
                              "): a shard report lacks items");
        }
        finalize_suite(out.suites[s], out.settings);
    }
    for (const auto& r : shards) {
        out.execution.wall_seconds += r.execution.wall_seconds;
        out.execution.tokens += r.execution.tokens;
        out.execution.started = std::min(out.execution.started, r.execution.started);
        out.execution.finished = std::max(out.execution.finished, r.execution.finished);
    }
    out.execution.tokens_per_second = out.execution.wall_seconds > 0 ? static_cast<double>(out.execution.tokens) / out.execution.wall_seconds : 0;
    return out;
}

std::string describe_test(const MetricComparison& m) {
    char text[160];
    if (m.mcnemar)
        std::snprintf(text, sizeof text, "McNemar p=%.3g (%zu vs %zu), n=%zu", m.mcnemar->p_value, m.mcnemar->b, m.mcnemar->c, m.n);
    else  // short enough for a table cell: "exact" or the number of random swaps (the JSON keeps the full method)
        std::snprintf(text, sizeof text, "permutation p=%.3g (%s), n=%zu", m.test.p_value,
                      m.test.method.rfind("exact", 0) == 0 ? "exact" : (std::to_string(m.iterations) + " swaps").c_str(), m.n);
    std::string out = text;
    if (!m.decidable()) {
        std::snprintf(text, sizeof text, "; too few items to decide (smallest possible p=%.3g)", m.test.min_p_value);
        out += text;
    }
    return out;
}

std::string verdict(const MetricComparison& m) {
    if (!m.decidable() || m.test.p_value >= 0.05) return {};
    if (!(m.delta.low > 0 || m.delta.high < 0)) return {};
    if (m.mcnemar && m.mcnemar->p_value >= 0.05) return {};
    return (m.delta.delta > 0) == m.higher_is_better ? "better" : "worse";
}

const char* to_string(ItemStatus status) {
    switch (status) {
    case ItemStatus::Regression: return "regression";
    case ItemStatus::Improvement: return "improvement";
    case ItemStatus::Unchanged: return "unchanged";
    case ItemStatus::NotComparable: return "not comparable";
    }
    return "?";
}

std::string primary_metric(const SuiteReport& suite) {
    for (const auto& m : suite.metrics)
        for (const auto& item : suite.items)
            if (item.metrics.count(m)) return m;
    return {};
}

std::vector<ItemPair> pair_items(const SuiteReport& baseline, const SuiteReport& other, const std::string& metric) {
    const MetricInfo* info = find_metric(baseline, metric);
    const bool higher = info ? info->higher_is_better : true;
    std::map<std::string, const ItemRecord*> by_id;
    for (const auto& r : other.items) by_id[r.id] = &r;
    auto value = [&](const ItemRecord& r) -> std::optional<double> {
        auto f = r.metrics.find(metric);
        if (f == r.metrics.end() || !std::isfinite(f->second)) return std::nullopt;
        return f->second;
    };
    std::vector<ItemPair> out;
    for (const auto& r : baseline.items) {
        auto f = by_id.find(r.id);
        if (f == by_id.end()) continue;
        ItemPair p{r.id, value(r), value(*f->second), ItemStatus::NotComparable};
        if (p.baseline && p.other) {
            const double x = *p.baseline, d = *p.other - x;
            p.status = std::fabs(d) <= 1e-9 * std::max(1.0, std::fabs(x)) ? ItemStatus::Unchanged
                       : (d > 0) == higher                               ? ItemStatus::Improvement
                                                                         : ItemStatus::Regression;
        }
        out.push_back(std::move(p));
    }
    return out;
}

namespace {

// A damaged report must not yield numbers: no items where the suite has some, an id twice, an item without a value
// its record defines (values too large to compare fail at the interval, below).
void check_comparable(const SuiteReport& s, const std::string& name) {
    if (s.items.empty() && s.suite_items > 0)
        throw ReportError(name + ": suite '" + s.name + "' holds no items (its file has " + std::to_string(s.suite_items) +
                          "): nothing to compare (a damaged report?)");
    validate_suite(s, name);  // reports built in memory too: ids, values, a metric missing where it is defined
}

}  // namespace

std::vector<RunComparison> compare_reports(const std::vector<Report>& reports, const std::vector<std::string>& names,
                                           int iterations, std::uint64_t seed, const Control& control) {
    if (reports.size() < 2) throw ReportError("compare: give at least two reports (the first is the baseline)");
    if (iterations < kMinSwaps || iterations > kMaxResamples)
        throw ReportError("compare: " + std::to_string(iterations) + " resamples; expected " + std::to_string(kMinSwaps) + " to " +
                          std::to_string(kMaxResamples));
    const Report& base = reports.front();
    std::size_t total = 0, done = 0;
    for (const auto& s : base.suites) total += s.metrics.size() * (reports.size() - 1);
    control.report(0, total, "metrics");
    std::vector<RunComparison> out;
    for (std::size_t k = 1; k < reports.size(); ++k) {
        const Report& other = reports[k];
        RunComparison rc;
        rc.baseline = names[0];
        rc.other = names[k];
        for (const SuiteReport& a : base.suites) {
            auto match = std::find_if(other.suites.begin(), other.suites.end(), [&](const SuiteReport& s) { return s.name == a.name; });
            if (match == other.suites.end())
                throw ReportError(names[k] + " has no suite '" + a.name + "' (in " + names[0] + "): only runs of the same suites compare");
            const SuiteReport& b = *match;
            check_comparable(a, names[0]);
            check_comparable(b, names[k]);
            if (a.sha256 != b.sha256)
                throw ReportError("suite '" + a.name + "' differs between " + names[0] + " (version " + a.version + ", sha256 " +
                                  a.sha256.substr(0, 12) + ") and " + names[k] + " (version " + b.version + ", sha256 " +
                                  b.sha256.substr(0, 12) + "): results of different suite files do not pair");
            // Pair items by id; the content hash must agree.
            std::map<std::string, const ItemRecord*> by_id;
            for (const auto& r : b.items) by_id[r.id] = &r;
            SuiteReport pa = a, pb = b;
            pa.items.clear();
            pb.items.clear();
            for (const auto& r : a.items) {
                auto f = by_id.find(r.id);
                if (f == by_id.end()) {
                    ++rc.unpaired;
                    continue;
                }
                if (f->second->content_hash != r.content_hash)
                    throw ReportError("item '" + r.id + "' of suite '" + a.name + "' has different content in " + names[0] + " and " + names[k]);
                pa.items.push_back(r);
                pb.items.push_back(*f->second);
            }
            rc.unpaired += b.items.size() - pa.items.size();
            rc.paired += pa.items.size();
            std::vector<std::string> metrics;
            for (const auto& m : a.metrics)
                if (std::find(b.metrics.begin(), b.metrics.end(), m) != b.metrics.end()) metrics.push_back(m);
            auto compare = [&](const SuiteReport& xa, const SuiteReport& xb, const std::string& m, const std::string& slice) {
                const MetricInfo* info = find_metric(a, m);
                MetricComparison mc;
                mc.suite = a.name;
                mc.slice = slice;
                mc.metric = m;
                mc.higher_is_better = info->higher_is_better;
                auto sa = metric_statistic(xa, m), sb = metric_statistic(xb, m);
                mc.delta = metrics::paired_bootstrap(xa.items.size(), sa, sb, iterations,
                                                     metrics::stable_hash(a.name + (slice.empty() ? "" : "[" + slice + "]") + "/" + m, seed));
                mc.iterations = iterations;
                mc.n = xa.items.size();
                const std::uint64_t test_seed = metrics::stable_hash(a.name + (slice.empty() ? "" : "[" + slice + "]") + "/" + m + "/randomization", seed);
                if (info->aggregation == Aggregation::Mean) {
                    mc.test = metrics::paired_randomization(item_values(xa, m), item_values(xb, m), iterations, test_seed);
                } else {
                    SuiteReport joint = xa;  // A's items, then B's: the test swaps item i with item n + i
                    joint.items.insert(joint.items.end(), xb.items.begin(), xb.items.end());
                    mc.test = metrics::paired_randomization(xa.items.size(), metric_statistic(joint, m), iterations, test_seed);
                }
                std::vector<std::size_t> all(xa.items.size());
                for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
                auto defined = [](double v) { return std::isfinite(v) ? v : 0.0; };  // no tokens at all: as before
                const double va = sa(all), vb = sb(all);
                // NaN: the metric is undefined on these items (no tokens at all); infinite: values too large to
                // average (a damaged report), where any number printed would be one nobody computed.
                if (std::isinf(va) || std::isinf(vb))
                    throw ReportError("suite '" + a.name + "', " + m + ": the values do not average to a finite number in " +
                                      (std::isinf(va) ? names[0] : names[k]) + "; not comparable");
                mc.baseline = defined(va);
                mc.other = defined(vb);
                if (info->binary) {
                    std::size_t nb = 0, nc = 0;
                    for (std::size_t i = 0; i < xa.items.size(); ++i) {
                        bool x = xa.items[i].metrics.count(m) && xa.items[i].metrics.at(m) > 0.5;
                        bool y = xb.items[i].metrics.count(m) && xb.items[i].metrics.at(m) > 0.5;
                        nb += x && !y;
                        nc += !x && y;
                    }
                    mc.mcnemar = metrics::mcnemar(nb, nc);
                }
                return mc;
            };
            for (const auto& m : metrics) {
                control.check();
                control.report(++done, std::max(done, total), "metrics", a.name);
                if (!find_metric(a, m)) continue;
                rc.metrics.push_back(compare(pa, pb, m, ""));
            }
            // The same per slice, on the paired items the baseline's records put in it.
            for (const auto& field : a.slice_fields) {
                std::set<std::string> values;
                for (const auto& r : pa.items)
                    if (auto found = r.slices.find(field); found != r.slices.end()) values.insert(found->second.begin(), found->second.end());
                for (const auto& value : values) {
                    SuiteReport xa = pa, xb = pb;
                    xa.items.clear();
                    xb.items.clear();
                    for (std::size_t i = 0; i < pa.items.size(); ++i) {
                        auto it = pa.items[i].slices.find(field);
                        if (it != pa.items[i].slices.end() && std::find(it->second.begin(), it->second.end(), value) != it->second.end())
                            xa.items.push_back(pa.items[i]), xb.items.push_back(pb.items[i]);
                    }
                    for (const auto& m : metrics) {
                        control.check();
                        if (find_metric(a, m)) rc.metrics.push_back(compare(xa, xb, m, field + "=" + value));
                    }
                }
            }
            // Per-item changes on the suite's primary metric.
            const std::string primary = primary_metric(pa);
            if (primary.empty()) continue;
            for (const auto& p : pair_items(pa, pb, primary)) {
                switch (p.status) {
                case ItemStatus::Unchanged: ++rc.unchanged; break;
                case ItemStatus::NotComparable: ++rc.not_comparable; break;
                case ItemStatus::Regression: rc.regressions.push_back({a.name, p.id, primary, *p.baseline, *p.other}); break;
                case ItemStatus::Improvement: rc.improvements.push_back({a.name, p.id, primary, *p.baseline, *p.other}); break;
                }
            }
        }
        out.push_back(std::move(rc));
    }
    return out;
}

}  // namespace lmwb::eval

namespace lmwb::eval {

std::string comparisons_to_json(const std::vector<RunComparison>& comparisons) {
    using nlohmann::json;
    json out = json::array();
    auto changes = [](const std::vector<ItemChange>& v) {
        json a = json::array();
        for (const auto& c : v) a.push_back({{"suite", c.suite}, {"id", c.id}, {"metric", c.metric}, {"baseline", c.baseline}, {"other", c.other}});
        return a;
    };
    for (const auto& rc : comparisons) {
        json metrics = json::array();
        for (const auto& m : rc.metrics) {
            json j = {{"suite", m.suite}, {"slice", m.slice.empty() ? json(nullptr) : json(m.slice)}, {"metric", m.metric}, {"higher_is_better", m.higher_is_better}, {"baseline", m.baseline},
                      {"other", m.other}, {"delta", m.delta.delta}, {"delta_ci95", {m.delta.low, m.delta.high}},
                      {"bootstrap_p_value", m.delta.p_value}, {"n", m.n},
                      {"test", {{"name", "paired randomization"}, {"method", m.test.method}, {"p_value", m.test.p_value},
                                {"min_p_value", m.test.min_p_value}, {"n", m.test.n}}},
                      {"decidable", m.decidable()}, {"verdict", verdict(m)}};
            if (m.mcnemar)
                j["mcnemar"] = {{"baseline_only", m.mcnemar->b}, {"other_only", m.mcnemar->c}, {"statistic", m.mcnemar->statistic},
                                {"p_value", m.mcnemar->p_value}, {"method", m.mcnemar->method}};
            metrics.push_back(j);
        }
        out.push_back({{"baseline", rc.baseline}, {"other", rc.other}, {"paired_items", rc.paired}, {"unpaired_items", rc.unpaired},
                       {"metrics", metrics}, {"regressions", changes(rc.regressions)}, {"improvements", changes(rc.improvements)},
                       {"unchanged", rc.unchanged}, {"not_comparable", rc.not_comparable}});
    }
    return json{{"schema", "lmwb.comparison"}, {"schema_version", 1}, {"comparisons", out}}.dump(2) + "\n";
}

}  // namespace lmwb::eval

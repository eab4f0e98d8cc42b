#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <ctime>
#include <set>

#include "evaluation_internal.h"

namespace lmwb::eval {

using datasets::TaskKind;

namespace {

using Items = std::vector<const ItemRecord*>;

Items pointers(const SuiteReport& s) {
    Items items;
    for (const auto& r : s.items) items.push_back(&r);
    return items;
}

const MetricInfo& known(const SuiteReport& s, const std::string& metric) {
    const MetricInfo* info = find_metric(s, metric);
    if (!info) throw ReportError("suite '" + s.name + "': unknown " + s.kind + " metric '" + metric + "'");
    return *info;
}

}  // namespace

std::vector<double> item_values(const SuiteReport& s, const std::string& metric) {
    std::vector<double> v;
    for (const auto& r : s.items) {
        auto it = r.metrics.find(metric);
        v.push_back(it == r.metrics.end() ? std::numeric_limits<double>::quiet_NaN() : it->second);
    }
    return v;
}

Statistic metric_statistic(const SuiteReport& s, const std::string& metric) {
    const MetricInfo& info = known(s, metric);
    if (info.aggregation == Aggregation::Corpus) return info.corpus(pointers(s), metric_settings(s));
    return [v = item_values(s, metric)](const std::vector<std::size_t>& idx) {
        double sum = 0, n = 0;
        for (auto i : idx)
            if (!std::isnan(v[i])) sum += v[i], n += 1;
        return n > 0 ? sum / n : std::numeric_limits<double>::quiet_NaN();
    };
}

std::vector<Aggregate> aggregate(const SuiteReport& s, int iterations, std::uint64_t seed) {
    std::vector<Aggregate> out;
    for (const auto& name : s.metrics) {
        const MetricInfo& info = known(s, name);
        Aggregate a;
        a.metric = name;
        a.higher_is_better = info.higher_is_better;
        metrics::Interval iv;
        if (info.aggregation == Aggregation::Mean) {
            std::vector<double> v;
            for (double x : item_values(s, name))
                if (!std::isnan(x)) v.push_back(x);
            iv = metrics::mean_interval(v, iterations, metrics::stable_hash(s.name + "/" + name, seed));
            a.n = v.size();
        } else {
            iv = metrics::bootstrap_interval(s.items.size(), metric_statistic(s, name), iterations,
                                             metrics::stable_hash(s.name + "/" + name, seed));
            a.n = s.items.size();
        }
        a.method = iv.method;
        if (info.signature) a.signature = info.signature(pointers(s), metric_settings(s));
        a.value = iv.value;
        a.stderr_ = iv.stderr_;
        a.low = iv.low;
        a.high = iv.high;
        out.push_back(a);
    }
    return out;
}

std::vector<SliceReport> slice_aggregates(const SuiteReport& s, int iterations, std::uint64_t seed) {
    std::vector<SliceReport> out;
    for (const auto& field : s.slice_fields) {
        std::set<std::string> values;
        for (const auto& r : s.items)
            if (auto it = r.slices.find(field); it != r.slices.end()) values.insert(it->second.begin(), it->second.end());
        for (const auto& value : values) {
            SuiteReport sub = subset(s, field, value);
            SliceReport sr;
            sr.field = field;
            sr.value = value;
            sr.n = sub.items.size();
            sr.aggregates = aggregate(sub, iterations, seed);
            if (sr.n < 2)  // one item: a value, no interval
                for (auto& a : sr.aggregates) a.has_interval = false, a.stderr_ = a.low = a.high = a.value;
            out.push_back(std::move(sr));
        }
    }
    return out;
}

SuiteReport subset(const SuiteReport& s, const std::string& field, const std::string& value) {
    SuiteReport sub = s;
    sub.name = s.name + "[" + field + "=" + value + "]";  // its own bootstrap seeds
    sub.items.clear();
    sub.slices.clear();
    for (const auto& r : s.items)
        if (auto it = r.slices.find(field); it != r.slices.end() && std::find(it->second.begin(), it->second.end(), value) != it->second.end())
            sub.items.push_back(r);
    return sub;
}

void finalize_suite(SuiteReport& s, const RunSettings& settings) {
    std::sort(s.items.begin(), s.items.end(), [](const ItemRecord& a, const ItemRecord& b) { return a.index < b.index; });
    s.aggregates = aggregate(s, settings.bootstrap_iterations, settings.seed);
    s.slices = slice_aggregates(s, settings.bootstrap_iterations, settings.seed);
    s.reliability.clear();
    if (s.kind == datasets::to_string(TaskKind::MultipleChoice)) {
        std::vector<double> conf, correct;
        const MetricInfo& acc = *find_metric(TaskKind::MultipleChoice, "acc");
        for (const auto& r : s.items) {
            auto c = r.metrics.find("confidence");
            conf.push_back(c == r.metrics.end() ? 0.0 : c->second);
            correct.push_back(acc.item(r, {}).value_or(0.0));
        }
        for (const auto& b : metrics::reliability_bins(conf, correct, 10))
            s.reliability.push_back({b.confidence_low, b.confidence_high, b.mean_confidence, b.accuracy, b.count});
    }
}

std::vector<std::string> aggregate_doubts(const Aggregate& a, const MetricInfo* m) {
    std::vector<std::string> out;
    auto num = [](double v) {
        char b[32];
        std::snprintf(b, sizeof b, "%.4g", v);
        return std::string(b);
    };
    if (!a.has_interval) {
        out.push_back("one item: no interval");
        return out;
    }
    const double eps = 1e-9 * std::max(1.0, std::fabs(a.value));
    if (a.value < a.low - eps || a.value > a.high + eps)
        out.push_back("the interval [" + num(a.low) + ", " + num(a.high) + "] excludes the estimate " + num(a.value) +
                      ": the statistic is biased under resampling (few items, or a skewed metric)");
    if (m && (a.low < m->min - eps || a.high > m->max + eps))
        out.push_back("the interval leaves the values " + a.metric + " can take (" + (std::isfinite(m->min) ? num(m->min) : "-inf") + " to " +
                      (std::isfinite(m->max) ? num(m->max) : "inf") + ")");
    if (a.n < kFewItems) out.push_back("only " + std::to_string(a.n) + " items: the interval is rough");
    return out;
}

std::string utc_now() {
    auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace lmwb::eval

#include "html_report.h"

#include <QDateTime>

#include <cmath>

namespace lmwb::gui {

namespace {

// HTML-escaped, and well-formed XML: C0 controls (but tab, newline, return), DEL and U+FFFE/U+FFFF, which XML does not
// allow, become their visible Control Pictures (U+2400 + c, U+2421) or U+FFFD.
QString esc(const QString& s) {
    QString out = s.toHtmlEscaped();
    for (QChar& c : out) {
        const char16_t u = c.unicode();
        if ((u < 0x20 && u != '\t' && u != '\n' && u != '\r')) c = QChar(static_cast<char16_t>(0x2400 + u));
        else if (u == 0x7F) c = QChar(static_cast<char16_t>(0x2421));
        else if (u == 0xFFFE || u == 0xFFFF) c = QChar(static_cast<char16_t>(0xFFFD));
    }
    return out;
}
QString esc(const std::string& s) { return esc(QString::fromStdString(s)); }
QString num(double v) { return std::isfinite(v) ? QString::number(v, 'g', 6) : QStringLiteral("–"); }

class Table {
public:
    explicit Table(QStringList header) : header_(std::move(header)) {}
    void row(const QStringList& cells, const QString& attributes = {}) {
        rows_ += QStringLiteral("<tr%1>").arg(attributes.isEmpty() ? QString() : QLatin1Char(' ') + attributes);
        for (const auto& c : cells) rows_ += QStringLiteral("<td>") + c + QStringLiteral("</td>");
        rows_ += QStringLiteral("</tr>\n");
    }
    QString html() const {
        QString h = QStringLiteral("<table>\n<thead><tr>");
        for (const auto& c : header_) h += QStringLiteral("<th>") + esc(c) + QStringLiteral("</th>");
        return h + QStringLiteral("</tr></thead>\n<tbody>\n") + rows_ + QStringLiteral("</tbody>\n</table>\n");
    }

private:
    QStringList header_;
    QString rows_;
};

const char* kStyle = R"(
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.better td { background: #e8f1fa; } tr.worse td { background: #fbeee0; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; } dt { font-weight: 600; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; } figcaption { font-size: 0.9em; color: #555; }
.note { color: #555; font-size: 0.9em; }
tr.doubt td { background: #ffecb3; color: #3c2800; } h4 { font-size: 0.95em; margin: 1em 0 0.2em; }
)";

void settings(QString& h, const eval::Report& r, const QString& label) {
    h += QStringLiteral("<h2 id=\"run\">Run: %1</h2>\n<dl>\n").arg(esc(label));
    auto item = [&h](const QString& k, const QString& v) { h += QStringLiteral("<dt>%1</dt><dd>%2</dd>\n").arg(esc(k), v); };
    item(QStringLiteral("model"), esc(r.model.path));
    item(QStringLiteral("architecture"),
         esc(r.model.architecture) + QStringLiteral(", %1 parameters, %2").arg(QString::number(r.model.parameters), esc(r.model.compute_dtype)));
    item(QStringLiteral("weights sha256"), QStringLiteral("<code>%1</code>").arg(esc(r.model.weights_sha256)));
    if (r.judge) item(QStringLiteral("judge model"), esc(r.judge->path));
    item(QStringLiteral("seed"), QString::number(r.settings.seed));
    item(QStringLiteral("limit"), r.settings.limit ? QString::number(r.settings.limit) : QStringLiteral("all items"));
    item(QStringLiteral("bootstrap iterations"), QString::number(r.settings.bootstrap_iterations));
    if (r.settings.shard_count > 1) item(QStringLiteral("shard"), QStringLiteral("%1 / %2").arg(r.settings.shard_index).arg(r.settings.shard_count));
    item(QStringLiteral("started"), esc(r.execution.started));
    item(QStringLiteral("finished"), esc(r.execution.finished));
    item(QStringLiteral("wall time"), QStringLiteral("%1 s, %2 tokens/s").arg(num(r.execution.wall_seconds), num(r.execution.tokens_per_second)));
    item(QStringLiteral("software"), esc(r.software) + QLatin1Char(' ') + esc(r.software_version));
    h += QStringLiteral("</dl>\n");
}

// One table of aggregates; a doubtful number (eval::aggregate_doubts) is marked and says why.
QString aggregate_table(const eval::SuiteReport& s, const std::vector<eval::Aggregate>& list, const QString& where) {
    Table t({QStringLiteral("metric"), QStringLiteral("value"), QStringLiteral("stderr"), QStringLiteral("95% interval"), QStringLiteral("method"),
             QStringLiteral("n"), QStringLiteral("better"), QStringLiteral("doubts")});
    for (const auto& a : list) {
        QStringList doubts;
        for (const auto& d : eval::aggregate_doubts(a, eval::find_metric(s, a.metric))) doubts << esc(d);
        t.row({esc(a.metric), QStringLiteral("<span class=\"n\">%1</span>").arg(num(a.value)), a.has_interval ? num(a.stderr_) : QStringLiteral("–"),
               a.has_interval ? QStringLiteral("[%1, %2]").arg(num(a.low), num(a.high)) : QStringLiteral("–"), esc(a.method), QString::number(a.n),
               a.higher_is_better ? QStringLiteral("higher") : QStringLiteral("lower"), doubts.join(QStringLiteral("; "))},
              QStringLiteral("data-aggregate=\"%1/%2\"%3").arg(where, esc(a.metric), doubts.isEmpty() ? QString() : QStringLiteral(" class=\"doubt\"")));
    }
    return t.html();
}

void aggregates(QString& h, const eval::Report& r) {
    h += QStringLiteral("<h2 id=\"aggregates\">Aggregates</h2>\n");
    for (const auto& s : r.suites) {
        // One arg() call for all four: a chained arg() would substitute a "%3" found inside the suite's name.
        h += QStringLiteral("<h3>%1 <span class=\"note\">(%2, %3 items, version %4)</span></h3>\n")
                 .arg(esc(s.name), esc(s.kind), QString::number(s.items.size()), esc(s.version));
        if (s.aggregates.empty()) {
            h += QStringLiteral("<p class=\"note\">No aggregates: this run stopped before the suite was finished.</p>\n");
            continue;
        }
        h += aggregate_table(s, s.aggregates, esc(s.name));
    }
    h += QStringLiteral("<h2 id=\"slices\">Slices</h2>\n");
    bool any = false;
    for (const auto& s : r.suites) {
        if (s.slices.empty()) continue;
        any = true;
        h += QStringLiteral("<h3>%1 <span class=\"note\">(by %2)</span></h3>\n")
                 .arg(esc(s.name), esc(QString::fromStdString([&] {
                          std::string f;
                          for (const auto& x : s.slice_fields) f += (f.empty() ? "" : ", ") + x;
                          return f;
                      }())));
        for (const auto& sl : s.slices) {
            h += QStringLiteral("<h4>%1 = %2 <span class=\"note\">(%3 items)</span></h4>\n").arg(esc(sl.field), esc(sl.value), QString::number(sl.n));
            h += aggregate_table(s, sl.aggregates, esc(s.name + "[" + sl.field + "=" + sl.value + "]"));
        }
    }
    if (!any)
        h += QStringLiteral("<p class=\"note\">This report holds no slices (suites that name item fields to slice by report every aggregate "
                            "per slice; see docs/suite-format.md).</p>\n");
}

void calibration(QString& h, const eval::Report& r) {
    bool any = false;
    for (const auto& s : r.suites) any = any || !s.reliability.empty();
    if (!any) return;
    h += QStringLiteral("<h2 id=\"calibration\">Calibration</h2>\n<p class=\"note\">Equal-mass bins of the model's confidence in its "
                        "chosen answer: a calibrated model's accuracy equals its mean confidence in every bin.</p>\n");
    for (const auto& s : r.suites) {
        if (s.reliability.empty()) continue;
        h += QStringLiteral("<h3>%1</h3>\n").arg(esc(s.name));
        Table t({QStringLiteral("confidence from"), QStringLiteral("to"), QStringLiteral("mean confidence"), QStringLiteral("accuracy"), QStringLiteral("items")});
        for (const auto& b : s.reliability)
            t.row({num(b.confidence_low), num(b.confidence_high), num(b.mean_confidence), num(b.accuracy), QString::number(b.count)});
        h += t.html();
    }
}

void comparison(QString& h, const HtmlReportInput& in) {
    if (in.comparisons.empty()) return;
    auto label = [&in](std::size_t k) { return static_cast<int>(k) < in.run_labels.size() ? in.run_labels[static_cast<int>(k)] : QString(); };
    h += QStringLiteral("<h2 id=\"comparison\">Comparison against %1</h2>\n").arg(esc(label(0)));
    Table t({QStringLiteral("run"), QStringLiteral("suite"), QStringLiteral("metric"), QStringLiteral("baseline"), QStringLiteral("run value"),
             QStringLiteral("delta"), QStringLiteral("delta 95% interval"), QStringLiteral("paired test"), QStringLiteral("verdict")});
    for (std::size_t k = 0; k < in.comparisons.size(); ++k)
        for (const auto& m : in.comparisons[k].metrics) {
            const std::string verdict = eval::verdict(m);
            t.row({esc(label(k + 1)), esc(m.slice.empty() ? m.suite : m.suite + " [" + m.slice + "]"), esc(m.metric) + (m.higher_is_better ? QStringLiteral(" ↑") : QStringLiteral(" ↓")), num(m.baseline),
                   num(m.other), num(m.delta.delta), QStringLiteral("[%1, %2]").arg(num(m.delta.low), num(m.delta.high)), esc(eval::describe_test(m)),
                   esc(verdict)},
                  verdict.empty() ? QString() : QStringLiteral("class=\"%1\"").arg(QString::fromStdString(verdict)));
        }
    h += t.html();
    h += QStringLiteral("<h3>Items that changed</h3>\n");
    for (std::size_t k = 0; k < in.comparisons.size(); ++k) {
        const auto& rc = in.comparisons[k];
        h += QStringLiteral("<p>%1: %2 regressions, %3 improvements, %4 unchanged, %5 not comparable (on each suite's primary metric).</p>\n")
                 .arg(esc(label(k + 1)), QString::number(rc.regressions.size()), QString::number(rc.improvements.size()),
                      QString::number(rc.unchanged), QString::number(rc.not_comparable));
        if (rc.regressions.empty() && rc.improvements.empty()) continue;
        Table c({QStringLiteral("change"), QStringLiteral("suite"), QStringLiteral("item"), QStringLiteral("metric"), QStringLiteral("baseline"),
                 QStringLiteral("run value")});
        for (const auto* list : {&rc.regressions, &rc.improvements})
            for (const auto& ch : *list)
                c.row({list == &rc.regressions ? QStringLiteral("regression") : QStringLiteral("improvement"), esc(ch.suite), esc(ch.id), esc(ch.metric),
                       num(ch.baseline), num(ch.other)},
                      list == &rc.regressions ? QStringLiteral("class=\"worse\"") : QStringLiteral("class=\"better\""));
        h += c.html();
    }
}

}  // namespace

QString htmlReport(const HtmlReportInput& in) {
    const QString title = in.report ? QStringLiteral("LM Workbench report: %1").arg(in.report_label)
                                    : QStringLiteral("LM Workbench comparison: %1").arg(in.run_labels.join(QStringLiteral(", ")));
    QString h = QStringLiteral("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n"
                               "<title>%1</title>\n<style>%2</style>\n</head>\n<body>\n<h1>%1</h1>\n")
                    .arg(esc(title), QString::fromLatin1(kStyle));
    h += QStringLiteral("<p class=\"note\">Written %1 by LM Workbench %2. Self-contained: no scripts, nothing loaded from the network.</p>\n")
             .arg(QDateTime::currentDateTimeUtc().toString(Qt::ISODate), esc(in.software_version));
    if (in.report) {
        settings(h, *in.report, in.report_label);
        aggregates(h, *in.report);
        calibration(h, *in.report);
    }
    comparison(h, in);
    if (!in.plots.empty()) {
        h += QStringLiteral("<h2 id=\"plots\">Plots</h2>\n");
        for (const auto& [caption, svg] : in.plots)
            h += QStringLiteral("<figure><img alt=\"%1\" src=\"data:image/svg+xml;base64,%2\" /><figcaption>%1</figcaption></figure>\n")
                     .arg(esc(caption), QString::fromLatin1(svg.toBase64()));
    }
    h += QStringLiteral("</body>\n</html>\n");
    return h;
}

}  // namespace lmwb::gui

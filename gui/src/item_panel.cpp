#include "item_panel.h"

#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <cmath>

#include "plots.h"
#include "session.h"

namespace lmwb::gui {

namespace {

QString esc(const std::string& s) { return QString::fromStdString(s).toHtmlEscaped(); }

QString block(const std::string& s) {
    return QStringLiteral("<div style=\"white-space:pre-wrap;background:#f4f4f4;color:#202020;padding:3px\">%1</div>").arg(esc(s));
}

// The text a run scored token by token: a generation's response (as a continuation of the prompt), a perplexity
// suite's document.
const std::string& scoredText(const eval::SuiteReport& suite, const eval::ItemRecord& item) {
    return suite.kind == "perplexity" ? item.prompt : item.response;
}

// What the run answered: its response, or the choice it ranked first.
std::string answerOf(const eval::ItemRecord& item) {
    if (!item.choices.empty())
        return item.predicted >= 0 && item.predicted < static_cast<int>(item.choices.size()) ? item.choices[static_cast<std::size_t>(item.predicted)].text : std::string();
    return item.response;
}

std::string referenceOf(const eval::ItemRecord& item) {
    if (!item.choices.empty() && item.answer >= 0 && item.answer < static_cast<int>(item.choices.size()))
        return item.choices[static_cast<std::size_t>(item.answer)].text;
    if (!item.target.empty()) return item.target;
    return item.references.empty() ? std::string() : item.references.front();
}

bool sameModel(const QString& a, const std::string& b) {
    const QString cb = QFileInfo(QString::fromStdString(b)).canonicalFilePath();
    return !a.isEmpty() && !cb.isEmpty() && QFileInfo(a).canonicalFilePath() == cb;
}

// Red where the second run gives the token less probability than the first, blue where more (±2 nats saturate).
QString deltaColour(double d) {
    const double t = std::min(1.0, std::fabs(d) / 2.0);
    const int fade = static_cast<int>(255 - 150 * t);
    return d < 0 ? QStringLiteral("rgb(255,%1,%1)").arg(fade) : QStringLiteral("rgb(%1,%1,255)").arg(fade);
}

}  // namespace

ItemPanel::ItemPanel(Session& session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* v = new QVBoxLayout(this);
    hint_ = new QLabel(tr("Select a result row (Run) or an item (Compare) to see it here."));
    hint_->setWordWrap(true);
    v->addWidget(hint_);
    text_ = new QTextBrowser;
    text_->setOpenLinks(false);
    v->addWidget(text_, 1);
    auto* explain = new QLabel(tr("Explain the reference against the answer in the Inspector:"));
    explain->setWordWrap(true);
    v->addWidget(explain);
    auto* buttons = new QHBoxLayout;
    ig_ = new QPushButton(tr("IG"));
    shap_ = new QPushButton(tr("SHAP"));
    patching_ = new QPushButton(tr("Patching"));
    for (auto [b, method] : {std::pair{ig_, "ig"}, std::pair{shap_, "shap"}, std::pair{patching_, "patching"}}) {
        buttons->addWidget(b);
        const QString m = QString::fromLatin1(method);
        connect(b, &QPushButton::clicked, this, [this, m] { emit explainRequested(explanation(m)); });
    }
    buttons->addStretch(1);
    v->addLayout(buttons);
    connect(&session_, &Session::modelChanged, this, [this] {
        computeDeltas();  // token labels come from the open model
        render();
        refreshButtons();
    });
    setMinimumWidth(220);
    setRuns({});
}

QPushButton* ItemPanel::button(const QString& method) const {
    return method == QStringLiteral("ig") ? ig_ : method == QStringLiteral("shap") ? shap_ : patching_;
}

void ItemPanel::setRuns(std::vector<Run> runs) {
    runs_.clear();
    for (auto& r : runs)
        if (r.report && r.suite && r.item) runs_.push_back(std::move(r));
    computeDeltas();
    render();
    refreshButtons();
}

void ItemPanel::computeDeltas() {
    deltas_.clear();
    delta_problem_.clear();
    if (runs_.size() < 2) {
        delta_problem_ = tr("Per-token differences need two runs (select an item in Compare).");
        return;
    }
    const Run &a = runs_[0], &b = runs_[1];
    if (!a.item->choices.empty() || !b.item->choices.empty()) {
        if (a.item->choices.size() != b.item->choices.size()) {
            delta_problem_ = tr("The runs scored different choices.");
            return;
        }
        for (std::size_t k = 0; k < a.item->choices.size(); ++k)
            deltas_.push_back({QString::fromStdString(a.item->choices[k].text), a.item->choices[k].logprob, b.item->choices[k].logprob});
        return;
    }
    const std::string &ta = scoredText(*a.suite, *a.item), &tb = scoredText(*b.suite, *b.item);
    const auto &la = a.item->token_logprobs, &lb = b.item->token_logprobs;
    if (la.empty() || lb.empty()) {
        delta_problem_ = tr("A run holds no per-token log-probs for this item (its suite scores no fluency or perplexity).");
        return;
    }
    if (ta != tb || la.size() != lb.size()) {
        delta_problem_ = tr("The runs scored different texts (their answers differ, or their tokenizers do): log p of the answer is %1 in the first, %2 in the second.")
                             .arg(a.item->logprob, 0, 'f', 3).arg(b.item->logprob, 0, 'f', 3);
        return;
    }
    // Token texts from the open model's tokenizer when it made one of the runs and cuts the text into as many tokens.
    std::vector<QString> labels;
    if (const auto& m = session_.model(); m && (sameModel(session_.model_path(), a.report->model.path) || sameModel(session_.model_path(), b.report->model.path))) {
        const auto enc = m->tokenizer().encode(ta, false);
        if (enc.offsets.size() == la.size())
            for (const auto& span : enc.offsets) labels.push_back(QString::fromStdString(ta.substr(span.begin, span.end - span.begin)));
    }
    for (std::size_t k = 0; k < la.size(); ++k)
        deltas_.push_back({labels.empty() ? QStringLiteral("#%1").arg(k + 1) : labels[k], la[k], lb[k]});
}

void ItemPanel::render() {
    hint_->setVisible(runs_.empty());
    if (runs_.empty()) {
        text_->clear();
        return;
    }
    const auto& first = runs_.front();
    const eval::ItemRecord& it = *first.item;
    QString html = QStringLiteral("<p><b>%1</b> · item <b>%2</b></p>").arg(esc(first.suite->name), esc(it.id));
    html += tr("<p><b>Prompt</b></p>") + block(it.prompt);
    if (!it.choices.empty()) {
        // Numbered from 0, as the report's answer and predicted indices are.
        html += tr("<p><b>Choices</b> (the reference in bold)</p><p>");
        for (std::size_t k = 0; k < it.choices.size(); ++k) {
            const QString line = QStringLiteral("%1&nbsp;&nbsp;%2").arg(k).arg(esc(it.choices[k].text));
            html += (static_cast<int>(k) == it.answer ? QStringLiteral("<b>%1</b>").arg(line) : line) + QStringLiteral("<br>");
        }
        html += QStringLiteral("</p>");
    } else if (first.suite->kind != "perplexity") {
        std::vector<std::string> refs = it.references;
        if (refs.empty() && !it.target.empty()) refs.push_back(it.target);
        html += tr("<p><b>Reference</b></p>");
        for (const auto& r : refs) html += block(r);
        if (refs.empty()) html += tr("<p><i>none</i></p>");
    }
    for (const auto& r : runs_) {
        html += QStringLiteral("<p><b>%1</b></p>").arg(r.label.toHtmlEscaped());
        if (!r.item->choices.empty()) {
            html += tr("<p>answered choice %1: %2</p>").arg(r.item->predicted).arg(esc(answerOf(*r.item)));
        } else if (r.suite->kind != "perplexity") {
            html += block(r.item->response);
            const std::string& stop = r.item->stop_reason;
            if (!stop.empty()) html += tr("<p><small>stopped: %1</small></p>").arg(stop == "eos" ? tr("the end-of-text token") : esc(stop));
        }
        QStringList values;
        for (const auto& [name, value] : r.item->metrics) values << QStringLiteral("%1 = %2").arg(esc(name)).arg(value, 0, 'g', 4);
        html += QStringLiteral("<p><small>%1</small></p>").arg(values.join(QStringLiteral(" · ")));
    }
    if (runs_.size() >= 2) {
        html += tr("<p><b>log p, %1 − %2</b> (blue: higher in the second, red: lower)</p>").arg(runs_[1].label.toHtmlEscaped(), runs_[0].label.toHtmlEscaped());
        if (deltas_.empty()) html += QStringLiteral("<p><i>%1</i></p>").arg(delta_problem_.toHtmlEscaped());
        QString strip;
        double total = 0;
        for (const auto& d : deltas_) {
            const double diff = d.second - d.first;
            total += diff;
            strip += QStringLiteral("<span style=\"background-color:%1;color:#000000\" title=\"%2 → %3 (Δ %4)\">%5</span> ")
                         .arg(deltaColour(diff)).arg(d.first, 0, 'f', 3).arg(d.second, 0, 'f', 3).arg(diff, 0, 'f', 3)
                         .arg(tokenText(d.token.toStdString()).toHtmlEscaped());
        }
        if (!deltas_.empty()) {
            html += QStringLiteral("<p>%1</p>").arg(strip);
            html += QStringLiteral("<table cellspacing=\"0\" cellpadding=\"2\"><tr><th align=\"left\">%1</th><th>%2</th><th>%3</th><th>Δ</th></tr>")
                        .arg(it.choices.empty() ? tr("token") : tr("choice"), tr("first"), tr("second"));
            for (const auto& d : deltas_)
                html += QStringLiteral("<tr><td>%1</td><td align=\"right\">%2</td><td align=\"right\">%3</td><td align=\"right\">%4</td></tr>")
                            .arg(tokenText(d.token.toStdString()).toHtmlEscaped()).arg(d.first, 0, 'f', 3).arg(d.second, 0, 'f', 3).arg(d.second - d.first, 0, 'f', 3);
            html += QStringLiteral("</table>");
            if (it.choices.empty()) html += tr("<p><small>sum of Δ: %1 nats</small></p>").arg(total, 0, 'f', 3);
        }
    }
    text_->setHtml(html);
}

ItemExplanation ItemPanel::explanation(const QString& method) const {
    ItemExplanation e;
    e.method = method;
    if (runs_.empty()) return e;
    const eval::ItemRecord& it = *runs_.front().item;
    e.prompt = QString::fromStdString(it.prompt);
    const std::string reference = referenceOf(it);
    // Choices are scored after a space the suite puts between prompt and choice; the Inspector's target is the text
    // that follows the prompt, as the Run view's "inspect" gives it.
    const QString lead = it.choices.empty() ? QString() : QStringLiteral(" ");
    e.target = lead + QString::fromStdString(reference);
    // The contrast: the answer of the run that differs from the reference (the second run's first, as Compare shows
    // a regression there).
    for (auto r = runs_.rbegin(); r != runs_.rend(); ++r) {
        const std::string answer = answerOf(*r->item);
        if (!answer.empty() && answer != reference) {
            e.contrast = lead + QString::fromStdString(answer);
            break;
        }
    }
    // Model B: a run's model other than the open one.
    for (const auto& r : runs_)
        if (!sameModel(session_.model_path(), r.report->model.path)) {
            e.other_model = QString::fromStdString(r.report->model.path);
            break;
        }
    return e;
}

void ItemPanel::refreshButtons() {
    bool made = false;  // the open model made one of the runs
    for (const auto& r : runs_) made = made || sameModel(session_.model_path(), r.report->model.path);
    const QString why = runs_.empty() ? tr("Select an item first")
                        : !made      ? tr("Open the model of one of these runs first (%1)").arg(QString::fromStdString(runs_.front().report->model.path))
                                     : QString();
    for (auto* b : {ig_, shap_, patching_}) {
        b->setEnabled(why.isEmpty());
        b->setToolTip(why.isEmpty() ? tr("Fill the Inspector with the prompt, the reference as target and the answer as contrast, and run it "
                                         "(in both models when the runs' models differ)")
                                    : why);
    }
}

}  // namespace lmwb::gui

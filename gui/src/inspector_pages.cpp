// The inspector's attention, attribution, uncertainty and calibration pages.
#include "inspector_pages.h"
#include "method_agreement.h"

#include <QComboBox>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QScopedValueRollback>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QTextBrowser>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "head_grid.h"
#include "inspector.h"
#include "item_models.h"
#include "lmwb/statistics.h"
#include "plots.h"
#include "session.h"

namespace lmwb::gui {

namespace {

// Long inputs: every map is kept in at most kDisplayCells x kDisplayCells cells of tokens (memory), and a view of
// at most kDisplayCells tokens is computed at token resolution for the layer on screen.
constexpr int kDisplayCells = 256;
enum HeadChoice { kMean = 0, kMax = 1, kRollout = 2, kFirstHead = 3 };  // the head combo: then one entry per head

}  // namespace

// --- Attention ---------------------------------------------------------------------------------------------------

AttentionPage::AttentionPage(InspectorView& inspector) : InspectorPage(inspector) {
    auto* av = new QVBoxLayout(this);
    auto* ah = new QHBoxLayout;
    layer_ = new QComboBox;
    head_ = new QComboBox;
    ah->addWidget(new QLabel(tr("Layer")));
    ah->addWidget(layer_);
    ah->addWidget(new QLabel(tr("Head")));
    ah->addWidget(head_);
    ah->addSpacing(16);
    ah->addWidget(new QLabel(tr("Tokens")));
    view_first_ = new QSpinBox;
    view_last_ = new QSpinBox;
    ah->addWidget(view_first_);
    ah->addWidget(new QLabel(QStringLiteral("–")));
    ah->addWidget(view_last_);
    auto* reset = new QPushButton(tr("Reset view"));
    ah->addWidget(reset);
    block_note_ = new QLabel;
    ah->addWidget(block_note_, 1);
    av->addLayout(ah);
    map_ = new Heatmap;
    map_->setToolTip(tr("Wheel: zoom; drag: pan; right-click: reset view or export"));
    av->addWidget(map_, 1);
    keys_ = new QTextBrowser;
    keys_->setMinimumHeight(36);  // two lines of text: the page keeps fitting a 1280 x 720 window
    keys_->setMaximumHeight(64);
    av->addWidget(keys_);
    connect(map_, &Heatmap::cellHovered, this, [this](int row, int) {
        if (!keys_pinned_) showKeys(row);
    });
    connect(map_, &QCustomPlot::plottableClick, this, [this](QCPAbstractPlottable*, int, QMouseEvent* e) {
        const int row = map_->cellAt(e->position()).first;
        keys_pinned_ = !(keys_pinned_ && row == keys_row_);
        showKeys(row);
    });
    zoom_timer_ = new QTimer(this);
    zoom_timer_->setSingleShot(true);
    zoom_timer_->setInterval(300);
    connect(zoom_timer_, &QTimer::timeout, this, [this] {
        const auto [a, z] = visibleTokens();
        if (maps_ && !showing_window_ && z - a + 1 <= kDisplayCells) showTokens(a, z);
    });
    // The token-range selector and the map's own zoom follow each other.
    auto apply_range = [this] { showTokens(view_first_->value(), view_last_->value()); };
    connect(view_first_, &QSpinBox::editingFinished, this, apply_range);
    connect(view_last_, &QSpinBox::editingFinished, this, apply_range);
    connect(reset, &QPushButton::clicked, this, [this] {
        want_window_ = false;
        show();
    });
    connect(map_, &Heatmap::viewChanged, this, &AttentionPage::viewMoved);
    connect(layer_, &QComboBox::currentIndexChanged, this, &AttentionPage::show);
    connect(head_, &QComboBox::currentIndexChanged, this, &AttentionPage::show);
}

void AttentionPage::clear() {
    maps_.reset();
    keys_pinned_ = false;
    keys_html_.clear();
    keys_->clear();
    window_.reset();
    want_window_ = showing_window_ = false;
    layer_->clear();
    head_->clear();
    block_note_->clear();
    map_->setEmpty(tr("No attention map yet.\nType a prompt (or open a result row in Run) and press Attention (%1).").arg(shortcutOf("attention")));
}

void AttentionPage::updateStale() { map_->setStale(isStale() ? staleText(maps_for_, currentInputs(), "attention") : QString()); }

void AttentionPage::run(const std::string&) {
    auto model = session().model();
    const std::string text = (inspector_.prompt() + inspector_.target()).toStdString();
    const PageInputs in = currentInputs();
    startJob(QStringLiteral("attention"), tr("Attention"), [this, model, text, in](JobContext& ctx) -> JobRunner::Apply {
        auto maps = std::make_shared<const attr::AttentionMaps>(attr::attention_maps(*model, text, -1, -1, kDisplayCells, ctx.control));
        return [this, maps, in, text] {
            maps_ = maps;
            maps_text_ = text;
            maps_for_ = in;
            window_.reset();
            want_window_ = showing_window_ = false;
            {
                const QSignalBlocker b1(layer_), b2(head_);
                layer_->clear();
                for (int l = 0; l < maps->layers; ++l) layer_->addItem(QString::number(l));
                layer_->setCurrentIndex(maps->layers - 1);
                head_->clear();
                head_->addItems({tr("mean"), tr("max"), tr("rollout")});
                for (int h = 0; h < maps->heads; ++h) head_->addItem(tr("head %1").arg(h));
            }
            inspector_.setDoneDetail(tr("%1 tokens, %2 layers, %3 heads").arg(maps->length).arg(maps->layers).arg(maps->heads));
            inspector_.headGrid()->setMaps(maps);
            show();
            inspector_.updateStaleness();
        };
    });
}

void AttentionPage::selectLayer(int layer) { layer_->setCurrentIndex(layer); }
void AttentionPage::selectHead(int index) { head_->setCurrentIndex(index); }

int AttentionPage::block() const { return maps_ ? std::max(1, maps_->block) : 1; }

std::pair<int, int> AttentionPage::visibleTokens() const {
    if (!maps_) return {0, -1};
    const auto [a, z] = map_->visibleColumns();
    if (showing_window_) return {window_->first + a, window_->first + z};
    if (head_->currentIndex() == kRollout) return {a, z};  // rollout is at token resolution
    const int b = block();
    return {a * b, std::min(maps_->length - 1, (z + 1) * b - 1)};
}

void AttentionPage::viewMoved() {
    if (!maps_ || redrawing_) return;
    const auto [a, z] = visibleTokens();
    {
        const QSignalBlocker b1(view_first_), b2(view_last_);
        view_first_->setValue(a);
        view_last_->setValue(z);
    }
    if (showing_window_) {
        want_first_ = a, want_last_ = z;
    } else if (block() > 1 && head_->currentIndex() != kRollout) {
        zoom_timer_->start();  // zooming into the cells: token resolution once the wheel rests
    }
}

void AttentionPage::showTokens(int first, int last) {
    if (!maps_) return;
    first = std::clamp(first, 0, maps_->length - 1);
    last = std::clamp(last, first, maps_->length - 1);
    want_first_ = first, want_last_ = last;
    want_window_ = block() > 1 && head_->currentIndex() != kRollout && last - first + 1 <= kDisplayCells;
    if (want_window_) return show();
    if (showing_window_) show();  // back to the cells, then zoom them
    const int b = head_->currentIndex() == kRollout ? 1 : block();
    map_->setView(first / b, last / b);
}

void AttentionPage::requestWindow() {
    const int L = std::max(0, layer_->currentIndex()), T = maps_->length;
    // kDisplayCells tokens around what is asked, so that panning stays at token resolution.
    int first = std::max(0, (want_first_ + want_last_) / 2 - kDisplayCells / 2);
    const int last = std::min(T - 1, first + kDisplayCells - 1);
    first = std::max(0, std::min(first, last - kDisplayCells + 1));
    if (pending_ == std::make_tuple(L, first, last)) return;
    pending_ = {L, first, last};
    auto model = session().model();
    auto maps = maps_;
    const std::string text = maps_text_;
    startJob(QStringLiteral("attention-window"), tr("Attention at token resolution"),
             [this, model, maps, text, L, first, last](JobContext& ctx) -> JobRunner::Apply {
                 auto window = std::make_shared<const attr::AttentionWindow>(attr::attention_window(*model, text, L, first, last, ctx.control));
                 return [this, maps, window] {
                     if (pending_ == std::make_tuple(window->layer, window->first, window->last)) pending_ = {-1, -1, -1};
                     if (maps != maps_) return;  // another text since
                     window_ = window;
                     inspector_.setDoneDetail(tr("layer %1, tokens %2–%3").arg(window->layer).arg(window->first).arg(window->last));
                     show();
                 };
             });
}

void AttentionPage::showKeys(int row) {
    keys_row_ = row;
    if (!maps_ || map_->isEmpty() || row < 0 || row >= map_->rows()) {
        keys_row_ = -1;
        keys_html_ = tr("<i>Hover a query row of the map: its attention over the keys shades the text (bertviz's view); a click pins it.</i>");
        keys_->setHtml(keys_html_);
        return;
    }
    // Which tokens a row and a column of the map on screen stand for: token resolution (a window, or a short input),
    // or cells of `b` tokens.
    const int T = maps_->length, b = showing_window_ || head_->currentIndex() == kRollout ? 1 : block();
    const int offset = showing_window_ ? window_->first : 0;
    const int q0 = offset + row * b, q1 = std::min(T, offset + (row + 1) * b) - 1;
    const auto [c0, c1] = map_->visibleColumns();
    const int t0 = offset + c0 * b, t1 = std::min(T - 1, offset + (c1 + 1) * b - 1);
    double top = 0;
    for (int c = c0; c <= c1; ++c)
        if (std::isfinite(map_->value(row, c))) top = std::max(top, map_->value(row, c));
    QString html = tr("<b>Query %1</b> (%2) attends to: ").arg(q0 == q1 ? QString::number(q0) : tr("%1–%2").arg(q0).arg(q1),
                                                                   keys_pinned_ ? tr("pinned; click the row again to free it") : tr("hover"));
    for (int t = t0; t <= t1; ++t) {
        const QString text = tokenText(maps_->tokens[static_cast<std::size_t>(t)].text);
        if (t >= q0 && t <= q1) {
            html += QStringLiteral("<span style=\"text-decoration:underline;font-weight:bold\">%1</span>").arg(text.toHtmlEscaped());
            continue;
        }
        const double v = map_->value(row, (t - offset) / b);
        if (!std::isfinite(v) || (t > q1 && v == 0)) {  // a key this query cannot see (masked: the causal mask, a window)
            html += QStringLiteral("<span style=\"color:#888888\">%1</span>").arg(text.toHtmlEscaped());
            continue;
        }
        html += shadedToken(text, top > 0 ? v / top : 0, tr("key %1 “%2”: %3").arg(t).arg(text).arg(v, 0, 'g', 4));
    }
    keys_html_ = html;
    keys_->setHtml(html);
}

void AttentionPage::show() {
    if (!maps_ || maps_->length == 0) return;
    const int T = maps_->length, L = std::max(0, layer_->currentIndex()), mode = std::max(0, head_->currentIndex());
    {
        const QSignalBlocker b1(view_first_), b2(view_last_);
        view_first_->setRange(0, T - 1);
        view_last_->setRange(0, T - 1);
    }
    const QString head = mode == kMean ? tr("mean of heads") : mode == kMax ? tr("max of heads") : mode == kRollout ? tr("rollout") : tr("head %1").arg(mode - kFirstHead);
    map_->setTitle(tr("Attention · layer %1 · %2 · %3").arg(L).arg(head, QFileInfo(session().model_path()).fileName()));
    std::vector<double> values;
    QStringList labels;
    const QScopedValueRollback<bool> guard(redrawing_, true);
    showing_window_ = false;
    if (mode == kRollout) {
        block_note_->clear();
        if (maps_->rollout.empty()) {
            map_->setEmpty(tr("Rollout multiplies every layer's whole map: inputs of up to %L1 tokens (this one has %L2).")
                               .arg(attr::AttentionMaps::kRolloutTokens).arg(T));
            emit inspector_.attentionShown();
            return;
        }
        values = maps_->rollout;
        for (const auto& t : maps_->tokens) labels << tokenText(t.text);
        map_->setMatrix(T, T, values, labels, labels, false, tr("query"), tr("key"), {0, true, true});
    } else if (want_window_ && window_ && window_->layer == L && window_->first <= want_first_ && want_last_ <= window_->last) {
        const auto W = static_cast<std::size_t>(window_->width());
        const float* src = mode == kMean ? window_->mean.data() : mode == kMax ? window_->max.data()
                                                                              : window_->head_values.data() + static_cast<std::size_t>(mode - kFirstHead) * W * W;
        values.assign(src, src + W * W);
        for (int i = window_->first; i <= window_->last; ++i) labels << tokenText(maps_->tokens[static_cast<std::size_t>(i)].text);
        map_->setMatrix(static_cast<int>(W), static_cast<int>(W), values, labels, labels, false, tr("query"), tr("key"), {window_->first, true, true});
        showing_window_ = true;
        map_->setView(want_first_ - window_->first, want_last_ - window_->first);
        block_note_->setText(tr("tokens %1–%2 at token resolution · Reset view: all %3").arg(window_->first).arg(window_->last).arg(T));
    } else {
        const int d = maps_->display, b = maps_->block;
        const std::size_t DD = static_cast<std::size_t>(d) * static_cast<std::size_t>(d);
        const float* src = mode == kMean ? maps_->mean_display.data() + static_cast<std::size_t>(L) * DD
                         : mode == kMax  ? maps_->max_display.data() + static_cast<std::size_t>(L) * DD
                                         : maps_->heads_display.data() + (static_cast<std::size_t>(L) * static_cast<std::size_t>(maps_->heads) +
                                                                          static_cast<std::size_t>(mode - kFirstHead)) * DD;
        values.assign(src, src + DD);
        for (int i = 0; i < d; ++i) {
            const int first = i * b, last = std::min(T, (i + 1) * b) - 1;
            labels << (b == 1 ? tokenText(maps_->tokens[static_cast<std::size_t>(first)].text) : tr("%1–%2").arg(first).arg(last));
        }
        map_->setMatrix(d, d, values, labels, labels, false, tr("query"), tr("key"), {0, b == 1, b == 1});  // else labels are ranges
        if (want_window_) {
            map_->setView(want_first_ / b, want_last_ / b);
            block_note_->setText(tr("computing tokens %1–%2 of layer %3 at token resolution…").arg(want_first_).arg(want_last_).arg(L));
            requestWindow();
        } else {
            block_note_->setText(b > 1 ? tr("%1 tokens in cells of %2 (means over unmasked positions): zoom to %3 tokens or fewer for token resolution")
                                             .arg(T).arg(b).arg(kDisplayCells)
                                       : QString());
        }
    }
    const auto [a, z] = visibleTokens();
    {
        const QSignalBlocker b1(view_first_), b2(view_last_);
        view_first_->setValue(a);
        view_last_->setValue(z);
    }
    keys_pinned_ = false;
    showKeys(-1);
    emit inspector_.attentionShown();
}

// --- Attribution -------------------------------------------------------------------------------------------------

AttributionPage::AttributionPage(InspectorView& inspector) : InspectorPage(inspector) {
    auto* atv = new QVBoxLayout(this);
    delta_ = new QLabel;
    delta_->setWordWrap(true);
    atv->addWidget(delta_);
    agreement_ = new MethodAgreementTable;
    atv->addWidget(agreement_);
    auto* asplit = new QSplitter(Qt::Horizontal);
    bars_ = new BarChart;
    matrix_ = new Heatmap;
    asplit->addWidget(bars_);
    asplit->addWidget(matrix_);
    atv->addWidget(asplit, 1);
}

void AttributionPage::clear() {
    result_.reset();
    by_method_.clear();
    agreement_->setResults({});
    bars_->setEmpty(tr("No attribution yet.\nPress Integrated gradients (%1) or SHAP (%2).").arg(shortcutOf("ig"), shortcutOf("shap")));
    matrix_->setEmpty(tr("The [target × prompt] attribution matrix appears here."));
    delta_->clear();
}

// The settings a method's result depends on, for its staleness.
QString AttributionPage::settingsOf(bool shap) const {
    const QString s = shap ? QStringLiteral("shap %1, %2, budget %3")
                                 .arg(inspector_.shapAlgorithm())
                                 .arg(inspector_.shapWords() ? QStringLiteral("words") : QStringLiteral("tokens"))
                                 .arg(inspector_.shapBudget())
                           : QStringLiteral("steps %1, baseline %2").arg(inspector_.steps()).arg(inspector_.baselineIndex());
    return s + QStringLiteral(", contrast ") + inspector_.contrast();
}

PageInputs AttributionPage::currentInputs() const { return inputs(settingsOf(result_ && result_->method == "shap")); }

QString AttributionPage::staleNote() const {
    return isStale() ? staleText(result_for_, currentInputs(), result_->method == "shap" ? "shap" : "ig") : QString();
}

void AttributionPage::updateStale() {
    if (!result_) return;
    const QString note = staleNote();
    bars_->setStale(note);
    matrix_->setStale(note);
}

void AttributionPage::run(const std::string& method) {
    attr::Options o;
    o.method = method == "shap" ? attr::Method::Shap : attr::Method::IntegratedGradients;
    o.steps = inspector_.steps();
    o.generated_target = inspector_.target().isEmpty();
    o.baseline_token = inspector_.baselineToken();
    o.shap = static_cast<attr::Options::ShapAlgorithm>(inspector_.shapAlgorithm());
    o.shap_words = inspector_.shapWords();
    o.budget = static_cast<std::size_t>(inspector_.shapBudget());
    o.contrast = inspector_.contrast().toStdString();
    auto model = session().model();
    const std::string prompt = inspector_.prompt().toStdString(), target = inspector_.target().toStdString();
    const PageInputs in = inputs(settingsOf(o.method == attr::Method::Shap));
    const QString title = o.method == attr::Method::Shap ? tr("SHAP") : tr("Integrated gradients");
    startJob(QStringLiteral("attribution"), title, [this, model, prompt, target, o, in](JobContext& ctx) mutable -> JobRunner::Apply {
        o.control = ctx.control;
        auto r = std::make_shared<const attr::Result>(attr::explain(*model, prompt, target, o));
        return [this, r, in] {
            result_ = r;
            result_for_ = in;
            by_method_[r->method] = r;
            show();
        };
    });
}

QString AttributionPage::tokenHtml() const {
    QString html;
    if (!result_) return html;
    double scale = 0;
    for (double v : result_->scores) scale = std::max(scale, std::fabs(v));
    for (std::size_t i = 0; i < result_->prompt_tokens.size(); ++i) {
        double s = scale > 0 ? result_->scores[i] / scale : 0;
        const QString label = tokenText(result_->prompt_tokens[i].text);
        html += shadedToken(label, s, tr("“%1” (token %2, id %3): score %4").arg(label).arg(i).arg(result_->prompt_tokens[i].id)
                                          .arg(result_->scores[i], 0, 'g', 4));
    }
    html += QStringLiteral(" <b>→</b> ");
    for (const auto& t : result_->target_tokens)
        html += QStringLiteral("<span style=\"text-decoration:underline\">%1</span>").arg(tokenText(t.text).toHtmlEscaped());
    return html;
}

void AttributionPage::show() {
    const auto& r = *result_;
    QStringList prompt_labels, target_labels;
    for (const auto& t : r.prompt_tokens) prompt_labels << tokenText(t.text);
    for (const auto& t : r.target_tokens) target_labels << tokenText(t.text);
    for (const auto& t : r.contrast_tokens) target_labels << QStringLiteral("−") + tokenText(t.text);  // the foil's rows, negated
    const QString objective = r.contrast.empty() ? tr("log p(“%1” | prompt)").arg(tokenText(r.target))
                                                 : tr("log p(“%1”) − log p(“%2”)").arg(tokenText(r.target), tokenText(r.contrast));
    const QString what = tr("%1 · %2 · %3").arg(QString::fromStdString(r.method), objective, QFileInfo(session().model_path()).fileName());
    bars_->setTitle(what);
    matrix_->setTitle(what);
    bars_->setBars(prompt_labels, r.scores, QString::fromStdString(r.method) + tr(" score"));
    if (!r.matrix.empty())
        matrix_->setMatrix(static_cast<int>(target_labels.size()), static_cast<int>(r.prompt_tokens.size()), r.matrix, target_labels,
                           prompt_labels, true, tr("output"), tr("prompt"));
    double gap = r.target_logprob - r.baseline_logprob;
    QString text = tr("%1 — %2 = %3. %4. %5 model evaluations.")
                       .arg(QString::fromStdString(r.method), r.contrast.empty() ? tr("log p(target | prompt)") : tr("log p(target) − log p(foil)"))
                       .arg(r.target_logprob, 0, 'g', 5)
                       .arg(QString::fromStdString(r.details))
                       .arg(r.evaluations);
    if (std::isfinite(r.delta))
        text += r.method == "shap" ? tr(" Efficiency gap %1 (f(all) − f(none) = %2).").arg(r.delta, 0, 'g', 3).arg(gap, 0, 'g', 4)
                                   : tr(" Convergence delta %1 (F(x) − F(baseline) = %2).").arg(r.delta, 0, 'g', 3).arg(gap, 0, 'g', 4);
    for (const auto& w : r.warnings) text += tr(" <b>Warning</b>: %1.").arg(QString::fromStdString(w).toHtmlEscaped());
    delta_->setText(text);
    inspector_.setDoneDetail(tr("%1 model evaluations").arg(r.evaluations));
    // The other methods' last results for this very prompt, target and contrast stand beside it.
    std::vector<std::shared_ptr<const attr::Result>> same{result_};
    for (const auto& [name, other] : by_method_)
        if (other != result_ && other->prompt == r.prompt && other->target == r.target && other->contrast == r.contrast &&
            other->prompt_tokens.size() == r.prompt_tokens.size())
            same.push_back(other);
    agreement_->setResults(same);
    inspector_.tabs()->setCurrentWidget(this);
    inspector_.updateStaleness();
}

// --- Uncertainty -------------------------------------------------------------------------------------------------

UncertaintyPage::UncertaintyPage(InspectorView& inspector) : InspectorPage(inspector) {
    auto* uv = new QVBoxLayout(this);
    numbers_ = new QLabel;
    numbers_->setWordWrap(true);
    uv->addWidget(numbers_);
    auto* usplit = new QSplitter(Qt::Horizontal);
    // Ecco's view: one bar per generated token (its entropy), and each token's top alternatives with probabilities.
    auto* greedy = new QSplitter(Qt::Vertical);
    entropy_ = new BarChart;
    entropy_->setToolTip(tr("Each generated token's entropy H, in nats; hover a bar for its alternatives"));
    alternatives_ = new AlternativesModel(this);
    alternatives_table_ = new QTableView;
    alternatives_table_->setModel(alternatives_);
    alternatives_table_->verticalHeader()->hide();
    greedy->addWidget(entropy_);
    greedy->addWidget(alternatives_table_);
    // The chart first: its rotated token labels need height of their own before the bars get any.
    entropy_->setMinimumHeight(160);
    greedy->setStretchFactor(0, 3);
    greedy->setStretchFactor(1, 2);
    greedy->setChildrenCollapsible(false);
    mass_ = new BarChart;
    answers_ = new AnswersModel(this);
    answers_table_ = new QTableView;
    answers_table_->setModel(answers_);
    answers_table_->verticalHeader()->hide();
    answers_table_->horizontalHeader()->setStretchLastSection(true);
    answers_table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);  // every column readable in a narrow pane
    usplit->addWidget(greedy);
    usplit->addWidget(mass_);
    usplit->addWidget(answers_table_);
    usplit->setStretchFactor(0, 5);  // the per-token view is the page's subject; the answers table is short
    usplit->setStretchFactor(1, 2);
    usplit->setStretchFactor(2, 2);
    uv->addWidget(usplit, 1);
}

void UncertaintyPage::clear() {
    result_.reset();
    entropy_->setEmpty(tr("No samples yet.\nPress Sample (%1): the greedy answer's per-token entropy appears here.").arg(shortcutOf("sample")));
    alternatives_->setSteps({});
    mass_->setEmpty(tr("Sampled answers and their probability mass appear here."));
    answers_->setAnswers({});
    numbers_->clear();
}

PageInputs UncertaintyPage::currentInputs() const { return inputs(QStringLiteral("samples %1").arg(inspector_.samples())); }

void UncertaintyPage::updateStale() {
    if (!result_) return;
    const QString note = isStale() ? staleText(result_for_, currentInputs(), "sample") : QString();
    entropy_->setStale(note);
    mass_->setStale(note);
}

void UncertaintyPage::run(const std::string&) {
    attr::UncertaintyOptions o;
    o.samples = inspector_.samples();
    o.max_new_tokens = 16;
    auto model = session().model();
    const std::string prompt = inspector_.prompt().toStdString();
    const PageInputs in = currentInputs();
    startJob(QStringLiteral("uncertainty"), tr("Sampling"), [this, model, prompt, o, in](JobContext& ctx) mutable -> JobRunner::Apply {
        o.control = ctx.control;
        auto r = std::make_shared<const attr::UncertaintyResult>(attr::sample_uncertainty(*model, prompt, o));
        return [this, r, in] {
            result_ = r;
            result_for_ = in;
            show();
        };
    });
}

void UncertaintyPage::show() {
    const auto& r = *result_;
    QStringList tokens, tips;
    std::vector<double> entropy;
    for (const auto& step : r.greedy) {
        tokens << tokenText(step.text);
        entropy.push_back(step.entropy);
        QString tip = tr("“%1”: p %2, entropy %3 nats").arg(tokenText(step.text).toHtmlEscaped()).arg(std::exp(step.logprob), 0, 'f', 3).arg(step.entropy, 0, 'f', 3);
        for (const auto& [text, lp] : step.alternatives) tip += QStringLiteral("<br>%1  %2").arg(tokenText(text).toHtmlEscaped()).arg(std::exp(lp), 0, 'f', 3);
        tips << tip;
    }
    entropy_->setTitle(tr("Entropy of each greedy token · %1").arg(QFileInfo(session().model_path()).fileName()));
    mass_->setTitle(tr("Sampled answers · %1 samples").arg(r.samples.size()));
    entropy_->setBars(tokens, entropy, tr("H (nats)"));
    entropy_->setBarTips(tips);
    alternatives_->setSteps(r.greedy);
    fitColumns(alternatives_table_);
    QStringList labels;
    std::vector<double> mass;
    for (const auto& a : r.answers) labels << QString::fromStdString(a.answer), mass.push_back(a.probability);
    mass_->setBars(labels, mass, tr("probability mass"));
    answers_->setAnswers(r.answers);
    numbers_->setText(tr("Greedy: “%1”. %2 samples in %3 clusters; self-consistency %4; semantic entropy %5 nats "
                         "(discrete %6); predictive entropy %7 nats.")
                          .arg(QString::fromStdString(r.greedy_text).toHtmlEscaped())
                          .arg(r.samples.size())
                          .arg(r.clusters)
                          .arg(r.self_consistency, 0, 'f', 2)
                          .arg(r.semantic_entropy, 0, 'f', 3)
                          .arg(r.discrete_semantic_entropy, 0, 'f', 3)
                          .arg(r.predictive_entropy, 0, 'f', 3));
    inspector_.setDoneDetail(tr("%1 samples").arg(r.samples.size()));
    inspector_.tabs()->setCurrentWidget(this);
    inspector_.updateStaleness();
}

// --- Calibration -------------------------------------------------------------------------------------------------

CalibrationPage::CalibrationPage(InspectorView& inspector) : InspectorPage(inspector) {
    auto* ch = new QHBoxLayout(this);
    confidence_ = new BarChart;
    reliability_ = new Plot;
    ch->addWidget(confidence_);
    ch->addWidget(reliability_);
    connect(&session(), &Session::reportChanged, this, &CalibrationPage::clear);
}

// The open report's calibration (there is nothing to clear it to).
void CalibrationPage::clear() {
    const QString none = session().report() ? tr("The open report (%1) has no multiple-choice suite: calibration needs per-item confidences.").arg(session().report_name())
                                         : tr("No report is open.\nRun a multiple-choice suite (Run tab, Ctrl+R) or open a report to see its calibration.");
    confidence_->setEmpty(none);
    reliability_->setEmpty(tr("The reliability diagram appears here."));
    if (!session().report()) return;
    for (const auto& s : session().report()->suites) {
        if (s.kind != "multiple_choice" || s.reliability.empty()) continue;
        // Confidence histogram in tenths, and the reliability diagram (accuracy per equal-mass bin).
        std::vector<double> hist(10, 0.0);
        QStringList hl;
        for (int b = 0; b < 10; ++b) hl << QStringLiteral("%1").arg(b / 10.0, 0, 'f', 1);
        for (const auto& it : s.items) {
            auto c = it.metrics.find("confidence");
            if (c != it.metrics.end()) hist[static_cast<std::size_t>(std::min(9, static_cast<int>(c->second * 10)))] += 1;
        }
        confidence_->setBars(hl, hist, tr("items by confidence (%1)").arg(QString::fromStdString(s.name)));
        reliability_->setTitle(tr("Reliability · %1 · %2").arg(QString::fromStdString(s.name), session().report_name()));
        confidence_->setTitle(tr("Confidence · %1 · %2").arg(QString::fromStdString(s.name), session().report_name()));
        // The classic diagram: ten equal-width bins inside [0, 1], each bar its accuracy, labelled with its item
        // count, the bin's mean confidence as a dot (its gap to the diagonal is the miscalibration). The report's own
        // equal-mass bins (behind ECE) crowd near 1 for a strong model: they are listed in the tooltip.
        std::vector<double> conf, correct;
        for (const auto& it : s.items) {
            auto c = it.metrics.find("confidence"), a = it.metrics.find("acc");
            if (c != it.metrics.end() && a != it.metrics.end()) conf.push_back(c->second), correct.push_back(a->second);
        }
        reliability_->markFilled();
        reliability_->clearPlottables();
        reliability_->clearItems();
        auto* dots = reliability_->addGraph();
        for (const auto& b : metrics::equal_width_bins(conf, correct, 10)) {
            if (!b.count) continue;
            auto* r = new QCPItemRect(reliability_);
            r->topLeft->setCoords(b.confidence_low + 0.005, b.accuracy);
            r->bottomRight->setCoords(b.confidence_high - 0.005, 0);
            r->setBrush(QColor(0, 114, 178, 140));
            r->setPen(QPen(QColor(0, 114, 178)));
            auto* n = new QCPItemText(reliability_);
            n->position->setCoords((b.confidence_low + b.confidence_high) / 2, b.accuracy);
            n->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
            n->setText(QStringLiteral("n=%1").arg(b.count));
            dots->addData(b.mean_confidence, b.accuracy);
        }
        QString tip = tr("Equal-mass bins of the report (ECE):");
        for (const auto& b : s.reliability)
            tip += tr("\n[%1, %2]: %3 items, mean confidence %4, accuracy %5").arg(b.confidence_low, 0, 'f', 3).arg(b.confidence_high, 0, 'f', 3)
                       .arg(b.count).arg(b.mean_confidence, 0, 'f', 3).arg(b.accuracy, 0, 'f', 3);
        reliability_->setToolTip(tip);
        dots->setLineStyle(QCPGraph::lsNone);
        dots->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, QColor(230, 97, 1), 7));
        auto* diag = reliability_->addGraph();
        diag->setData(QVector<double>{0, 1}, QVector<double>{0, 1});
        diag->setPen(QPen(Qt::gray, 1, Qt::DashLine));
        reliability_->xAxis->setRange(-0.01, 1.02);  // room for a dot at confidence 1
        reliability_->yAxis->setRange(0, 1.12);
        reliability_->xAxis->setLabel(tr("confidence (%1), bins of 0.1").arg(QString::fromStdString(s.name)));
        reliability_->yAxis->setLabel(tr("accuracy"));
        reliability_->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
}

}  // namespace lmwb::gui

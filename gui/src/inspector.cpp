#include "inspector.h"

#include <QComboBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QPointer>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <cmath>

#include "circuits_view.h"
#include "head_grid.h"
#include "side_by_side_view.h"
#include "item_models.h"
#include "lens_view.h"
#include "lmwb/statistics.h"
#include "plots.h"
#include "session.h"

namespace lmwb::gui {

namespace {

constexpr int kDisplayCells = 256;  // per-head maps of longer inputs are kept in blocks of tokens (memory)

}  // namespace

InspectorView::InspectorView(Session& session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* v = new QVBoxLayout(this);
    auto* top = new QHBoxLayout;
    prompt_ = new QPlainTextEdit;
    prompt_->setPlaceholderText(tr("Prompt (or open a result row)"));
    prompt_->setMaximumHeight(70);
    target_ = new QLineEdit;
    target_->setPlaceholderText(tr("Target continuation, e.g. \" blue\" (empty: the model's own output)"));
    contrast_ = new QLineEdit;
    contrast_->setPlaceholderText(tr("Contrast (optional foil), e.g. \" Rome\": IG and SHAP explain log p(target) − log p(foil)"));
    auto* texts = new QVBoxLayout;
    texts->addWidget(prompt_);
    texts->addWidget(target_);
    texts->addWidget(contrast_);
    top->addLayout(texts, 1);
    auto* controls = new QFormLayout;
    steps_ = new QSpinBox;
    steps_->setRange(1, 4096);
    steps_->setValue(128);  // with the end-of-text baseline, converged on the bundled RMSNorm models (delta < 1%)
    baseline_ = new QComboBox;
    baseline_->addItems({tr("zero embedding"), tr("end-of-text token")});
    // The end-of-text token converges on RMSNorm / LayerNorm models where the zero embedding does not (docs).
    baseline_->setCurrentIndex(1);
    shap_algorithm_ = new QComboBox;
    shap_algorithm_->addItems({tr("auto"), tr("exact"), tr("kernel"), tr("partition")});
    samples_ = new QSpinBox;
    samples_->setRange(1, 500);
    samples_->setValue(20);
    controls->addRow(tr("IG steps"), steps_);
    controls->addRow(tr("IG baseline"), baseline_);
    controls->addRow(tr("SHAP"), shap_algorithm_);
    controls->addRow(tr("Samples"), samples_);
    top->addLayout(controls);
    auto* buttons = new QVBoxLayout;
    attention_button_ = new QPushButton(tr("Attention"));
    ig_button_ = new QPushButton(tr("Integrated gradients"));
    shap_button_ = new QPushButton(tr("SHAP"));
    sample_button_ = new QPushButton(tr("Sample"));
    lens_button_ = new QPushButton(tr("Logit lens"));
    for (auto* b : {attention_button_, ig_button_, shap_button_, sample_button_, lens_button_}) buttons->addWidget(b);
    top->addLayout(buttons);
    v->addLayout(top);
    tokens_ = new QTextBrowser;
    tokens_->setMaximumHeight(90);
    v->addWidget(tokens_);
    status_ = new QLabel;
    v->addWidget(status_);

    tabs_ = new QTabWidget;
    // Attention
    auto* att = new QWidget;
    auto* av = new QVBoxLayout(att);
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
    ah->addWidget(block_note_);
    ah->addStretch();
    av->addLayout(ah);
    attention_ = new Heatmap;
    attention_->setToolTip(tr("Wheel: zoom; drag: pan; right-click: reset view or export"));
    av->addWidget(attention_, 1);
    tabs_->addTab(att, tr("Attention"));
    // Attribution
    auto* at = new QWidget;
    auto* atv = new QVBoxLayout(at);
    delta_ = new QLabel;
    delta_->setWordWrap(true);
    atv->addWidget(delta_);
    auto* asplit = new QSplitter(Qt::Horizontal);
    bars_ = new BarChart;
    matrix_ = new Heatmap;
    asplit->addWidget(bars_);
    asplit->addWidget(matrix_);
    atv->addWidget(asplit, 1);
    tabs_->addTab(at, tr("Attribution"));
    // Uncertainty
    auto* un = new QWidget;
    auto* uv = new QVBoxLayout(un);
    uncertainty_numbers_ = new QLabel;
    uncertainty_numbers_->setWordWrap(true);
    uv->addWidget(uncertainty_numbers_);
    auto* usplit = new QSplitter(Qt::Horizontal);
    // Ecco's view: one bar per generated token (its entropy), and each token's top alternatives with probabilities.
    auto* greedy = new QSplitter(Qt::Vertical);
    entropy_ = new BarChart;
    entropy_->setToolTip(tr("Hover a bar for the token's alternatives"));
    alternatives_ = new AlternativesModel(this);
    alternatives_table_ = new QTableView;
    alternatives_table_->setModel(alternatives_);
    alternatives_table_->verticalHeader()->hide();
    greedy->addWidget(entropy_);
    greedy->addWidget(alternatives_table_);
    mass_ = new BarChart;
    answers_ = new AnswersModel(this);
    answers_table_ = new QTableView;
    answers_table_->setModel(answers_);
    answers_table_->verticalHeader()->hide();
    answers_table_->horizontalHeader()->setStretchLastSection(true);
    usplit->addWidget(greedy);
    usplit->addWidget(mass_);
    usplit->addWidget(answers_table_);
    uv->addWidget(usplit, 1);
    tabs_->addTab(un, tr("Uncertainty"));
    // Calibration of the current report's multiple-choice suite
    auto* cal = new QWidget;
    auto* ch = new QHBoxLayout(cal);
    confidence_ = new BarChart;
    reliability_ = new Plot;
    ch->addWidget(confidence_);
    ch->addWidget(reliability_);
    tabs_->addTab(cal, tr("Calibration"));
    lens_ = new LensView;
    tabs_->addTab(lens_, tr("Logit lens"));
    circuits_ = new CircuitsView;
    tabs_->addTab(circuits_, tr("Circuits"));
    generation_ = new GenerationView;
    tabs_->addTab(generation_, tr("Generated text"));
    head_grid_ = new HeadGridView;
    tabs_->addTab(head_grid_, tr("Heads"));
    connect(head_grid_, &HeadGridView::summariesRequested, this, &InspectorView::runHeadSummaries);
    connect(head_grid_->thumbnails(), &HeadThumbnails::headClicked, this, [this](int layer, int head) {
        selectLayer(layer);
        selectHead(3 + head);
        tabs_->setCurrentIndex(0);
    });
    side_by_side_ = new SideBySideView;
    tabs_->addTab(side_by_side_, tr("Side by side"));
    connect(side_by_side_, &SideBySideView::openRequested, this, [this] { openOtherModel(side_by_side_->otherModelPath()); });
    connect(side_by_side_, &SideBySideView::compareRequested, this, &InspectorView::runSideBySide);
    connect(circuits_, &CircuitsView::patchRequested, this, &InspectorView::runPatching);
    connect(circuits_, &CircuitsView::directLogitRequested, this, &InspectorView::runDirectLogit);
    connect(generation_, &GenerationView::attributeRequested, this, &InspectorView::runGeneration);
    v->addWidget(tabs_, 1);

    connect(attention_button_, &QPushButton::clicked, this, &InspectorView::runAttention);
    connect(ig_button_, &QPushButton::clicked, this, [this] { runAttribution(attr::Method::IntegratedGradients); });
    connect(shap_button_, &QPushButton::clicked, this, [this] { runAttribution(attr::Method::Shap); });
    connect(sample_button_, &QPushButton::clicked, this, &InspectorView::runUncertainty);
    connect(lens_button_, &QPushButton::clicked, this, &InspectorView::runLens);
    // The token-range selector and the map's own zoom follow each other.
    auto apply_range = [this] {
        const int b = attentionBlock();
        attention_->setView(view_first_->value() / b, view_last_->value() / b);
    };
    connect(view_first_, &QSpinBox::editingFinished, this, apply_range);
    connect(view_last_, &QSpinBox::editingFinished, this, apply_range);
    connect(reset, &QPushButton::clicked, attention_, &Heatmap::resetView);
    connect(attention_, &Heatmap::viewChanged, this, [this] {
        if (!maps_) return;
        const auto [a, z] = attention_->visibleColumns();
        const int b = attentionBlock();
        const QSignalBlocker b1(view_first_), b2(view_last_);
        view_first_->setValue(a * b);
        view_last_->setValue(std::min(maps_->length - 1, (z + 1) * b - 1));
    });
    connect(layer_, &QComboBox::currentIndexChanged, this, &InspectorView::showAttention);
    connect(head_, &QComboBox::currentIndexChanged, this, &InspectorView::showAttention);
    connect(&session_, &Session::inspectRequested, this, &InspectorView::inspectItem);
    connect(&session_, &Session::reportChanged, this, &InspectorView::showCalibration);
    connect(&session_, &Session::modelChanged, this, [this] {
        clearResults();
        refreshControls();
    });
    connect(prompt_, &QPlainTextEdit::textChanged, this, &InspectorView::updateStaleness);
    connect(target_, &QLineEdit::textChanged, this, &InspectorView::updateStaleness);
    connect(contrast_, &QLineEdit::textChanged, this, &InspectorView::updateStaleness);
    connect(circuits_, &CircuitsView::settingsChanged, this, &InspectorView::updateStaleness);
    connect(steps_, &QSpinBox::valueChanged, this, &InspectorView::updateStaleness);
    connect(samples_, &QSpinBox::valueChanged, this, &InspectorView::updateStaleness);
    connect(baseline_, &QComboBox::currentIndexChanged, this, &InspectorView::updateStaleness);
    connect(shap_algorithm_, &QComboBox::currentIndexChanged, this, &InspectorView::updateStaleness);

    // The status line follows this view's jobs to their end.
    auto& runner = session_.jobs;
    connect(&runner, &JobRunner::progress, this, [this](int id, const QString&, double, const QString& text) {
        if (auto it = jobs_.find(id); it != jobs_.end()) status_->setText(it->second + QStringLiteral(": ") + text);
    });
    auto ended = [this](int id, const QString& how) {
        auto it = jobs_.find(id);
        if (it == jobs_.end()) return;
        const QString title = it->second;
        jobs_.erase(it);
        if (jobs_.empty()) status_->setText(title + QStringLiteral(": ") + how);
    };
    connect(&runner, &JobRunner::finished, this, [this, ended](int id, const QString&) {
        ended(id, done_detail_.isEmpty() ? tr("done.") : tr("done — %1").arg(done_detail_));
    });
    connect(&runner, &JobRunner::cancelled, this, [ended](int id, const QString&) { ended(id, tr("cancelled.")); });
    connect(&runner, &JobRunner::failed, this, [ended](int id, const QString&, const QString& error) { ended(id, tr("failed — %1").arg(error)); });
    clearResults();
    refreshControls();
}

void InspectorView::startJob(const QString& kind, const QString& title, int tab, JobRunner::Work work) {
    tabs_->setCurrentIndex(tab);
    done_detail_.clear();
    status_->setText(title + QStringLiteral("…"));
    jobs_[session_.jobs.start(kind, title, std::move(work))] = title;
}

InspectorView::Inputs InspectorView::currentInputs(View view) const {
    Inputs in{session_.model_path, prompt_->toPlainText(), target_->text(), {}};
    if (view == View::Attribution) {
        if (attribution_ && attribution_->method == "shap") in.settings = QStringLiteral("shap %1").arg(shap_algorithm_->currentIndex());
        else in.settings = QStringLiteral("steps %1, baseline %2").arg(steps_->value()).arg(baseline_->currentIndex());
        in.settings += QStringLiteral(", contrast ") + contrast_->text();
    } else if (view == View::Uncertainty) {
        in.settings = QStringLiteral("samples %1").arg(samples_->value());
    } else if (view == View::Patching || view == View::DirectLogit) {
        in.settings = QStringLiteral("contrast ") + contrast_->text();
        if (view == View::Patching) in.settings += QStringLiteral(", corrupted ") + circuits_->corrupted();
    } else if (view == View::Generation) {
        in.settings = QStringLiteral("steps %1, baseline %2").arg(steps_->value()).arg(baseline_->currentIndex());
    }
    return in;
}

bool InspectorView::isStale(View view) const {
    switch (view) {
    case View::Attention: return maps_ && maps_for_ != currentInputs(view);
    case View::Attribution: return attribution_ && attribution_for_ != currentInputs(view);
    case View::Uncertainty: return uncertainty_ && uncertainty_for_ != currentInputs(view);
    case View::Patching: return has_patching_ && patching_for_ != currentInputs(view);
    case View::DirectLogit: return has_dla_ && dla_for_ != currentInputs(view);
    case View::Generation: return has_generation_ && generation_for_ != currentInputs(view);
    }
    return false;
}

namespace {
// Why a result no longer matches, and how to recompute it.
QString staleText(const InspectorView::Inputs& was, const InspectorView::Inputs& now, const QString& shortcut) {
    QStringList changed;
    if (was.prompt != now.prompt) changed << QObject::tr("prompt");
    if (was.target != now.target) changed << QObject::tr("target");
    if (was.settings != now.settings) changed << QObject::tr("settings");
    return QObject::tr("Stale: computed before the %1 changed — %2 recomputes").arg(changed.join(QStringLiteral(", ")), shortcut);
}
}  // namespace

void InspectorView::updateStaleness() {
    const auto att = currentInputs(View::Attention), attr_in = currentInputs(View::Attribution), unc = currentInputs(View::Uncertainty);
    attention_->setStale(isStale(View::Attention) ? staleText(maps_for_, att, tr("Ctrl+1")) : QString());
    circuits_->setStale(isStale(View::Patching) ? staleText(patching_for_, currentInputs(View::Patching), tr("Ctrl+6")) : QString(),
                        isStale(View::DirectLogit) ? staleText(dla_for_, currentInputs(View::DirectLogit), tr("Ctrl+7")) : QString());
    generation_->setStale(isStale(View::Generation) ? staleText(generation_for_, currentInputs(View::Generation), tr("Ctrl+8")) : QString());
    const QString attr_stale = isStale(View::Attribution) ? staleText(attribution_for_, attr_in, attribution_->method == "shap" ? tr("Ctrl+3") : tr("Ctrl+2")) : QString();
    if (attribution_) {
        bars_->setStale(attr_stale);
        matrix_->setStale(attr_stale);
    }
    const QString unc_stale = isStale(View::Uncertainty) ? staleText(uncertainty_for_, unc, tr("Ctrl+4")) : QString();
    if (uncertainty_) {
        entropy_->setStale(unc_stale);
        mass_->setStale(unc_stale);
    }
    QString html;
    if (!attribution_) {
        html = tr("<i>Tokens are shaded by their attribution after Integrated gradients (Ctrl+2) or SHAP (Ctrl+3).</i>");
    } else {
        if (!attr_stale.isEmpty()) html = QStringLiteral("<p style=\"background-color:#ffecb3;color:#3c2800\">%1</p>").arg(attr_stale.toHtmlEscaped());
        html += QStringLiteral("<p>") + tokenHtml() + QStringLiteral("</p>");
    }
    tokens_->setHtml(html);
}

void InspectorView::clearResults() {
    maps_.reset();
    attribution_.reset();
    uncertainty_.reset();
    layer_->clear();
    head_->clear();
    attention_->setEmpty(tr("No attention map yet.\nType a prompt (or open a result row in Run) and press Attention (Ctrl+1)."));
    bars_->setEmpty(tr("No attribution yet.\nPress Integrated gradients (Ctrl+2) or SHAP (Ctrl+3)."));
    matrix_->setEmpty(tr("The [target × prompt] attribution matrix appears here."));
    delta_->clear();
    entropy_->setEmpty(tr("No samples yet.\nPress Sample (Ctrl+4): the greedy answer's per-token entropy appears here."));
    alternatives_->setSteps({});
    lens_->clear(tr("The logit lens appears here: press Logit lens (Ctrl+5) to read every layer through the final norm and the unembedding."));
    circuits_->clear();
    generation_->clear();
    head_grid_->clear();
    side_by_side_->clear();
    has_patching_ = has_dla_ = has_generation_ = false;
    mass_->setEmpty(tr("Sampled answers and their probability mass appear here."));
    answers_->setAnswers({});
    uncertainty_numbers_->clear();
    updateStaleness();
    showCalibration();
}

void InspectorView::refreshControls() {
    bool on = static_cast<bool>(session_.model);
    for (auto* b : {attention_button_, ig_button_, shap_button_, sample_button_, lens_button_}) b->setEnabled(on);
    circuits_->setButtonsEnabled(on);
    side_by_side_->setButtonsEnabled(on, static_cast<bool>(session_.other_model));
    head_grid_->setButtonEnabled(on);
    generation_->setButtonEnabled(on);
}

void InspectorView::setPrompt(const QString& prompt, const QString& target) {
    prompt_->setPlainText(prompt);
    target_->setText(target);
}

QString InspectorView::prompt() const { return prompt_->toPlainText(); }
void InspectorView::setContrast(const QString& foil) { contrast_->setText(foil); }
QString InspectorView::target() const { return target_->text(); }

void InspectorView::inspectItem(int suite, int row) {
    if (!session_.report || suite < 0 || suite >= static_cast<int>(session_.report->suites.size())) return;
    const auto& s = session_.report->suites[static_cast<std::size_t>(suite)];
    if (row < 0 || row >= static_cast<int>(s.items.size())) return;
    const auto& it = s.items[static_cast<std::size_t>(row)];
    QString target = QString::fromStdString(it.choices.empty() ? (it.response.empty() ? it.target : it.response) : " " + it.target);
    if (s.kind == "perplexity") target.clear();
    setPrompt(QString::fromStdString(it.prompt), target);
    status_->setText(tr("%1 · item %2").arg(QString::fromStdString(s.name), QString::fromStdString(it.id)));
    runAttention();
}

void InspectorView::runAttention() {
    if (!session_.model) return;
    auto model = session_.model;
    std::string text = (prompt_->toPlainText() + target_->text()).toStdString();
    QPointer<InspectorView> self(this);
    const Inputs inputs = currentInputs(View::Attention);
    startJob(QStringLiteral("attention"), tr("Attention"), 0, [model, text, self, inputs](JobContext& ctx) -> JobRunner::Apply {
        auto maps = std::make_shared<const attr::AttentionMaps>(attr::attention_maps(*model, text, -1, -1, kDisplayCells, ctx.control));
        return [self, maps, inputs] {
            if (!self || inputs.model != self->session_.model_path) return;  // another model opened meanwhile
            self->maps_ = maps;
            self->maps_for_ = inputs;
            self->layer_->blockSignals(true);
            self->head_->blockSignals(true);
            self->layer_->clear();
            for (int l = 0; l < maps->layers; ++l) self->layer_->addItem(QString::number(l));
            self->layer_->setCurrentIndex(maps->layers - 1);
            self->head_->clear();
            self->head_->addItems({tr("mean"), tr("max"), tr("rollout")});
            for (int h = 0; h < maps->heads; ++h) self->head_->addItem(tr("head %1").arg(h));
            self->layer_->blockSignals(false);
            self->head_->blockSignals(false);
            self->done_detail_ = tr("%1 tokens, %2 layers, %3 heads").arg(maps->length).arg(maps->layers).arg(maps->heads);
            self->head_grid_->setMaps(maps);
            self->showAttention();
            self->updateStaleness();
        };
    });
}

void InspectorView::runLens() {
    if (!session_.model) return;
    auto model = session_.model;
    const std::string prompt = prompt_->toPlainText().toStdString(), target = target_->text().toStdString();
    const QString path = session_.model_path;
    QPointer<InspectorView> self(this);
    startJob(QStringLiteral("lens"), tr("Logit lens"), tabs_->indexOf(lens_), [model, prompt, target, path, self](JobContext& ctx) -> JobRunner::Apply {
        auto lens = std::make_shared<const attr::LogitLens>(attr::logit_lens(*model, prompt, target, 5, ctx.control));
        return [self, lens, path] {
            if (!self || path != self->session_.model_path) return;  // another model opened meanwhile
            self->lens_->setLens(lens);
            self->done_detail_ = tr("%1 layers × %2 positions").arg(lens->rows - 1).arg(lens->length);
        };
    });
}

void InspectorView::selectLayer(int layer) { layer_->setCurrentIndex(layer); }
void InspectorView::selectHead(int index) { head_->setCurrentIndex(index); }

int InspectorView::attentionBlock() const {
    return maps_ && head_->currentIndex() >= 3 ? std::max(1, maps_->block) : 1;
}

void InspectorView::showAttention() {
    if (!maps_ || maps_->length == 0) return;
    const int T = maps_->length, L = std::max(0, layer_->currentIndex()), mode = std::max(0, head_->currentIndex());
    const std::size_t TT = static_cast<std::size_t>(T) * static_cast<std::size_t>(T);
    std::vector<double> values;
    QStringList labels;
    if (mode < 3) {  // mean, max and rollout at full resolution
        const float* src = mode == 0 ? maps_->head_mean.data() + static_cast<std::size_t>(L) * TT
                         : mode == 1 ? maps_->head_max.data() + static_cast<std::size_t>(L) * TT : nullptr;
        if (src) values.assign(src, src + TT);
        else values = maps_->rollout;
        for (const auto& t : maps_->tokens) labels << tokenText(t.text);
        block_note_->clear();
    } else {  // one head: kept in blocks of tokens for long inputs
        const int h = mode - 3, d = maps_->display, b = maps_->block;
        const float* p = maps_->heads_display.data() + (static_cast<std::size_t>(L) * static_cast<std::size_t>(maps_->heads) + static_cast<std::size_t>(h)) *
                                                           static_cast<std::size_t>(d) * static_cast<std::size_t>(d);
        values.assign(p, p + static_cast<std::size_t>(d) * static_cast<std::size_t>(d));
        for (int i = 0; i < d; ++i) {
            const int first = i * b, last = std::min(T, (i + 1) * b) - 1;
            labels << (b == 1 ? tokenText(maps_->tokens[static_cast<std::size_t>(first)].text) : tr("%1–%2").arg(first).arg(last));
        }
        block_note_->setText(b > 1 ? tr("single heads of %1 tokens: blocks of %2").arg(T).arg(b) : QString());
    }
    const int D = static_cast<int>(labels.size());
    {
        const QSignalBlocker b1(view_first_), b2(view_last_);
        view_first_->setRange(0, T - 1);
        view_last_->setRange(0, T - 1);
    }
    const QString head = mode == 0 ? tr("mean of heads") : mode == 1 ? tr("max of heads") : mode == 2 ? tr("rollout") : tr("head %1").arg(mode - 3);
    attention_->setTitle(tr("Attention · layer %1 · %2 · %3").arg(L).arg(head, QFileInfo(session_.model_path).fileName()));
    attention_->setMatrix(D, D, values, labels, labels, false, tr("query"), tr("key"));
    emit attentionShown();
}

std::int32_t InspectorView::baselineToken() const {
    if (baseline_->currentIndex() != 1 || !session_.model) return -1;  // the zero embedding
    for (const char* t : {"<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>"})
        if (auto id = session_.model->tokenizer().token_to_id(t)) return *id;
    return -1;
}

void InspectorView::runAttribution(attr::Method method) {
    if (!session_.model) return;
    attr::Options o;
    o.method = method;
    o.steps = steps_->value();
    o.generated_target = target_->text().isEmpty();
    o.baseline_token = baselineToken();
    o.shap = static_cast<attr::Options::ShapAlgorithm>(shap_algorithm_->currentIndex());
    o.contrast = contrast_->text().toStdString();
    auto model = session_.model;
    std::string prompt = prompt_->toPlainText().toStdString(), target = target_->text().toStdString();
    QPointer<InspectorView> self(this);
    Inputs inputs{session_.model_path, prompt_->toPlainText(), target_->text(),
                  (method == attr::Method::Shap ? QStringLiteral("shap %1").arg(shap_algorithm_->currentIndex())
                                                : QStringLiteral("steps %1, baseline %2").arg(steps_->value()).arg(baseline_->currentIndex())) +
                      QStringLiteral(", contrast ") + contrast_->text()};
    const QString title = method == attr::Method::Shap ? tr("SHAP") : tr("Integrated gradients");
    startJob(QStringLiteral("attribution"), title, 1, [model, prompt, target, o, self, inputs](JobContext& ctx) mutable -> JobRunner::Apply {
        o.control = ctx.control;
        auto r = std::make_shared<const attr::Result>(attr::explain(*model, prompt, target, o));
        return [self, r, inputs] {
            if (!self || inputs.model != self->session_.model_path) return;
            self->attribution_ = r;
            self->attribution_for_ = inputs;
            self->showAttribution();
        };
    });
}

QString InspectorView::tokenHtml() const {
    QString html;
    if (!attribution_) return html;
    double scale = 0;
    for (double v : attribution_->scores) scale = std::max(scale, std::fabs(v));
    for (std::size_t i = 0; i < attribution_->prompt_tokens.size(); ++i) {
        double s = scale > 0 ? attribution_->scores[i] / scale : 0;
        const QString label = tokenText(attribution_->prompt_tokens[i].text);
        html += shadedToken(label, s, tr("“%1” (token %2, id %3): score %4").arg(label).arg(i).arg(attribution_->prompt_tokens[i].id)
                                          .arg(attribution_->scores[i], 0, 'g', 4));
    }
    html += QStringLiteral(" <b>→</b> ");
    for (const auto& t : attribution_->target_tokens)
        html += QStringLiteral("<span style=\"text-decoration:underline\">%1</span>").arg(tokenText(t.text).toHtmlEscaped());
    return html;
}

void InspectorView::showAttribution() {
    const auto& r = *attribution_;
    QStringList prompt_labels, target_labels;
    for (const auto& t : r.prompt_tokens) prompt_labels << tokenText(t.text);
    for (const auto& t : r.target_tokens) target_labels << tokenText(t.text);
    for (const auto& t : r.contrast_tokens) target_labels << QStringLiteral("−") + tokenText(t.text);  // the foil's rows, negated
    const QString objective = r.contrast.empty() ? tr("log p(“%1” | prompt)").arg(tokenText(r.target))
                                                 : tr("log p(“%1”) − log p(“%2”)").arg(tokenText(r.target), tokenText(r.contrast));
    const QString what = tr("%1 · %2 · %3").arg(QString::fromStdString(r.method), objective, QFileInfo(session_.model_path).fileName());
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
    done_detail_ = tr("%1 model evaluations").arg(r.evaluations);
    tabs_->setCurrentIndex(1);
    updateStaleness();
}

void InspectorView::runUncertainty() {
    if (!session_.model) return;
    attr::UncertaintyOptions o;
    o.samples = samples_->value();
    o.max_new_tokens = 16;
    auto model = session_.model;
    std::string prompt = prompt_->toPlainText().toStdString();
    QPointer<InspectorView> self(this);
    const Inputs inputs = currentInputs(View::Uncertainty);
    startJob(QStringLiteral("uncertainty"), tr("Sampling"), 2, [model, prompt, o, self, inputs](JobContext& ctx) mutable -> JobRunner::Apply {
        o.control = ctx.control;
        auto r = std::make_shared<const attr::UncertaintyResult>(attr::sample_uncertainty(*model, prompt, o));
        return [self, r, inputs] {
            if (!self || inputs.model != self->session_.model_path) return;
            self->uncertainty_ = r;
            self->uncertainty_for_ = inputs;
            self->showUncertainty();
        };
    });
}

void InspectorView::showUncertainty() {
    const auto& r = *uncertainty_;
    QStringList tokens, tips;
    std::vector<double> entropy;
    for (const auto& step : r.greedy) {
        tokens << tokenText(step.text);
        entropy.push_back(step.entropy);
        QString tip = tr("“%1”: p %2, entropy %3 nats").arg(tokenText(step.text).toHtmlEscaped()).arg(std::exp(step.logprob), 0, 'f', 3).arg(step.entropy, 0, 'f', 3);
        for (const auto& [text, lp] : step.alternatives) tip += QStringLiteral("<br>%1  %2").arg(tokenText(text).toHtmlEscaped()).arg(std::exp(lp), 0, 'f', 3);
        tips << tip;
    }
    entropy_->setTitle(tr("Entropy of each greedy token · %1").arg(QFileInfo(session_.model_path).fileName()));
    mass_->setTitle(tr("Sampled answers · %1 samples").arg(r.samples.size()));
    entropy_->setBars(tokens, entropy, tr("entropy (nats)"));
    entropy_->setBarTips(tips);
    alternatives_->setSteps(r.greedy);
    fitColumns(alternatives_table_);
    QStringList labels;
    std::vector<double> mass;
    for (const auto& a : r.answers) labels << QString::fromStdString(a.answer), mass.push_back(a.probability);
    mass_->setBars(labels, mass, tr("probability mass"));
    answers_->setAnswers(r.answers);
    uncertainty_numbers_->setText(tr("Greedy: “%1”. %2 samples in %3 clusters; self-consistency %4; semantic entropy %5 nats "
                                     "(discrete %6); predictive entropy %7 nats.")
                                      .arg(QString::fromStdString(r.greedy_text).toHtmlEscaped())
                                      .arg(r.samples.size())
                                      .arg(r.clusters)
                                      .arg(r.self_consistency, 0, 'f', 2)
                                      .arg(r.semantic_entropy, 0, 'f', 3)
                                      .arg(r.discrete_semantic_entropy, 0, 'f', 3)
                                      .arg(r.predictive_entropy, 0, 'f', 3));
    done_detail_ = tr("%1 samples").arg(r.samples.size());
    tabs_->setCurrentIndex(2);
    updateStaleness();
}

void InspectorView::showCalibration() {
    const QString none = session_.report ? tr("The open report (%1) has no multiple-choice suite: calibration needs per-item confidences.").arg(session_.report_name)
                                         : tr("No report is open.\nRun a multiple-choice suite (Run tab, Ctrl+R) or open a report to see its calibration.");
    confidence_->setEmpty(none);
    reliability_->setEmpty(tr("The reliability diagram appears here."));
    if (!session_.report) return;
    for (const auto& s : session_.report->suites) {
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
        reliability_->setTitle(tr("Reliability · %1 · %2").arg(QString::fromStdString(s.name), session_.report_name));
        confidence_->setTitle(tr("Confidence · %1 · %2").arg(QString::fromStdString(s.name), session_.report_name));
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

#include "inspector.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <optional>

#include "inspector_pages.h"
#include "side_by_side_view.h"
#include "lmwb/methods.h"
#include "session.h"

namespace lmwb::gui {

namespace {
// How vocabularies name the end-of-text token (GPT-2, Llama 3, Llama 2 / Mistral, Gemma).
const char* const kEndOfTextNames[] = {"<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>"};
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
    // Two columns of settings: the view fits a 1280 x 720 screen.
    auto* controls = new QGridLayout;
    steps_ = new QSpinBox;
    steps_->setObjectName(QStringLiteral("ig-steps"));
    steps_->setRange(1, 4096);
    steps_->setValue(128);  // with the end-of-text baseline, converged on the bundled RMSNorm models (delta < 1%)
    baseline_ = new QComboBox;
    baseline_->addItems({tr("zero embedding"), tr("end-of-text token")});
    // The end-of-text token converges on RMSNorm / LayerNorm models where the zero embedding does not (docs).
    baseline_->setCurrentIndex(1);
    shap_algorithm_ = new QComboBox;
    shap_algorithm_->addItems({tr("auto"), tr("exact"), tr("kernel"), tr("partition")});
    shap_features_ = new QComboBox;
    shap_features_->addItems({tr("tokens"), tr("words")});
    shap_features_->setToolTip(tr("SHAP's features: tokens (past 63 grouped into words, then spans of words, automatically) or words"));
    shap_budget_ = new QSpinBox;
    shap_budget_->setRange(16, 1 << 20);
    shap_budget_->setValue(4096);
    shap_budget_->setToolTip(tr("SHAP: model evaluations at most (coalitions for KernelSHAP and Partition SHAP)"));
    samples_ = new QSpinBox;
    samples_->setRange(1, 500);
    samples_->setValue(20);
    auto row = [controls](int r, int c, const QString& label, QWidget* w) {
        controls->addWidget(new QLabel(label), r, 2 * c);
        controls->addWidget(w, r, 2 * c + 1);
    };
    row(0, 0, tr("IG steps"), steps_);
    row(1, 0, tr("IG baseline"), baseline_);
    row(2, 0, tr("SHAP"), shap_algorithm_);
    row(3, 0, tr("SHAP budget"), shap_budget_);
    row(3, 1, tr("Features"), shap_features_);
    row(0, 1, tr("Samples"), samples_);
    chat_ = new QCheckBox(tr("chat template"));
    chat_->setToolTip(tr("The prompt as a user message of the model's chat template, then the generation prompt (as lmwb --chat)"));
    system_ = new QLineEdit;
    system_->setPlaceholderText(tr("system message"));
    system_->setEnabled(false);
    row(1, 1, tr("Chat"), chat_);
    row(2, 1, tr("System"), system_);
    top->addLayout(controls);
    // The first methods of the Run menu as buttons, titled by the registry, in two columns.
    auto* buttons = new QGridLayout;
    int placed = 0;
    for (const char* name : {"attention", "ig", "shap", "sample", "logit-lens"}) {
        const attr::MethodInfo* m = attr::find_method(name);
        auto* b = new QPushButton(QString::fromStdString(m ? m->title : std::string(name)));
        b->setToolTip(m ? QString::fromStdString(m->summary) + QStringLiteral(" (") + shortcutOf(name) + QStringLiteral(")") : QString());
        connect(b, &QPushButton::clicked, this, [this, method = std::string(name)] { runMethod(method); });
        buttons->addWidget(b, placed % 3, placed / 3);
        ++placed;
        buttons_.push_back(b);
    }
    top->addLayout(buttons);
    v->addLayout(top);
    tokens_ = new QTextBrowser;
    tokens_->setMaximumHeight(90);
    v->addWidget(tokens_);
    status_ = new QLabel;
    v->addWidget(status_);

    tabs_ = new QTabWidget;
    for (const auto& entry : inspectorPages()) {
        InspectorPage* page = entry.make(*this);
        page->setObjectName(QStringLiteral("page-") + QLatin1String(entry.key));
        pages_.push_back(page);
        tabs_->addTab(page, page->title());
        if (auto* p = qobject_cast<AttentionPage*>(page)) attention_ = p;
        if (auto* p = qobject_cast<AttributionPage*>(page)) attribution_ = p;
        if (auto* p = qobject_cast<UncertaintyPage*>(page)) uncertainty_ = p;
        if (auto* p = qobject_cast<LensPage*>(page)) lens_ = p;
        if (auto* p = qobject_cast<CalibrationPage*>(page)) calibration_ = p;
        if (auto* p = qobject_cast<CircuitsPage*>(page)) circuits_ = p;
        if (auto* p = qobject_cast<GenerationPage*>(page)) generation_ = p;
        if (auto* p = qobject_cast<HeadsPage*>(page)) heads_ = p;
        if (auto* p = qobject_cast<SideBySidePage*>(page)) side_by_side_ = p;
    }
    v->addWidget(tabs_, 1);

    connect(&session_, &Session::inspectRequested, this, &InspectorView::inspectItem);
    connect(&session_, &Session::modelChanged, this, [this] {
        clearResults();
        refreshControls();
    });
    connect(&session_, &Session::otherModelChanged, this, &InspectorView::refreshControls);
    connect(&session_, &Session::otherModelChanged, this, [this] {
        if (pending_pair_.isEmpty() || !session_.other_model()) return;
        const bool same = QFileInfo(session_.other_model_path()).canonicalFilePath() == QFileInfo(pending_pair_).canonicalFilePath();
        pending_pair_.clear();
        if (same) runOnOtherModel();
    });
    connect(prompt_, &QPlainTextEdit::textChanged, this, &InspectorView::updateStaleness);
    connect(target_, &QLineEdit::textChanged, this, &InspectorView::updateStaleness);
    connect(contrast_, &QLineEdit::textChanged, this, &InspectorView::updateStaleness);
    connect(steps_, &QSpinBox::valueChanged, this, &InspectorView::updateStaleness);
    connect(samples_, &QSpinBox::valueChanged, this, &InspectorView::updateStaleness);
    connect(baseline_, &QComboBox::currentIndexChanged, this, &InspectorView::updateStaleness);
    connect(shap_algorithm_, &QComboBox::currentIndexChanged, this, &InspectorView::updateStaleness);
    connect(shap_features_, &QComboBox::currentIndexChanged, this, &InspectorView::updateStaleness);
    connect(shap_budget_, &QSpinBox::valueChanged, this, &InspectorView::updateStaleness);
    connect(chat_, &QCheckBox::toggled, this, [this](bool on) {
        system_->setEnabled(on);
        updateStaleness();
    });
    connect(system_, &QLineEdit::textChanged, this, &InspectorView::updateStaleness);

    // The status line follows this view's jobs to their end.
    auto& runner = session_.jobs;
    connect(&runner, &JobRunner::progress, this, [this](int id, const QString&, double, const QString& text) {
        if (auto it = jobs_.find(id); it != jobs_.end()) status_->setText(it->second + QStringLiteral(": ") + text);
    });
    connect(&runner, &JobRunner::cancelling, this, [this](int id, const QString&) {
        if (auto it = jobs_.find(id); it != jobs_.end()) status_->setText(it->second + tr(": cancelling…"));
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

const std::vector<PageEntry>& inspectorPages() {
    static const std::vector<PageEntry> pages = {
        {"attention", [](InspectorView& v) { return new AttentionPage(v); }},
        {"attribution", [](InspectorView& v) { return new AttributionPage(v); }},
        {"uncertainty", [](InspectorView& v) { return new UncertaintyPage(v); }},
        {"calibration", [](InspectorView& v) { return new CalibrationPage(v); }},
        {"lens", [](InspectorView& v) { return new LensPage(v); }},
        {"circuits", [](InspectorView& v) { return new CircuitsPage(v); }},
        {"generation", [](InspectorView& v) { return new GenerationPage(v); }},
        {"heads", [](InspectorView& v) { return new HeadsPage(v); }},
        {"side-by-side", [](InspectorView& v) { return new SideBySidePage(v); }},
    };
    return pages;
}

InspectorPage* InspectorView::pageFor(const std::string& method) const {
    for (InspectorPage* p : pages_)
        for (const auto& m : p->methods())
            if (m == method) return p;
    return nullptr;
}

bool InspectorView::runMethod(const std::string& name) {
    InspectorPage* page = pageFor(name);
    if (!page) return false;
    if (!session_.model()) return true;
    if (const QString problem = chatProblem(); !problem.isEmpty()) {  // never the text as typed in its place
        status_->setText(tr("Not run: the chat template refuses this conversation — %1. Change the system prompt, or turn Chat off.").arg(problem));
        return true;
    }
    page->run(name);
    return true;
}

void InspectorView::startJob(InspectorPage* page, const QString& kind, const QString& title, JobRunner::Work work) {
    if (page) tabs_->setCurrentWidget(page);
    done_detail_.clear();
    status_->setText(title + QStringLiteral("…"));
    jobs_[session_.jobs.start(kind, title, std::move(work))] = title;
}

InspectorView::Inputs InspectorView::currentInputs(View view) const {
    switch (view) {
    case View::Attention: return attention_->currentInputs();
    case View::Attribution: return attribution_->currentInputs();
    case View::Uncertainty: return uncertainty_->currentInputs();
    case View::Patching: return circuits_->currentInputs("patching");
    case View::DirectLogit: return circuits_->currentInputs("dla");
    case View::Generation: return generation_->currentInputs();
    }
    return {};
}

bool InspectorView::isStale(View view) const {
    switch (view) {
    case View::Attention: return attention_->isStale();
    case View::Attribution: return attribution_->isStale();
    case View::Uncertainty: return uncertainty_->isStale();
    case View::Patching: return circuits_->isStale("patching");
    case View::DirectLogit: return circuits_->isStale("dla");
    case View::Generation: return generation_->isStale();
    }
    return false;
}

void InspectorView::updateStaleness() {
    for (InspectorPage* p : pages_) p->updateStale();
    QString html;
    if (!attribution_->result()) {
        html = tr("<i>Tokens are shaded by their attribution after Integrated gradients (%1) or SHAP (%2).</i>").arg(shortcutOf("ig"), shortcutOf("shap"));
    } else {
        const QString note = attribution_->staleNote();
        if (!note.isEmpty()) html = QStringLiteral("<p style=\"background-color:#ffecb3;color:#3c2800\">%1</p>").arg(note.toHtmlEscaped());
        html += QStringLiteral("<p>") + attribution_->tokenHtml() + QStringLiteral("</p>");
    }
    tokens_->setHtml(html);
}

void InspectorView::clearResults() {
    for (InspectorPage* p : pages_) p->clear();
    updateStaleness();
}

void InspectorView::refreshControls() {
    const bool on = static_cast<bool>(session_.model());
    // Chat is offered only with the open model's chat template.
    const bool chat = static_cast<bool>(session_.chat_template());
    chat_->setEnabled(chat);
    if (!chat) chat_->setChecked(false);
    chat_->setToolTip(chat ? tr("The prompt as a user message of the model's chat template, then the generation prompt (as lmwb --chat)")
                           : session_.chat_template_problem());
    for (auto* b : buttons_) b->setEnabled(on);
    for (InspectorPage* p : pages_) p->setModelOpen(on);
    // The end-of-text token by its vocabulary name, as the token strips and alternatives show it.
    std::optional<std::string> eot;
    if (session_.model())
        for (const char* t : kEndOfTextNames)
            if (session_.model()->tokenizer().token_to_id(t)) {
                eot = t;
                break;
            }
    baseline_->setItemText(1, eot ? tr("end-of-text token %1").arg(QString::fromStdString(*eot)) : tr("end-of-text token"));
}

void InspectorView::setPrompt(const QString& prompt, const QString& target) {
    prompt_->setPlainText(prompt);
    target_->setText(target);
}

QString InspectorView::promptText() const { return prompt_->toPlainText(); }

QString InspectorView::prompt() const {
    const auto& tpl = session_.chat_template();
    if (!chat_->isChecked() || !tpl) return promptText();
    try {
        return QString::fromStdString(tpl->render_prompt(promptText().toStdString(), system_->text().toStdString()));
    } catch (const std::exception&) {  // runMethod refuses to run then (chatProblem); the inputs key stays defined
        return promptText();
    }
}

QString InspectorView::chatProblem() const {
    const auto& tpl = session_.chat_template();
    if (!chat_->isChecked() || !tpl) return {};
    try {
        (void)tpl->render_prompt(promptText().toStdString(), system_->text().toStdString());
        return {};
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
}
void InspectorView::setContrast(const QString& foil) { contrast_->setText(foil); }
QString InspectorView::target() const { return target_->text(); }
QString InspectorView::contrast() const { return contrast_->text(); }
int InspectorView::steps() const { return steps_->value(); }
int InspectorView::baselineIndex() const { return baseline_->currentIndex(); }
int InspectorView::shapAlgorithm() const { return shap_algorithm_->currentIndex(); }
bool InspectorView::shapWords() const { return shap_features_->currentIndex() == 1; }
int InspectorView::shapBudget() const { return shap_budget_->value(); }
int InspectorView::samples() const { return samples_->value(); }

std::int32_t InspectorView::baselineToken() const {
    if (baseline_->currentIndex() != 1 || !session_.model()) return -1;  // the zero embedding
    for (const char* t : kEndOfTextNames)
        if (auto id = session_.model()->tokenizer().token_to_id(t)) return *id;
    return -1;
}

void InspectorView::inspectItem(int suite, int row) {
    if (!session_.report() || suite < 0 || suite >= static_cast<int>(session_.report()->suites.size())) return;
    const auto& s = session_.report()->suites[static_cast<std::size_t>(suite)];
    if (row < 0 || row >= static_cast<int>(s.items.size())) return;
    const auto& it = s.items[static_cast<std::size_t>(row)];
    QString target = QString::fromStdString(it.choices.empty() ? (it.response.empty() ? it.target : it.response) : " " + it.target);
    if (s.kind == "perplexity") target.clear();
    setPrompt(QString::fromStdString(it.prompt), target);
    status_->setText(tr("%1 · item %2").arg(QString::fromStdString(s.name), QString::fromStdString(it.id)));
    runAttention();
}

void InspectorView::explainItem(const ItemExplanation& e) {
    setPrompt(e.prompt, e.target);
    setContrast(e.contrast);
    if (!runMethod(e.method.toStdString())) return;
    pending_pair_.clear();
    if (e.other_model.isEmpty()) return;
    pending_method_ = e.method;
    if (session_.other_model() && QFileInfo(session_.other_model_path()).canonicalFilePath() == QFileInfo(e.other_model).canonicalFilePath()) {
        runOnOtherModel();
        return;
    }
    pending_pair_ = e.other_model;
    openOtherModel(e.other_model);
}

// The second half of explainItem: IG or SHAP in both models side by side, or patching in model B.
void InspectorView::runOnOtherModel() {
    if (pending_method_ == QStringLiteral("patching")) {
        circuits_->runPatchingOnOther();
        return;
    }
    sideBySideView()->setMethod(pending_method_ == QStringLiteral("shap") ? attr::Method::Shap : attr::Method::IntegratedGradients);
    runSideBySide();
}

void InspectorView::openOtherModel(const QString& path) { side_by_side_->openOtherModel(path); }
void InspectorView::selectLayer(int layer) { attention_->selectLayer(layer); }
void InspectorView::selectHead(int index) { attention_->selectHead(index); }

SideBySideView* InspectorView::sideBySideView() const { return side_by_side_->view(); }
HeadGridView* InspectorView::headGrid() const { return heads_->view(); }
CircuitsView* InspectorView::circuitsView() const { return circuits_->view(); }
GenerationView* InspectorView::generationView() const { return generation_->view(); }
LensView* InspectorView::lensView() const { return lens_->view(); }
Heatmap* InspectorView::attentionMap() const { return attention_->map(); }
Heatmap* InspectorView::attributionMatrix() const { return attribution_->matrix(); }
BarChart* InspectorView::attributionBars() const { return attribution_->bars(); }
BarChart* InspectorView::entropyPlot() const { return uncertainty_->entropy(); }
AlternativesModel* InspectorView::alternatives() const { return uncertainty_->alternatives(); }
Plot* InspectorView::reliabilityPlot() const { return calibration_->reliability(); }
const attr::Result* InspectorView::attribution() const { return attribution_->result(); }
const attr::AttentionMaps* InspectorView::attentionMaps() const { return attention_->maps(); }
const attr::UncertaintyResult* InspectorView::uncertainty() const { return uncertainty_->result(); }
QString InspectorView::tokenHtml() const { return attribution_->tokenHtml(); }
QLabel* InspectorView::deltaLabel() const { return attribution_->deltaLabel(); }

}  // namespace lmwb::gui

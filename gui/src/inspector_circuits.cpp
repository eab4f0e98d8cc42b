// The inspector's logit lens, circuits (activation patching, direct logit attribution), generated-text, heads and
// side-by-side pages: thin pages around their views (lens_view.h, circuits_view.h, head_grid.h, side_by_side_view.h).
#include <QComboBox>
#include <QFileInfo>
#include <QPointer>
#include <QTabWidget>
#include <QVBoxLayout>

#include "circuits_view.h"
#include "head_grid.h"
#include "inspector.h"
#include "inspector_pages.h"
#include "lens_view.h"
#include "session.h"
#include "side_by_side_view.h"

namespace lmwb::gui {

namespace {

// A page that is one view, edge to edge.
template <class View>
View* fill(QWidget* page, View* view) {
    auto* v = new QVBoxLayout(page);
    v->setContentsMargins(0, 0, 0, 0);
    v->addWidget(view);
    return view;
}

}  // namespace

// --- Logit lens --------------------------------------------------------------------------------------------------

LensPage::LensPage(InspectorView& inspector) : InspectorPage(inspector) { view_ = fill(this, new LensView); }

void LensPage::clear() {
    view_->clear(tr("The logit lens appears here: press Logit lens (%1) to read every layer through the final norm and the unembedding.")
                     .arg(shortcutOf("logit-lens")));
}

void LensPage::run(const std::string&) {
    auto model = session().model();
    const std::string prompt = inspector_.prompt().toStdString(), target = inspector_.target().toStdString();
    startJob(QStringLiteral("lens"), tr("Logit lens"), [this, model, prompt, target](JobContext& ctx) -> JobRunner::Apply {
        auto lens = std::make_shared<const attr::LogitLens>(attr::logit_lens(*model, prompt, target, 5, ctx.control));
        return [this, lens] {
            view_->setLens(lens);
            inspector_.setDoneDetail(tr("%1 layers × %2 positions").arg(lens->rows - 1).arg(lens->length));
        };
    });
}

// --- Circuits ----------------------------------------------------------------------------------------------------

CircuitsPage::CircuitsPage(InspectorView& inspector) : InspectorPage(inspector) {
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(0, 0, 0, 0);
    which_ = new QComboBox;
    which_->setToolTip(tr("Activation patching of the same inputs in model A (the open model) or model B"));
    which_->hide();
    v->addWidget(which_, 0, Qt::AlignLeft);
    view_ = new CircuitsView;
    v->addWidget(view_, 1);
    connect(which_, &QComboBox::currentIndexChanged, this, &CircuitsPage::showPatching);
    connect(view_, &CircuitsView::patchRequested, this, [this] { inspector_.runMethod("patching"); });
    connect(view_, &CircuitsView::directLogitRequested, this, [this] { inspector_.runMethod("dla"); });
    connect(view_, &CircuitsView::settingsChanged, &inspector_, &InspectorView::updateStaleness);
}

void CircuitsPage::clear() {
    view_->clear();
    has_patching_ = has_dla_ = false;
    patching_a_.reset();
    patching_b_.reset();
    which_->hide();
}

void CircuitsPage::showPatching() {
    const auto& r = which_->currentIndex() == 1 && patching_b_ ? patching_b_ : patching_a_;
    if (r) view_->setPatching(r);
}

void CircuitsPage::runPatchingOnOther() {
    auto model = session().other_model();
    if (!model) return;
    attr::PatchingOptions o;
    o.corrupted = view_->corrupted().toStdString();
    o.contrast = inspector_.contrast().toStdString();
    const std::string prompt = inspector_.prompt().toStdString(), target = inspector_.target().toStdString();
    const QString name = QFileInfo(session().other_model_path()).fileName();
    startJob(QStringLiteral("patching B"), tr("Activation patching in model B"), [this, model, prompt, target, o, name](JobContext& ctx) mutable -> JobRunner::Apply {
        o.control = ctx.control;
        auto r = std::make_shared<const attr::PatchingResult>(attr::activation_patching(*model, prompt, target, o));
        return [this, r, name] {
            patching_b_ = r;
            const QSignalBlocker block(which_);
            which_->clear();
            which_->addItems({tr("patching in model A: %1").arg(QFileInfo(session().model_path()).fileName()), tr("patching in model B: %1").arg(name)});
            which_->setCurrentIndex(1);
            which_->show();
            showPatching();
            inspector_.setDoneDetail(tr("%1 runs in model B").arg(r->runs));
        };
    });
}

void CircuitsPage::setModelOpen(bool open) { view_->setButtonsEnabled(open); }

PageInputs CircuitsPage::currentInputs(const std::string& method) const {
    QString settings = QStringLiteral("contrast ") + inspector_.contrast();
    if (method == "patching") settings += QStringLiteral(", corrupted ") + view_->corrupted();
    return inputs(settings);
}

bool CircuitsPage::isStale(const std::string& method) const {
    return method == "patching" ? has_patching_ && patching_for_ != currentInputs(method) : has_dla_ && dla_for_ != currentInputs(method);
}

void CircuitsPage::updateStale() {
    view_->setStale(isStale("patching") ? staleText(patching_for_, currentInputs("patching"), "patching") : QString(),
                    isStale("dla") ? staleText(dla_for_, currentInputs("dla"), "dla") : QString());
}

void CircuitsPage::run(const std::string& method) {
    auto model = session().model();
    const std::string prompt = inspector_.prompt().toStdString(), target = inspector_.target().toStdString(),
                      contrast = inspector_.contrast().toStdString();
    const PageInputs in = currentInputs(method);
    if (method == "dla") {
        startJob(QStringLiteral("dla"), tr("Direct logit attribution"), [this, model, prompt, target, contrast, in](JobContext& ctx) -> JobRunner::Apply {
            auto r = std::make_shared<const attr::DirectLogitAttribution>(attr::direct_logit_attribution(*model, prompt, target, contrast, ctx.control));
            return [this, r, in] {
                view_->setDirectLogit(r);
                dla_for_ = in;
                has_dla_ = true;
                inspector_.setDoneDetail(tr("gap %1").arg(r->gap, 0, 'g', 3));
                inspector_.updateStaleness();
            };
        });
        return;
    }
    attr::PatchingOptions o;
    o.corrupted = view_->corrupted().toStdString();
    o.contrast = contrast;
    startJob(QStringLiteral("patching"), tr("Activation patching"), [this, model, prompt, target, o, in](JobContext& ctx) mutable -> JobRunner::Apply {
        o.control = ctx.control;
        auto r = std::make_shared<const attr::PatchingResult>(attr::activation_patching(*model, prompt, target, o));
        return [this, r, in] {
            patching_a_ = r;
            patching_b_.reset();  // B's, if any, was of other inputs
            which_->hide();
            which_->setCurrentIndex(0);
            view_->setPatching(r);
            patching_for_ = in;
            has_patching_ = true;
            inspector_.setDoneDetail(tr("%1 runs").arg(r->runs));
            inspector_.updateStaleness();
        };
    });
}

// --- Generated text ----------------------------------------------------------------------------------------------

GenerationPage::GenerationPage(InspectorView& inspector) : InspectorPage(inspector) {
    view_ = fill(this, new GenerationView);
    connect(view_, &GenerationView::attributeRequested, this, [this] { inspector_.runMethod("generation"); });
}

void GenerationPage::clear() {
    view_->clear();
    has_result_ = false;
}

void GenerationPage::setModelOpen(bool open) { view_->setButtonEnabled(open); }

PageInputs GenerationPage::currentInputs() const {
    return inputs(QStringLiteral("steps %1, baseline %2").arg(inspector_.steps()).arg(inspector_.baselineIndex()));
}

void GenerationPage::updateStale() { view_->setStale(isStale() ? staleText(result_for_, currentInputs(), "generation") : QString()); }

void GenerationPage::run(const std::string&) {
    auto model = session().model();
    const std::string prompt = inspector_.prompt().toStdString(), target = inspector_.target().toStdString();
    attr::GenerationAttributionOptions o;
    o.steps = inspector_.steps();
    o.baseline_token = inspector_.baselineToken();
    const PageInputs in = currentInputs();
    startJob(QStringLiteral("generation"), tr("Generated-text attribution"), [this, model, prompt, target, o, in](JobContext& ctx) mutable -> JobRunner::Apply {
        o.control = ctx.control;
        auto r = std::make_shared<const attr::GenerationAttribution>(attr::explain_generation(*model, prompt, target, o));
        return [this, r, in] {
            view_->setResult(r);
            result_for_ = in;
            has_result_ = true;
            inspector_.setDoneDetail(tr("%1 generated tokens").arg(r->generated_tokens.size()));
            inspector_.updateStaleness();
        };
    });
}

// --- Heads -------------------------------------------------------------------------------------------------------

HeadsPage::HeadsPage(InspectorView& inspector) : InspectorPage(inspector) {
    view_ = fill(this, new HeadGridView);
    connect(view_, &HeadGridView::summariesRequested, this, [this] { inspector_.runMethod("heads"); });
    connect(view_->thumbnails(), &HeadThumbnails::headClicked, this, [this](int layer, int head) {
        inspector_.selectLayer(layer);
        inspector_.selectHead(3 + head);
        inspector_.tabs()->setCurrentWidget(inspector_.attentionPage());
    });
}

void HeadsPage::clear() { view_->clear(); }
void HeadsPage::setModelOpen(bool open) { view_->setButtonEnabled(open); }

void HeadsPage::run(const std::string&) {
    auto model = session().model();
    const std::string text = (inspector_.prompt() + inspector_.target()).toStdString();
    startJob(QStringLiteral("heads"), tr("Head summaries"), [this, model, text](JobContext& ctx) -> JobRunner::Apply {
        auto s = std::make_shared<const attr::HeadSummaries>(attr::head_summaries(*model, text, 32, 0, ctx.control));
        return [this, s] {
            view_->setSummaries(s);
            inspector_.setDoneDetail(tr("%1 heads").arg(s->heads.size()));
        };
    });
}

// --- Side by side ------------------------------------------------------------------------------------------------

SideBySidePage::SideBySidePage(InspectorView& inspector) : InspectorPage(inspector) {
    view_ = fill(this, new SideBySideView);
    connect(view_, &SideBySideView::openRequested, this, [this] { openOtherModel(view_->otherModelPath()); });
    connect(view_, &SideBySideView::compareRequested, this, [this] { inspector_.runMethod("side-by-side"); });
}

void SideBySidePage::clear() { view_->clear(); }
void SideBySidePage::setModelOpen(bool open) { view_->setButtonsEnabled(open, static_cast<bool>(session().other_model())); }

void SideBySidePage::openOtherModel(const QString& path) {
    if (path.isEmpty()) return;
    QPointer<SideBySidePage> self(this);
    // Not startJob: opening B does not depend on which model A is.
    inspector_.startJob(this, QStringLiteral("model B"), tr("Opening model B"), [path, self](JobContext& ctx) -> JobRunner::Apply {
        ModelOptions options;
        options.control = ctx.control;
        std::shared_ptr<const LanguageModel> m = LanguageModel::open(path.toStdString(), options);
        return [self, m] {
            if (!self) return;
            self->session().setOtherModel(m, QString::fromStdString(m->info().path));
            self->view_->setOtherModelPath(self->session().other_model_path());
            self->view_->setOtherModelName(QFileInfo(self->session().other_model_path()).fileName());
            self->inspector_.setDoneDetail(QFileInfo(self->session().other_model_path()).fileName());
            self->inspector_.refreshControls();
        };
    });
}

void SideBySidePage::run(const std::string&) {
    if (!session().other_model()) return;
    auto a = session().model(), b = session().other_model();
    const std::string prompt = inspector_.prompt().toStdString(), target = inspector_.target().toStdString();
    attr::SideBySideOptions o;
    o.attribution.steps = inspector_.steps();
    o.attribution.method = view_->method();
    o.attribution.contrast = inspector_.contrast().toStdString();  // explained as target − foil in both models
    startJob(QStringLiteral("side by side"), tr("Side by side"), [this, a, b, prompt, target, o](JobContext& ctx) mutable -> JobRunner::Apply {
        o.control = ctx.control;
        auto r = std::make_shared<const attr::SideBySide>(attr::side_by_side(*a, *b, prompt, target, o));
        return [this, r] {
            view_->setResult(r);
            inspector_.setDoneDetail(tr("aligned segments: %1").arg(r->segments.size()));
        };
    });
}

}  // namespace lmwb::gui

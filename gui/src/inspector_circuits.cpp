// The inspector's circuit and generated-text jobs (the views are in circuits_view.cpp).
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPointer>
#include <QComboBox>
#include <QFileInfo>
#include <QSpinBox>
#include <QTabWidget>

#include "circuits_view.h"
#include "head_grid.h"
#include "side_by_side_view.h"
#include "inspector.h"
#include "session.h"

namespace lmwb::gui {

void InspectorView::runPatching() {
    if (!session_.model) return;
    auto model = session_.model;
    const std::string prompt = prompt_->toPlainText().toStdString(), target = target_->text().toStdString();
    attr::PatchingOptions o;
    o.corrupted = circuits_->corrupted().toStdString();
    o.contrast = contrast_->text().toStdString();
    const Inputs inputs = currentInputs(View::Patching);
    QPointer<InspectorView> self(this);
    startJob(QStringLiteral("patching"), tr("Activation patching"), tabs_->indexOf(circuits_),
             [model, prompt, target, o, self, inputs](JobContext& ctx) mutable -> JobRunner::Apply {
                 o.control = ctx.control;
                 auto r = std::make_shared<const attr::PatchingResult>(attr::activation_patching(*model, prompt, target, o));
                 return [self, r, inputs] {
                     if (!self || inputs.model != self->session_.model_path) return;
                     self->circuits_->setPatching(r);
                     self->patching_for_ = inputs;
                     self->has_patching_ = true;
                     self->done_detail_ = tr("%1 runs").arg(r->runs);
                     self->updateStaleness();
                 };
             });
}

void InspectorView::runDirectLogit() {
    if (!session_.model) return;
    auto model = session_.model;
    const std::string prompt = prompt_->toPlainText().toStdString(), target = target_->text().toStdString(),
                      contrast = contrast_->text().toStdString();
    const Inputs inputs = currentInputs(View::DirectLogit);
    QPointer<InspectorView> self(this);
    startJob(QStringLiteral("dla"), tr("Direct logit attribution"), tabs_->indexOf(circuits_),
             [model, prompt, target, contrast, self, inputs](JobContext& ctx) -> JobRunner::Apply {
                 auto r = std::make_shared<const attr::DirectLogitAttribution>(attr::direct_logit_attribution(*model, prompt, target, contrast, ctx.control));
                 return [self, r, inputs] {
                     if (!self || inputs.model != self->session_.model_path) return;
                     self->circuits_->setDirectLogit(r);
                     self->dla_for_ = inputs;
                     self->has_dla_ = true;
                     self->done_detail_ = tr("gap %1").arg(r->gap, 0, 'g', 3);
                     self->updateStaleness();
                 };
             });
}

void InspectorView::runGeneration() {
    if (!session_.model) return;
    auto model = session_.model;
    const std::string prompt = prompt_->toPlainText().toStdString(), target = target_->text().toStdString();
    attr::GenerationAttributionOptions o;
    o.steps = steps_->value();
    o.baseline_token = baselineToken();
    const Inputs inputs = currentInputs(View::Generation);
    QPointer<InspectorView> self(this);
    startJob(QStringLiteral("generation"), tr("Generated-text attribution"), tabs_->indexOf(generation_),
             [model, prompt, target, o, self, inputs](JobContext& ctx) mutable -> JobRunner::Apply {
                 o.control = ctx.control;
                 auto r = std::make_shared<const attr::GenerationAttribution>(attr::explain_generation(*model, prompt, target, o));
                 return [self, r, inputs] {
                     if (!self || inputs.model != self->session_.model_path) return;
                     self->generation_->setResult(r);
                     self->generation_for_ = inputs;
                     self->has_generation_ = true;
                     self->done_detail_ = tr("%1 generated tokens").arg(r->generated_tokens.size());
                     self->updateStaleness();
                 };
             });
}

void InspectorView::runHeadSummaries() {
    if (!session_.model) return;
    auto model = session_.model;
    const std::string text = (prompt_->toPlainText() + target_->text()).toStdString();
    const QString path = session_.model_path;
    QPointer<InspectorView> self(this);
    startJob(QStringLiteral("heads"), tr("Head summaries"), tabs_->indexOf(head_grid_), [model, text, path, self](JobContext& ctx) -> JobRunner::Apply {
        auto s = std::make_shared<const attr::HeadSummaries>(attr::head_summaries(*model, text, 32, 0, ctx.control));
        return [self, s, path] {
            if (!self || path != self->session_.model_path) return;
            self->head_grid_->setSummaries(s);
            self->done_detail_ = tr("%1 heads").arg(s->heads.size());
        };
    });
}

void InspectorView::openOtherModel(const QString& path) {
    if (path.isEmpty()) return;
    QPointer<InspectorView> self(this);
    startJob(QStringLiteral("model B"), tr("Opening model B"), tabs_->indexOf(side_by_side_), [path, self](JobContext& ctx) -> JobRunner::Apply {
        ModelOptions options;
        options.control = ctx.control;
        std::shared_ptr<const LanguageModel> m = LanguageModel::open(path.toStdString(), options);
        return [self, m] {
            if (!self) return;
            self->session_.other_model = m;
            self->session_.other_model_path = QString::fromStdString(m->info().path);
            self->side_by_side_->setOtherModelPath(self->session_.other_model_path);
            self->side_by_side_->setOtherModelName(QFileInfo(self->session_.other_model_path).fileName());
            self->done_detail_ = QFileInfo(self->session_.other_model_path).fileName();
            self->refreshControls();
        };
    });
}

void InspectorView::runSideBySide() {
    if (!session_.model || !session_.other_model) return;
    auto a = session_.model, b = session_.other_model;
    const std::string prompt = prompt_->toPlainText().toStdString(), target = target_->text().toStdString();
    attr::SideBySideOptions o;
    o.attribution.steps = steps_->value();
    o.attribution.method = side_by_side_->method();
    const QString path = session_.model_path;
    QPointer<InspectorView> self(this);
    startJob(QStringLiteral("side by side"), tr("Side by side"), tabs_->indexOf(side_by_side_),
             [a, b, prompt, target, o, path, self](JobContext& ctx) mutable -> JobRunner::Apply {
                 o.control = ctx.control;
                 auto r = std::make_shared<const attr::SideBySide>(attr::side_by_side(*a, *b, prompt, target, o));
                 return [self, r, path] {
                     if (!self || path != self->session_.model_path) return;
                     self->side_by_side_->setResult(r);
                     self->done_detail_ = tr("aligned segments: %1").arg(r->segments.size());
                 };
             });
}

}  // namespace lmwb::gui

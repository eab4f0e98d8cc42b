#include "inspector_page.h"

#include <QPointer>
#include <QStringList>

#include "inspector.h"
#include "lmwb/methods.h"
#include "session.h"

namespace lmwb::gui {

QString shortcutOf(const std::string& method) {
    const attr::MethodInfo* m = attr::find_method(method);
    return m && !m->shortcut.empty() ? QString::fromStdString(m->shortcut) : QString::fromStdString(method);
}

QString staleText(const PageInputs& was, const PageInputs& now, const std::string& method) {
    QStringList changed;
    if (was.prompt != now.prompt) changed << QObject::tr("prompt");
    if (was.target != now.target) changed << QObject::tr("target");
    if (was.settings != now.settings) changed << QObject::tr("settings");
    return QObject::tr("Stale: computed before the %1 changed — %2 recomputes").arg(changed.join(QStringLiteral(", ")), shortcutOf(method));
}

InspectorPage::InspectorPage(InspectorView& inspector) : inspector_(inspector) {}

Session& InspectorPage::session() const { return inspector_.session(); }

PageInputs InspectorPage::inputs(const QString& settings) const {
    return {session().model_path(), inspector_.prompt(), inspector_.target(), settings};
}

void InspectorPage::startJob(const QString& kind, const QString& title, JobRunner::Work work) {
    QPointer<InspectorPage> self(this);
    const QString model = session().model_path();
    inspector_.startJob(this, kind, title, [work = std::move(work), self, model](JobContext& ctx) -> JobRunner::Apply {
        auto apply = work(ctx);
        return [apply = std::move(apply), self, model] {
            if (!self || model != self->session().model_path()) return;  // the page is gone, or another model opened
            if (apply) apply();
        };
    });
}

}  // namespace lmwb::gui

// One tab of the inspector: what it shows, which registry methods it runs (attribution/include/lmwb/methods.h), its
// empty texts, and when its result no longer matches the window's inputs. The inspector builds its tabs, in order,
// from inspectorPages(); the Run menu, its shortcuts and the F1 guide come from the method registry.
#pragma once

#include <QString>
#include <QWidget>

#include <functional>
#include <string>
#include <vector>

#include "jobs.h"

namespace lmwb::gui {

class InspectorView;
class Session;

// What a result was computed from; a page whose inputs no longer match the window's is marked stale.
struct PageInputs {
    QString model, prompt, target, settings;
    bool operator==(const PageInputs& o) const {
        return model == o.model && prompt == o.prompt && target == o.target && settings == o.settings;
    }
    bool operator!=(const PageInputs& o) const { return !(*this == o); }
};

// "Stale: computed before the prompt changed — Ctrl+2 recomputes": why a result no longer matches, and the key of
// the registry method that recomputes it.
QString staleText(const PageInputs& was, const PageInputs& now, const std::string& method);
// The registry's shortcut of a method ("Ctrl+2"), for empty and stale texts.
QString shortcutOf(const std::string& method);

class InspectorPage : public QWidget {
    Q_OBJECT
public:
    explicit InspectorPage(InspectorView& inspector);
    virtual QString title() const = 0;
    // The registry methods this page runs, by name ("ig", "shap"): the Run menu's entries land here.
    virtual std::vector<std::string> methods() const { return {}; }
    virtual void run(const std::string& method) { (void)method; }
    // Back to the empty texts (a model opened, results dropped).
    virtual void clear() = 0;
    // A model is open (or not): enables the page's own buttons.
    virtual void setModelOpen(bool open) { (void)open; }
    // Marks the result stale, or not, against the window's current inputs.
    virtual void updateStale() {}

protected:
    Session& session() const;
    // The job helper every page uses: starts `work` as the inspector's job of `kind`, brings this page forward, and
    // applies its result only while this page exists and the model it was computed with is still the open one.
    void startJob(const QString& kind, const QString& title, JobRunner::Work work);
    // The window's prompt, target and contrast, with `settings`.
    PageInputs inputs(const QString& settings) const;
    InspectorView& inspector_;
};

}  // namespace lmwb::gui

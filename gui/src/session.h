// What the window works on: the open model, the loaded suites, the current report, the reports being compared,
// and the job runner. Views read its members and listen to its signals; they change them only through the setters
// below, each of which signals.
#pragma once

#include <QObject>
#include <QString>

#include <memory>
#include <vector>

#include "jobs.h"
#include "lmwb/chat_template.h"
#include "lmwb/report_analysis.h"
#include "lmwb/model.h"
#include "lmwb/suite.h"
#include "workspace.h"

namespace lmwb::gui {

class Session : public QObject {
    Q_OBJECT
public:
    explicit Session(QObject* parent = nullptr) : QObject(parent), jobs(this) {}

    struct Named {
        QString name;
        std::shared_ptr<const eval::Report> report;
        QString path;
    };
    // Read here; changed only through the setters below, each of which signals.
    const std::shared_ptr<const LanguageModel>& model() const { return model_; }
    const QString& model_path() const { return model_path_; }
    // The open model's chat template, read once when it opens; null, with why, when it has none or it cannot be used.
    const std::shared_ptr<const ChatTemplate>& chat_template() const { return chat_template_; }
    const QString& chat_template_problem() const { return chat_template_problem_; }
    const std::shared_ptr<const LanguageModel>& other_model() const { return other_model_; }  // model B of side by side
    const QString& other_model_path() const { return other_model_path_; }
    const std::vector<datasets::Suite>& suites() const { return suites_; }
    const std::shared_ptr<const eval::Report>& report() const { return report_; }  // the last run, or an opened report
    const QString& report_name() const { return report_name_; }
    const QString& report_path() const { return report_path_; }  // its file ("" when it has none)
    const std::vector<Named>& compared() const { return compared_; }  // the first is the baseline
    Workspace* workspace() const { return workspace_.get(); }  // the run history; null when its folder cannot be used
    JobRunner jobs;

    // Brings the history's index up to date as a background job (Workspace::syncFolder, its own connection): the
    // window answers while thousands of reports are read. The History refreshes as the index fills and at the end.
    void syncHistory(bool rebuild = false) {
        if (!workspace_) return;
        const QString folder = workspace_->folder();
        jobs.start(QStringLiteral("history"), tr("Indexing the run history"), [this, folder, rebuild](JobContext& c) -> JobRunner::Apply {
            Workspace::syncFolder(folder, c.control, rebuild);
            return [this] { emit historyChanged(); };
        });
    }

    void setOtherModel(std::shared_ptr<const LanguageModel> m, const QString& path) {
        other_model_ = std::move(m);
        other_model_path_ = path;
        emit otherModelChanged();
    }
    void setWorkspace(std::unique_ptr<Workspace> ws) {
        workspace_ = std::move(ws);
        emit historyChanged();
    }
    void setModel(std::shared_ptr<const LanguageModel> m, const QString& path) {
        model_ = std::move(m);
        model_path_ = path;
        chat_template_.reset();
        chat_template_problem_ = tr("The model has no chat template (tokenizer_config.json's chat_template or chat_template.jinja)");
        if (model_) {
            try {
                if (auto t = ChatTemplate::from_folder(path.toStdString())) chat_template_ = std::make_shared<const ChatTemplate>(std::move(*t));
            } catch (const std::exception& e) {
                chat_template_problem_ = tr("The model's chat template cannot be used: %1").arg(QString::fromStdString(e.what()));
            }
        }
        emit modelChanged();
    }
    void addSuite(datasets::Suite s) {
        for (auto& old : suites_)
            if (old.name == s.name) {
                old = std::move(s);
                emit suitesChanged();
                return;
            }
        suites_.push_back(std::move(s));
        emit suitesChanged();
    }
    void setReport(std::shared_ptr<const eval::Report> r, const QString& name, const QString& path = {}) {
        report_ = std::move(r);
        report_name_ = name;
        report_path_ = path;
        emit reportChanged();
    }
    void addCompared(std::shared_ptr<const eval::Report> r, const QString& name, const QString& path = {}) {
        compared_.push_back({name, std::move(r), path});
        emit comparedChanged();
    }
    void setCompared(std::vector<Named> runs) {
        compared_ = std::move(runs);
        emit comparedChanged();
    }
    void clearCompared() {
        compared_.clear();
        emit comparedChanged();
    }

private:
    std::shared_ptr<const LanguageModel> model_;
    QString model_path_;
    std::shared_ptr<const ChatTemplate> chat_template_;
    QString chat_template_problem_;
    std::shared_ptr<const LanguageModel> other_model_;
    QString other_model_path_;
    std::vector<datasets::Suite> suites_;
    std::shared_ptr<const eval::Report> report_;
    QString report_name_, report_path_;
    std::vector<Named> compared_;
    std::unique_ptr<Workspace> workspace_;

signals:
    void modelChanged();
    void otherModelChanged();  // model B of the inspector's side-by-side comparison
    void suitesChanged();
    void reportChanged();
    void comparedChanged();
    void historyChanged();  // a run was added to the workspace, finished, stopped or removed
    void inspectRequested(int suite, int row);
    void errorOccurred(const QString& title, const QString& message);
};

}  // namespace lmwb::gui

// What the window works on: the open model, the loaded suites, the current report, the reports being compared,
// and the job runner. Views read its members and listen to its signals; they change them only through the setters
// below, each of which signals.
#pragma once

#include <QObject>
#include <QString>

#include <memory>
#include <vector>

#include "jobs.h"
#include "lmwb/evaluation.h"
#include "lmwb/model.h"
#include "lmwb/suite.h"
#include "workspace.h"

namespace lmwb::gui {

class Session : public QObject {
    Q_OBJECT
public:
    explicit Session(QObject* parent = nullptr) : QObject(parent), jobs(this) {}

    std::shared_ptr<const LanguageModel> model;
    QString model_path;
    std::shared_ptr<const LanguageModel> other_model;  // model B of the inspector's side-by-side comparison
    QString other_model_path;
    std::vector<datasets::Suite> suites;
    std::shared_ptr<const eval::Report> report;  // the last run, or an opened report
    QString report_name, report_path;            // report_path: its file ("" when it has none)
    struct Named {
        QString name;
        std::shared_ptr<const eval::Report> report;
        QString path;
    };
    std::vector<Named> compared;  // the first is the baseline
    std::unique_ptr<Workspace> workspace;  // the run history; null when its folder cannot be used
    JobRunner jobs;

    // Brings the history's index up to date as a background job (Workspace::syncFolder, its own connection): the
    // window answers while thousands of reports are read. The History refreshes as the index fills and at the end.
    void syncHistory(bool rebuild = false) {
        if (!workspace) return;
        const QString folder = workspace->folder();
        jobs.start(QStringLiteral("history"), tr("Indexing the run history"), [this, folder, rebuild](JobContext& c) -> JobRunner::Apply {
            Workspace::syncFolder(folder, c.control, rebuild);
            return [this] { emit historyChanged(); };
        });
    }

    void setOtherModel(std::shared_ptr<const LanguageModel> m, const QString& path) {
        other_model = std::move(m);
        other_model_path = path;
        emit otherModelChanged();
    }
    void setWorkspace(std::unique_ptr<Workspace> ws) {
        workspace = std::move(ws);
        emit historyChanged();
    }
    void setModel(std::shared_ptr<const LanguageModel> m, const QString& path) {
        model = std::move(m);
        model_path = path;
        emit modelChanged();
    }
    void addSuite(datasets::Suite s) {
        for (auto& old : suites)
            if (old.name == s.name) {
                old = std::move(s);
                emit suitesChanged();
                return;
            }
        suites.push_back(std::move(s));
        emit suitesChanged();
    }
    void setReport(std::shared_ptr<const eval::Report> r, const QString& name, const QString& path = {}) {
        report = std::move(r);
        report_name = name;
        report_path = path;
        emit reportChanged();
    }
    void addCompared(std::shared_ptr<const eval::Report> r, const QString& name, const QString& path = {}) {
        compared.push_back({name, std::move(r), path});
        emit comparedChanged();
    }
    void setCompared(std::vector<Named> runs) {
        compared = std::move(runs);
        emit comparedChanged();
    }
    void clearCompared() {
        compared.clear();
        emit comparedChanged();
    }

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

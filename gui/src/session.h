// What the window works on: the open model, the loaded suites, the current report, the reports being compared,
// and the job runner. Views read it and listen to its signals.
#pragma once

#include <QObject>
#include <QString>

#include <memory>
#include <vector>

#include "jobs.h"
#include "lmwb/evaluation.h"
#include "lmwb/model.h"
#include "lmwb/suite.h"

namespace lmwb::gui {

class Session : public QObject {
    Q_OBJECT
public:
    explicit Session(QObject* parent = nullptr) : QObject(parent), jobs(this) {}

    std::shared_ptr<const LanguageModel> model;
    QString model_path;
    std::vector<datasets::Suite> suites;
    std::shared_ptr<const eval::Report> report;  // the last run, or an opened report
    QString report_name;
    struct Named {
        QString name;
        std::shared_ptr<const eval::Report> report;
    };
    std::vector<Named> compared;  // the first is the baseline
    JobRunner jobs;

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
    void setReport(std::shared_ptr<const eval::Report> r, const QString& name) {
        report = std::move(r);
        report_name = name;
        emit reportChanged();
    }
    void addCompared(std::shared_ptr<const eval::Report> r, const QString& name) {
        compared.push_back({name, std::move(r)});
        emit comparedChanged();
    }
    void clearCompared() {
        compared.clear();
        emit comparedChanged();
    }

signals:
    void modelChanged();
    void suitesChanged();
    void reportChanged();
    void comparedChanged();
    void inspectRequested(int suite, int row);
    void errorOccurred(const QString& title, const QString& message);
};

}  // namespace lmwb::gui

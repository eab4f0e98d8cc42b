// A shareable report: one self-contained HTML file (no scripts, no network; plots embedded as SVG images) with a run's
// settings, every aggregate with its interval, calibration, and, when runs are compared, every metric's paired test,
// the plots and the items that changed. Written as well-formed XHTML so that any HTML or XML parser reads it.
#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <utility>
#include <vector>

#include "lmwb/report_analysis.h"

namespace lmwb::gui {

struct HtmlReportInput {
    const eval::Report* report = nullptr;  // the run in front (may be null when only a comparison is exported)
    QString report_label;
    std::vector<eval::RunComparison> comparisons;  // against the baseline, as eval::compare_reports gives them
    QStringList run_labels;                        // baseline first
    std::vector<std::pair<QString, QByteArray>> plots;  // caption and SVG document
    QString software_version;
};

QString htmlReport(const HtmlReportInput& input);

}  // namespace lmwb::gui

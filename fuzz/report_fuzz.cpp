// Reports as compare and merge read them: one report, then optionally the separator and a second. Reading may fail
// with ReportError naming the file and field; a report that reads must write and read back unchanged, and
// comparing or merging readable reports either works or fails with ReportError.
#include <cstdint>

#include "fuzz_support.h"
#include "lmwb/report_analysis.h"
#include "lmwb/report.h"

using lmwb::fuzz::check;
using namespace lmwb::eval;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = lmwb::fuzz::split_files({reinterpret_cast<const char*>(data), size}, 2);
    std::vector<Report> reports;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        try {
            reports.push_back(report_from_json_text(std::string(parts[i]), "report-" + std::to_string(i) + ".json"));
        } catch (const ReportError&) {
            return 0;
        }
    }
    for (const auto& r : reports) {
        const std::string text = to_json_text(r);
        try {
            const Report back = report_from_json_text(text, "written.json");
            check(to_json_text(back) == text, "a report did not read back as it was written");
        } catch (const ReportError& e) {
            std::fprintf(stderr, "%s\n", e.what());
            check(false, "a report that was read could not be read back after writing");
        }
        deterministic_json(r);
    }
    const std::vector<std::string> names = {"a.json", "b.json"};
    try {
        compare_reports(reports.size() == 2 ? reports : std::vector<Report>{reports[0], reports[0]}, names, 20, 1);
    } catch (const ReportError&) {
    }
    try {
        merge_reports(reports, {names.begin(), names.begin() + static_cast<std::ptrdiff_t>(reports.size())});
    } catch (const ReportError&) {
    }
    return 0;
}

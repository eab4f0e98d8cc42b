// Human evaluation of a report's items: raters' files (never inside the report), and their summary with agreement
// statistics (docs/human-evaluation.md). Rubric dimensions come from the suite; pairwise preference compares two
// runs' responses, the order each rater saw recorded.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lmwb/report.h"

namespace lmwb::eval {

struct Rating {
    std::string suite, item, dimension, value;  // value: a rubric value, or A / B / tie for "preference"
    std::string a, b;                           // preference: the two runs (report names), A's and B's
    std::string first;                          // preference: "A" or "B", which response was shown first
    std::size_t line = 0;                       // in the file it was read from
};
struct RatingsFile {
    std::string rater, report;  // who rated, and the report file rated (its name)
    std::vector<Rating> ratings;
};

// JSONL: a header {"lmwb_ratings": 1, "rater": ..., "report": ...}, then a rating per line. Errors name file:line.
RatingsFile read_ratings(const std::string& path);
void write_ratings(const std::string& path, const RatingsFile& ratings, bool through_symlink = false);  // atomic, as write_file_atomic
// Ratings from a CSV (header suite,item,dimension,value) or JSONL file of the same fields, by one rater.
RatingsFile import_ratings(const std::string& path, const std::string& rater, const std::string& report_name);
// The ratings file of a rater beside a report: "<report without .json>.ratings.<rater>.jsonl", the rater's name
// percent-encoded outside [A-Za-z0-9_.~-] so that different names never share a file ("张伟" and "李娜" stay apart).
// Throws ReportError for a name that is empty once trimmed.
std::string ratings_file_for(const std::string& report_path, const std::string& rater);
// Every rating names a suite, item and rubric dimension of the report with an allowed value, once per rater;
// throws ReportError naming the file, line and field otherwise.
void check_ratings(const Report& report, const RatingsFile& ratings, const std::string& source);

RatingsSummary summarize_ratings(const Report& report, const std::vector<RatingsFile>& raters);

}  // namespace lmwb::eval

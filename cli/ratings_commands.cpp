// `lmwb ratings import|merge`: human ratings of a report's items, from raters' files into the report's summary.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "commands.h"
#include "lmwb/ratings.h"

namespace lmwb::cli {

namespace {

void print_summary(const eval::RatingsSummary& r) {
    auto opt = [](const std::optional<double>& v) { return v ? std::to_string(*v).substr(0, 6) : std::string("-"); };
    std::printf("raters: %zu\n", r.raters.size());
    std::printf("  %-18s %-12s %7s %6s %8s %10s   %-22s %7s %7s %7s\n", "suite", "dimension", "items", "raters", "ratings", "mean",
                "95% interval", "cohen", "fleiss", "alpha");
    for (const auto& d : r.dimensions) {
        const std::string interval = d.mean.has_interval ? "[" + std::to_string(d.mean.low).substr(0, 6) + ", " + std::to_string(d.mean.high).substr(0, 6) + "]" : "(one item)";
        std::printf("  %-18.18s %-12.12s %7zu %6zu %8zu %10.4f   %-22s %7s %7s %7s\n", d.suite.c_str(), d.mean.metric.c_str(), d.items, d.raters,
                    d.ratings, d.mean.value, interval.c_str(), opt(d.cohen_kappa).c_str(), opt(d.fleiss_kappa).c_str(), opt(d.krippendorff_alpha).c_str());
        for (const auto& j : d.judge)
            std::printf("  %-18s   judge %s vs humans: Spearman %.4f (%zu items)\n", "", j.metric.c_str(), j.spearman, j.n);
    }
    for (const auto& p : r.pairwise)
        std::printf("  %-18.18s %s vs %s: B won %zu, A won %zu, %zu ties; B's win rate %.4f [%.4f, %.4f]; A shown first %zu times%s\n",
                    p.suite.c_str(), p.a.c_str(), p.b.c_str(), p.b_wins, p.a_wins, p.ties, p.b_win_rate.value, p.b_win_rate.low,
                    p.b_win_rate.high, p.a_shown_first, p.krippendorff_alpha ? (", alpha " + opt(p.krippendorff_alpha)).c_str() : "");
}

}  // namespace

Action add_ratings_command(CLI::App& app) {
    struct Args {
        std::string report, out, rater, file;
        std::vector<std::string> ratings;
        bool through_symlink = false;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("ratings", "Human ratings of a report's items: import a rater's CSV/JSONL, merge raters into the report");
    cmd->require_subcommand(1);
    auto* imp = cmd->add_subcommand("import", "Turn a CSV (suite,item,dimension,value[,a,b,first]) or JSONL file into a rater's ratings file");
    // Files are not checked by CLI11 (exit 105, its own wording): a missing one is the reader's error, exit 1 as every other.
    imp->add_option("file", a->file, "CSV or JSONL file")->required();
    imp->add_option("--rater", a->rater, "The rater's name")->required();
    imp->add_option("--report", a->report, "The report rated (checked: suites, items, rubric values)")->required();
    imp->add_option("--out", a->out, "Ratings file to write")->required();
    imp->add_flag("--through-symlink", a->through_symlink, "When --out is a symbolic link, write to its target (else refused)");
    auto* merge = cmd->add_subcommand("merge", "Summarise raters' files into a copy of the report: means, win rates, agreement");
    merge->add_option("report", a->report, "The report rated")->required();
    merge->add_option("ratings", a->ratings, "One ratings file per rater")->required();
    merge->add_option("--out", a->out, "Report with the ratings section")->required();
    merge->add_flag("--through-symlink", a->through_symlink, "When --out is a symbolic link, write to its target (else refused)");
    return [a, imp]() -> int {
        eval::output_path(a->out, a->through_symlink);  // before reading anything
        auto report = eval::read_report(a->report);
        if (imp->parsed()) {
            auto r = eval::import_ratings(a->file, a->rater, std::filesystem::path(a->report).filename().string());
            eval::check_ratings(report, r, a->file);
            eval::write_ratings(a->out, r, a->through_symlink);
            std::printf("%s: %zu ratings by %s\n", a->out.c_str(), r.ratings.size(), r.rater.c_str());
            return 0;
        }
        std::vector<eval::RatingsFile> files;
        for (const auto& path : a->ratings) {
            files.push_back(eval::read_ratings(path));
            eval::check_ratings(report, files.back(), path);
        }
        report.ratings = eval::summarize_ratings(report, files);
        eval::write_report(a->out, report, a->through_symlink);
        print_summary(*report.ratings);
        std::printf("\nreport with ratings: %s\n", a->out.c_str());
        return 0;
    };
}

}  // namespace lmwb::cli

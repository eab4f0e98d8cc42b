// lmwb eval / merge / compare: suites on a model, shard reports combined, runs compared.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include <unistd.h>

#include "commands.h"
#include "lmwb/lm_eval_task.h"
#include "model_flags.h"
#include "interrupt.h"
#include "lmwb/attribution.h"
#include "lmwb/methods.h"
#include "lmwb/evaluation.h"
#include "lmwb/installation.h"
#include "lmwb/model.h"

namespace lmwb::cli {

namespace fs = std::filesystem;

namespace {

// A suite argument: a definition file, or the name of a bundled suite.
std::string resolve_suite(const std::string& arg) {
    std::error_code ec;
    if (fs::is_regular_file(arg, ec)) return arg;
    const std::string suites = bundled_suites_dir();
    if (suites.empty()) throw std::runtime_error(arg + ": no such suite file (and no bundled suites: their folder is missing)");
    const fs::path bundled = fs::path(suites) / (arg + ".json");
    if (arg.find('/') == std::string::npos && fs::is_regular_file(bundled, ec)) return bundled.string();
    throw std::runtime_error(arg + ": no such suite file (and no bundled suite of that name in " + suites + ")");
}

std::string clock_text(double s) {
    if (!std::isfinite(s) || s < 0) return "--:--";
    auto t = static_cast<long>(s + 0.5);
    char buf[32];
    if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
    return buf;
}

// A redrawn bar on a terminal; otherwise a plain line every 10% or 10 seconds. The ETA is the current suite's, at
// that suite's own rate (suites differ widely in cost per item), and the line names the suite it counts.
class ProgressPrinter {
public:
    explicit ProgressPrinter(bool quiet) : quiet_(quiet), tty_(::isatty(2)) {}
    void operator()(const eval::Progress& p) {
        if (quiet_) return;
        const double rate = p.elapsed > 0 ? static_cast<double>(p.tokens) / p.elapsed : 0;
        const std::string suite = p.suites > 1 ? p.suite + " (" + std::to_string(p.suite_index + 1) + "/" + std::to_string(p.suites) + ")" : p.suite;
        const std::string eta = clock_text(eval::suite_eta(p));
        if (tty_) {
            auto now = std::chrono::steady_clock::now();
            if (p.items_done != p.items_total && now - last_ < std::chrono::milliseconds(100)) return;
            last_ = now;
            const int width = 24;
            int fill = p.items_total ? static_cast<int>(width * p.items_done / p.items_total) : width;
            std::fprintf(stderr, "\r%-28.28s [%s%s] %zu/%zu items  %.0f tok/s  suite ETA %s ", suite.c_str(),
                         std::string(static_cast<std::size_t>(fill), '#').c_str(), std::string(static_cast<std::size_t>(width - fill), '.').c_str(),
                         p.items_done, p.items_total, rate, eta.c_str());
            if (p.items_done == p.items_total) std::fprintf(stderr, "\n");
        } else {
            std::size_t step = std::max<std::size_t>(1, p.items_total / 10);
            if (p.items_done % step && p.items_done != p.items_total && p.elapsed - last_line_ < 10) return;
            last_line_ = p.elapsed;
            std::fprintf(stderr, "lmwb: %s: %zu/%zu items of the suite, %zu/%zu in all, %.0f tokens/s, suite ETA %s\n", suite.c_str(),
                         p.suite_done, p.suite_total, p.items_done, p.items_total, rate, eta.c_str());
        }
    }

private:
    bool quiet_, tty_;
    std::chrono::steady_clock::time_point last_{};
    double last_line_ = -100;
};

void print_aggregates(const eval::Report& r) {
    for (const auto& s : r.suites) {
        std::printf("\n%s (%s, %zu items)\n", s.name.c_str(), s.kind.c_str(), s.items.size());
        std::printf("  %-22s %10s %10s   %-24s %s\n", "metric", "value", "stderr", "95% interval", "");
        for (const auto& a : s.aggregates) {
            std::printf("  %-22s %10.4f %10.4f   [%9.4f, %9.4f]   %s%s\n", a.metric.c_str(), a.value, a.stderr_, a.low, a.high,
                        a.higher_is_better ? "higher is better" : "lower is better", (", " + a.method).c_str());
            for (const auto& d : eval::aggregate_doubts(a, eval::find_metric(s, a.metric))) std::printf("  %-22s ! %s\n", "", d.c_str());
        }
        for (const auto& sl : s.slices) {
            std::printf("  %s = %s (%zu items)\n", sl.field.c_str(), sl.value.c_str(), sl.n);
            for (const auto& a : sl.aggregates) {
                if (a.has_interval)
                    std::printf("    %-20s %10.4f %10.4f   [%9.4f, %9.4f]\n", a.metric.c_str(), a.value, a.stderr_, a.low, a.high);
                else
                    std::printf("    %-20s %10.4f %10s   %-24s\n", a.metric.c_str(), a.value, "-", "(one item: no interval)");
            }
        }
    }
}

bool parse_shard(const std::string& text, int& k, int& n) {
    auto slash = text.find('/');
    if (slash == std::string::npos) return false;
    try {
        std::size_t a = 0, b = 0;
        k = std::stoi(text.substr(0, slash), &a);
        n = std::stoi(text.substr(slash + 1), &b);
        return a == slash && b == text.size() - slash - 1 && n >= 1 && k >= 1 && k <= n;
    } catch (const std::exception&) {
        return false;
    }
}

struct EvalArgs {
    std::string model, judge, out = "lmwb-report.json", shard;
    std::vector<std::string> suites;
    std::size_t limit = 0;
    std::uint64_t seed = 0;
    int batch_size = 8, bootstrap = 1000;
    ModelFlags flags;
    bool resume = false, quiet = false, through_symlink = false;
    bool chat = false, multiturn = false;  // --apply-chat-template, --fewshot-as-multiturn
    std::string system;
    std::vector<std::string> explain;  // item ids whose records carry an attribution
    std::string explain_method = "ig";
    int explain_steps = 50;
};

// Attributions for chosen items, attached to their records: multiple choice explains the gold answer after its
// delimiter, generation the model's response (its reference when the response is empty).
void attach_attributions(const LanguageModel& model, const std::vector<datasets::Suite>& suites, eval::Report& report,
                         const EvalArgs& a) {
    const attr::MethodInfo& method = attr::method_named(a.explain_method, true);
    std::size_t found = 0;
    for (std::size_t s = 0; s < report.suites.size(); ++s) {
        for (auto& item : report.suites[s].items) {
            if (std::find(a.explain.begin(), a.explain.end(), item.id) == a.explain.end()) continue;
            ++found;
            std::string target;
            if (!item.choices.empty()) target = (report.suites[s].chat ? "" : suites[s].target_delimiter) + item.target;
            else if (!item.references.empty()) target = item.response.empty() ? item.references.front() : item.response;
            else throw std::runtime_error("--explain " + item.id + ": perplexity items have no target to explain");
            item.attribution = attr::explain_item(method, model, item.prompt, target, a.explain_steps);
        }
    }
    if (found == 0) throw std::runtime_error("--explain: none of the given item ids is in the evaluated items");
}

}  // namespace

Action add_eval_command(CLI::App& app) {
    auto a = std::make_shared<EvalArgs>();
    auto* cmd = app.add_subcommand("eval", "Run evaluation suites on a model and write a JSON report");
    cmd->add_option("model", a->model, "Model folder (Hugging Face checkpoint or TorchScript bundle), or a repository name in the Hugging Face cache")->required();
    add_model_flags(cmd, a->flags);
    cmd->add_option("suites", a->suites, "Suite definition files, names of bundled suites, or lm-evaluation-harness task YAMLs (a file, a group, a folder)")->required();
    auto* out_option = cmd->add_option("--out,-o", a->out, "Report file (default: lmwb-report.json in the current folder; written atomically; its journal is OUT.journal.jsonl)");
    cmd->add_flag("--through-symlink", a->through_symlink, "When --out is a symbolic link, write the report to its target (else refused)");
    cmd->add_option("--limit", a->limit, "Only the first N items of each suite");
    cmd->add_option("--seed", a->seed, "Seed for sampling and bootstraps");
    cmd->add_option("--batch-size", a->batch_size, "Items per block and requests per forward pass (shards and resumes run whole blocks: shards of one run share it)");
    cmd->add_option("--judge", a->judge, "A separate scoring model for fluency and relevance");
    cmd->add_flag("--apply-chat-template", a->chat, "Prompts of multiple-choice and generation suites through the model's chat template (lm-eval's --apply_chat_template)");
    cmd->add_flag("--fewshot-as-multiturn", a->multiturn, "With a chat template: few-shot examples as alternating user/assistant turns");
    cmd->add_option("--system", a->system, "With a chat template: a system message before the prompt (lm-eval's --system_instruction)");
    cmd->add_option("--shard", a->shard, "Run slice K of N (blocks of --batch-size items, block b in slice b mod N + 1); combine with lmwb merge");
    cmd->add_option("--bootstrap", a->bootstrap, "Bootstrap iterations for non-mean metrics");
    cmd->add_flag("--resume", a->resume, "Continue an interrupted run from its journal");
    cmd->add_flag("--quiet,-q", a->quiet, "No progress output");
    cmd->add_option("--explain", a->explain, "Item ids whose records carry an attribution (comma separated)")->delimiter(',');
    cmd->add_option("--explain-method", a->explain_method, "Attribution method for --explain: " + attr::method_names(true));
    cmd->add_option("--explain-steps", a->explain_steps, "Integrated gradients steps for --explain");
    return [a, out_option]() -> int {
        eval::EvalOptions opt;
        opt.settings.seed = a->seed;
        opt.settings.limit = a->limit;
        opt.settings.bootstrap_iterations = a->bootstrap;
        if (!a->shard.empty() && !parse_shard(a->shard, opt.settings.shard_index, opt.settings.shard_count))
            throw std::runtime_error("--shard '" + a->shard + "': expected K/N with 1 <= K <= N, e.g. 2/4");
        if (a->batch_size < 1 || a->batch_size > eval::kMaxBatchSize)
            throw std::runtime_error("--batch-size must be 1 to " + std::to_string(eval::kMaxBatchSize));
        if (a->bootstrap < 0 || a->bootstrap > eval::kMaxResamples)
            throw std::runtime_error("--bootstrap must be 0 (no intervals) to " + std::to_string(eval::kMaxResamples));
        ModelOptions mo = model_options(a->flags);  // checked before anything is written
        {  // the report's place is usable before hours of work go into it
            std::error_code ec;
            const std::filesystem::path out(a->out);
            if (out_option->count() == 0)  // said even with --quiet: a file appears where nobody asked for one
                std::fprintf(stderr, "lmwb: no --out given: the report goes to %s\n", std::filesystem::absolute(out, ec).c_str());
            if (std::filesystem::is_directory(out, ec))
                throw std::runtime_error("--out " + a->out + " is a folder; give the report's file name, e.g. " + (out / "report.json").string());
            const auto parent = out.parent_path().empty() ? std::filesystem::path(".") : out.parent_path();
            if (!std::filesystem::is_directory(parent, ec)) throw std::runtime_error("--out " + a->out + ": folder " + parent.string() + " does not exist");
            eval::output_path(a->out, a->through_symlink);  // never a device, FIFO or (unasked) a link's target
            eval::output_path(a->out + ".journal.jsonl");
        }
        std::vector<datasets::Suite> suites;
        for (const auto& s : a->suites) {
            if (datasets::is_lm_eval_path(s)) {  // lm-evaluation-harness task YAMLs: a file, a group, a folder
                for (auto& t : datasets::load_lm_eval_tasks(s)) suites.push_back(std::move(t));
                continue;
            }
            suites.push_back(datasets::load_suite(resolve_suite(s)));
        }
        for (const auto& s : suites) eval::resolve_metrics(s);  // unknown metrics fail before the model loads
        if (!a->explain.empty()) attr::method_named(a->explain_method, true);  // before the model loads
        auto model = LanguageModel::open(a->model, mo);
        for (const auto& w : model->info().warnings) std::fprintf(stderr, "lmwb: warning: %s: %s\n", a->model.c_str(), w.c_str());
        std::unique_ptr<LanguageModel> judge;
        if (!a->judge.empty()) {
            ModelOptions jo = mo;
            jo.revision = "main";  // --revision names the model's snapshot, not the judge's
            judge = LanguageModel::open(a->judge, jo);
        }
        opt.settings.batch_size = a->batch_size;
        opt.settings.apply_chat_template = a->chat;
        opt.settings.fewshot_as_multiturn = a->multiturn;
        opt.settings.system_instruction = a->system;
        opt.threads = a->flags.threads ? a->flags.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        opt.journal_path = a->out + ".journal.jsonl";
        opt.resume = a->resume;
        opt.cancel = interrupt_token();
        opt.software_version = version();
        ProgressPrinter printer(a->quiet);
        opt.progress = [&printer](const eval::Progress& p) { printer(p); };
        auto outcome = [&] {
            InterruptGuard interrupts;  // a second Ctrl-C stops at once; the journal keeps what finished
            return eval::evaluate(*model, judge.get(), suites, opt);
        }();
        if (!outcome.complete) {
            std::size_t done = 0;
            for (const auto& s : outcome.report.suites) done += s.items.size();
            std::fprintf(stderr, "\nlmwb: interrupted: %zu items done, kept in %s; no report written. Run the same command with "
                                 "--resume to finish.\n", done, opt.journal_path.c_str());
            return 130;
        }
        if (!a->explain.empty()) attach_attributions(*model, suites, outcome.report, *a);
        eval::write_report(a->out, outcome.report, a->through_symlink);
        std::error_code ec;
        fs::remove(opt.journal_path, ec);
        if (!a->quiet) {
            print_aggregates(outcome.report);
            const auto& e = outcome.report.execution;
            std::printf("\nreport: %s (%.2f s, %zu tokens, %.0f tokens/s%s)\n", a->out.c_str(), e.wall_seconds, e.tokens,
                        e.tokens_per_second, outcome.resumed_items ? (", " + std::to_string(outcome.resumed_items) + " items from the journal").c_str() : "");
        }
        return 0;
    };
}

Action add_merge_command(CLI::App& app) {
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto out = std::make_shared<std::string>();
    auto through = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand("merge", "Combine the shard reports of one run (lmwb eval --shard K/N) into one report");
    cmd->add_option("reports", *inputs, "Shard reports, all N of them")->required();
    cmd->add_option("--out,-o", *out, "The combined report")->required();
    cmd->add_flag("--through-symlink", *through, "When --out is a symbolic link, write to its target (else refused)");
    return [inputs, out, through]() -> int {
        eval::output_path(*out, *through);  // before reading anything
        std::error_code ec;
        for (const auto& p : *inputs)  // the combined report never replaces one of its shards
            if (std::filesystem::exists(*out, ec) && std::filesystem::equivalent(*out, p, ec))
                throw std::runtime_error("--out " + *out + " is one of the shard reports; write the merged report elsewhere");
        std::vector<eval::Report> reports;
        for (const auto& p : *inputs) reports.push_back(eval::read_report(p));
        auto merged = eval::merge_reports(reports, *inputs);
        eval::write_report(*out, merged, *through);
        print_aggregates(merged);
        std::printf("\nreport: %s (merged from %zu shards)\n", out->c_str(), inputs->size());
        return 0;
    };
}

Action add_methods_command(CLI::App& app) {
    app.add_subcommand("methods", "List the interpretability methods: what each computes, needs and reads (Markdown)");
    return []() -> int {
        std::cout << attr::methods_markdown();
        return 0;
    };
}

Action add_formats_command(CLI::App& app) {
    auto which = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("formats", "The fields of the files lmwb reads and writes, as the Markdown tables of docs/suite-format.md "
                                              "and docs/report-schema.md");
    cmd->add_option("format", *which, "suite or report")->required()->check(CLI::IsMember({"suite", "report"}));
    return [which]() -> int {
        std::cout << (*which == "suite" ? datasets::suite_fields_markdown() : eval::report_fields_markdown());
        return 0;
    };
}

Action add_metrics_command(CLI::App& app) {
    auto markdown = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand("metrics", "List the metrics a suite may ask for, by kind");
    cmd->add_flag("--markdown", *markdown, "Print the Markdown table of docs/suite-format.md");
    return [markdown]() -> int {
        if (*markdown) {
            std::cout << eval::metrics_markdown();
            return 0;
        }
        for (const auto& m : eval::metric_catalog())
            std::printf("%-16s %-26s %-3s %-7s %-6s %s (%s)\n", datasets::to_string(m.kind).c_str(), m.name.c_str(), m.default_on ? "on" : "",
                        m.aggregation == eval::Aggregation::Mean ? "mean" : "corpus", m.higher_is_better ? "higher" : "lower",
                        m.description.c_str(), m.convention.c_str());
        return 0;
    };
}

Action add_compare_command(CLI::App& app) {
    struct Args {
        std::vector<std::string> reports;
        bool json = false;
        int iterations = 1000;
        std::uint64_t seed = 0;
        std::size_t show = 10;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("compare", "Compare runs on the same suites: deltas against the first report with paired tests");
    cmd->add_option("reports", a->reports, "Reports; the first is the baseline")->required();
    cmd->add_flag("--json", a->json, "Print JSON");
    cmd->add_option("--iterations", a->iterations, "Paired bootstrap resamples");
    cmd->add_option("--seed", a->seed, "Bootstrap seed");
    cmd->add_option("--show", a->show, "Per-item regressions and improvements to list (terminal output)");
    return [a]() -> int {
        std::vector<eval::Report> reports;
        for (const auto& p : a->reports) reports.push_back(eval::read_report(p));
        if (a->iterations < eval::kMinSwaps || a->iterations > eval::kMaxResamples)
            throw std::runtime_error("--iterations must be " + std::to_string(eval::kMinSwaps) + " to " + std::to_string(eval::kMaxResamples));
        auto cmp = eval::compare_reports(reports, a->reports, a->iterations, a->seed);
        if (a->json) {
            std::cout << eval::comparisons_to_json(cmp);
            return 0;
        }
        for (const auto& rc : cmp) {
            std::printf("%s  vs  baseline %s  (%zu paired items%s)\n\n", rc.other.c_str(), rc.baseline.c_str(), rc.paired,
                        rc.unpaired ? (", " + std::to_string(rc.unpaired) + " unpaired").c_str() : "");
            std::printf("  %-18s %-20s %10s %10s %10s   %-22s %s\n", "suite", "metric", "baseline", "other", "delta", "95% interval", "paired test");
            // Fixed notation up to a million, then significant digits (a perplexity of 1e308 is not 309 digits wide).
            auto fmt = [](double v, bool sign) {
                char b[40];
                if (std::fabs(v) < 1e6) std::snprintf(b, sizeof b, sign ? "%+.4f" : "%.4f", v);
                else std::snprintf(b, sizeof b, sign ? "%+.4g" : "%.4g", v);
                return std::string(b);
            };
            for (const auto& m : rc.metrics) {
                const std::string test = eval::describe_test(m), verdict = eval::verdict(m);
                const std::string where = m.slice.empty() ? m.suite : "  " + m.slice;  // slices under their suite's rows
                std::printf("  %-18.18s %-20s %10s %10s %10s   [%8s, %8s]   %s%s%s\n", where.c_str(), m.metric.c_str(), fmt(m.baseline, false).c_str(),
                            fmt(m.other, false).c_str(), fmt(m.delta.delta, true).c_str(), fmt(m.delta.low, true).c_str(),
                            fmt(m.delta.high, true).c_str(), test.c_str(), verdict.empty() ? "" : "  ", verdict.c_str());
            }
            std::printf("\n  items: %zu regressions, %zu improvements, %zu unchanged", rc.regressions.size(), rc.improvements.size(), rc.unchanged);
            if (rc.not_comparable) std::printf(", %zu not comparable (the value is missing in one run)", rc.not_comparable);
            std::printf("\n");
            auto list = [&](const char* title, const std::vector<eval::ItemChange>& v) {
                if (v.empty() || a->show == 0) return;
                std::printf("  %s:\n", title);
                for (std::size_t i = 0; i < v.size() && i < a->show; ++i)
                    std::printf("    %-18.18s %-24.24s %s %.4g -> %.4g\n", printable(v[i].suite).c_str(), printable(v[i].id).c_str(),
                                v[i].metric.c_str(), v[i].baseline, v[i].other);
                if (v.size() > a->show) std::printf("    ... %zu more (--show N, or --json)\n", v.size() - a->show);
            };
            list("regressions", rc.regressions);
            list("improvements", rc.improvements);
            std::printf("\n");
        }
        return 0;
    };
}

}  // namespace lmwb::cli

// The evaluation runner's cost over raw engine scoring on a bundled suite, and the time of the whole bundled demo
// evaluation. Both sides are measured back to back in each round; the table quotes medians.
//   bench_eval [--model DIR] [--rounds N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "bench_support.h"
#include "lmwb/evaluation.h"
#include "lmwb/model.h"

namespace fs = std::filesystem;

using lmwb::bench::median;
using lmwb::bench::now;
using lmwb::bench::status_kb;

namespace {

}  // namespace

int main(int argc, char** argv) {
    std::string model_dir = std::string(LMWB_SOURCE_DIR) + "/models/tiny-b";
    int rounds = 7;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--model" && i + 1 < argc) model_dir = argv[++i];
        else if (a == "--rounds" && i + 1 < argc) rounds = std::max(1, std::stoi(argv[++i]));
    }
    const std::string suites_dir = std::string(LMWB_SOURCE_DIR) + "/datasets/suites/";
    auto model = lmwb::LanguageModel::open(model_dir);
    auto mc = lmwb::datasets::load_suite(suites_dir + "world-facts-mc.json");
    mc.metrics = {"acc", "acc_norm", "brier", "ece"};  // the raw side scores exactly these requests
    std::vector<lmwb::ScoreRequest> reqs;
    for (const auto& item : mc.items)
        for (const auto& c : item.choices) reqs.push_back({item.prompt, mc.target_delimiter + c});

    std::vector<lmwb::datasets::Suite> all;
    for (const char* n : {"world-facts-mc", "world-facts-qa", "world-stories-continue", "world-stories-ppl"})
        all.push_back(lmwb::datasets::load_suite(suites_dir + n + ".json"));

    const std::string journal = (fs::temp_directory_path() / "lmwb-bench-eval.journal.jsonl").string();
    lmwb::eval::EvalOptions opt;
    opt.journal_path = journal;
    model->score(reqs, 8);  // warm-up
    std::vector<double> raw, runner, demo;
    for (int r = 0; r < rounds; ++r) {
        double t0 = now();
        auto res = model->score(reqs, 8);
        raw.push_back(now() - t0);
        fs::remove(journal);
        t0 = now();
        auto out = lmwb::eval::evaluate(*model, nullptr, {mc}, opt);
        runner.push_back(now() - t0);
        fs::remove(journal);
        t0 = now();
        auto whole = lmwb::eval::evaluate(*model, nullptr, all, opt);
        demo.push_back(now() - t0);
        fs::remove(journal);
        if (!out.complete || !whole.complete) return 1;
    }
    // The bundled generation suites, items decoded 8 at a time against one at a time.
    std::vector<lmwb::datasets::Suite> gen;
    for (const char* n : {"world-facts-qa", "world-stories-continue"}) gen.push_back(lmwb::datasets::load_suite(suites_dir + n + ".json"));
    std::vector<double> gen8, gen1;
    for (int r = 0; r < rounds; ++r)
        for (int b : {8, 1}) {
            auto o = opt;
            o.settings.batch_size = b;
            double t0 = now();
            auto out = lmwb::eval::evaluate(*model, nullptr, gen, o);
            (b == 8 ? gen8 : gen1).push_back(now() - t0);
            fs::remove(journal);
            if (!out.complete) return 1;
        }
    std::size_t gen_items = 0;
    for (const auto& s : gen) gen_items += s.items.size();
    std::size_t demo_items = 0;
    for (const auto& s : all) demo_items += s.items.size();
    double overhead = median(runner) / median(raw) - 1;
    // Per round, so that a busy spell on the machine hits both sides of the ratio.
    std::vector<double> ratios;
    for (int r = 0; r < rounds; ++r) ratios.push_back(runner[static_cast<std::size_t>(r)] / raw[static_cast<std::size_t>(r)] - 1);
    std::printf("\nmodel: %s (%lld parameters); %d rounds, medians\n\n", model_dir.c_str(),
                static_cast<long long>(model->info().parameters), rounds);
    std::printf("%-58s %10s %10s\n", "measure", "value", "target");
    std::printf("%-58s %10.3f\n", "raw engine scoring of world-facts-mc (424 requests), s", median(raw));
    std::printf("%-58s %10.3f\n", "lmwb eval runner on world-facts-mc (journal, metrics), s", median(runner));
    std::printf("%-58s %9.1f%% %10s\n", "runner overhead (ratio of medians)", overhead * 100, "<= 5%");
    std::printf("%-58s %9.1f%%\n", "runner overhead (median of per-round ratios)", median(ratios) * 100);
    std::printf("%-58s %10.3f %10s\n", ("whole bundled demo evaluation (4 suites, " + std::to_string(demo_items) + " items), s").c_str(),
                median(demo), "a few s");
    const std::string g = "generation suites (qa, continue; " + std::to_string(gen_items) + " items)";
    std::printf("%-58s %10.3f\n", (g + ", batch 8, s").c_str(), median(gen8));
    std::printf("%-58s %10.3f\n", (g + ", one at a time, s").c_str(), median(gen1));
    return 0;
}

// Scoring and decoding throughput on the GPT-2-small-sized checkpoint bench_model writes, both sides back to back in
// each round, medians:
//   - multiple choice with and without shared prefixes: 48 items of four choices, 64-token contexts, continuations of
//     1-4 tokens, batch 8. Targets: >= 1.8x, log-likelihoods within 1e-5;
//   - decoding 8 prompts of 16-40 tokens, 32 new tokens each, greedy: one batch of 8 against one prompt at a time.
//     Target: >= 4x tokens/s in the decode phase (the time of 32 new tokens less that of 1, which is the prompt's
//     pass), identical outputs; whole generations quoted beside it.
//   bench_scoring [--dir DIR] [--rounds N] [--items N]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bench_support.h"
#include "lmwb/model.h"

namespace fs = std::filesystem;
using lmwb::bench::median;
using lmwb::bench::now;

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::string dir = (fs::temp_directory_path() / "lmwb-bench-gpt2-small").string();
    int rounds = 3, items = 48;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--dir" && i + 1 < argc) dir = argv[++i];
        else if (a == "--rounds" && i + 1 < argc) rounds = std::max(1, std::stoi(argv[++i]));
        else if (a == "--items" && i + 1 < argc) items = std::max(1, std::stoi(argv[++i]));
    }
    if (!fs::exists(fs::path(dir) / "model.safetensors")) {
        std::fprintf(stderr, "%s: no checkpoint; run build/bench/bench_model once to write it\n", dir.c_str());
        return 1;
    }
    lmwb::ModelOptions shared, plain;
    plain.share_prefixes = false;
    auto a = lmwb::LanguageModel::open(dir, shared), b = lmwb::LanguageModel::open(dir, plain);
    std::mt19937 rng(9);
    auto words = [&](int n, bool lead) {
        std::string s;
        for (int i = 0; i < n; ++i) s += (i || lead ? " w" : "w") + std::to_string(rng() % 50000);
        return s;
    };
    std::vector<lmwb::ScoreRequest> reqs;
    for (int i = 0; i < items; ++i) {
        const std::string context = words(64, false);
        for (int c = 0; c < 4; ++c) reqs.push_back({context, words(1 + static_cast<int>(rng() % 4), true)});
    }
    a->score({reqs.front()}, 1);  // warm-up, weights resident
    b->score({reqs.front()}, 1);
    std::vector<double> ta, tb;
    double worst = 0;
    for (int r = 0; r < rounds; ++r) {
        double t0 = now();
        auto x = a->score(reqs, 8);
        ta.push_back(now() - t0);
        t0 = now();
        auto y = b->score(reqs, 8);
        tb.push_back(now() - t0);
        for (std::size_t i = 0; i < reqs.size(); ++i) worst = std::max(worst, std::fabs(x[i].logprob - y[i].logprob));
        std::printf("round %d: shared %.2f s, plain %.2f s\n", r + 1, ta.back(), tb.back());
    }
    // Decoding: 8 prompts together against one at a time.
    std::vector<std::string> prompts;
    std::vector<lmwb::GenerationOptions> gopts;
    for (int i = 0; i < 8; ++i) {
        prompts.push_back(words(16 + 3 * i, false));
        lmwb::GenerationOptions g;
        g.max_new_tokens = 32;
        g.alternatives = 0;
        gopts.push_back(g);
    }
    bool same = true;
    // Whole generations, then the same with one new token (the prompts' pass): the difference is the decode phase.
    auto run = [&](int new_tokens, std::vector<lmwb::GenerationResult>* out) {
        auto opts = gopts;
        for (auto& g : opts) g.max_new_tokens = new_tokens;
        double t0 = now();
        auto together = a->generate_batch(prompts, opts);
        const double batch = now() - t0;
        t0 = now();
        std::vector<lmwb::GenerationResult> ones;
        for (std::size_t i = 0; i < prompts.size(); ++i) ones.push_back(a->generate(prompts[i], opts[i]));
        const double one = now() - t0;
        if (out) {
            *out = ones;
            for (std::size_t i = 0; i < ones.size(); ++i) same = same && ones[i].text == together[i].text;
        }
        return std::pair{batch, one};
    };
    std::vector<double> tbatch, tone, dbatch, done;
    std::size_t new_tokens = 0;
    for (int r = 0; r < rounds; ++r) {
        std::vector<lmwb::GenerationResult> ones;
        auto [b32, o32] = run(32, &ones);
        auto [b1, o1] = run(1, nullptr);
        new_tokens = 0;
        for (auto& g : ones) new_tokens += g.tokens.size();
        tbatch.push_back(b32), tone.push_back(o32), dbatch.push_back(b32 - b1), done.push_back(o32 - o1);
        std::printf("round %d: 32 new tokens: batch of 8 %.2f s, one at a time %.2f s; 1 new token: %.2f s, %.2f s\n", r + 1, b32,
                    o32, b1, o1);
    }
    std::printf("\n%d items x 4 choices, 64-token contexts, batch 8, %d rounds (medians)\n", items, rounds);
    std::printf("%-44s %10s %10s %8s %10s\n", "measure", "shared", "plain", "ratio", "target");
    std::printf("%-44s %10.2f %10.2f %8.2f %10s\n", "scoring time, s", median(ta), median(tb), median(tb) / median(ta), ">= 1.8x");
    std::printf("%-44s %10.2g %10s %8s %10s\n", "largest |log-likelihood difference|", worst, "", "", "<= 1e-5");
    const double nt = static_cast<double>(new_tokens);
    std::printf("%-44s %10s %10s %8s %10s\n", "", "batch 8", "one by one", "", "");
    const double decoded = nt - static_cast<double>(prompts.size());  // the first token of each comes from the prompt's pass
    std::printf("%-44s %10.1f %10.1f %8.2f %10s\n", "decode phase, tokens/s (8 x 31, greedy)", decoded / median(dbatch),
                decoded / median(done), median(done) / median(dbatch), ">= 4x");
    std::printf("%-44s %10.1f %10.1f %8.2f\n", "whole generations, new tokens/s (8 x 32)", nt / median(tbatch), nt / median(tone),
                median(tone) / median(tbatch));
    std::printf("%-44s %10s\n", "outputs identical", same ? "yes" : "NO");
    return 0;
}

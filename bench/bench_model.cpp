// Engine speed and memory on a GPT-2-small-sized checkpoint (12 layers, 768 wide, 50257 vocab, random weights)
// against a Python + PyTorch implementation of the same model on the same weights that scores the way
// lm-evaluation-harness does (scripts/reference/gpt2_bench_reference.py), measured in the same run.
//   bench_model [--dir DIR] [--threads N] [--rounds N] [--skip-reference] [--skip-nocache]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <algorithm>

#include <nlohmann/json.hpp>

#include "bench_support.h"
#include "lmwb/model.h"

namespace fs = std::filesystem;

using lmwb::bench::median;
using lmwb::bench::now;
using lmwb::bench::status_kb;

namespace {

nlohmann::json run_python(const std::string& args) {
    std::string cmd = "/usr/bin/python3 " + std::string(LMWB_SOURCE_DIR) + "/scripts/reference/gpt2_bench_reference.py " + args;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return nullptr;
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    if (pclose(p) != 0) return nullptr;
    auto nl = out.find_last_of('{');
    return nl == std::string::npos ? nullptr : nlohmann::json::parse(out.substr(nl), nullptr, false);
}

std::string words(const std::vector<int>& ids, bool leading_space) {
    std::string s;
    for (std::size_t i = 0; i < ids.size(); ++i) s += (i || leading_space ? " w" : "w") + std::to_string(ids[i]);
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = (fs::temp_directory_path() / "lmwb-bench-gpt2-small").string();
    int threads = 0;
    bool reference = true, nocache = true;
    int rounds = 3;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--dir" && i + 1 < argc) dir = argv[++i];
        else if (a == "--threads" && i + 1 < argc) threads = std::stoi(argv[++i]);
        else if (a == "--skip-reference") reference = false;
        else if (a == "--skip-nocache") nocache = false;
        else if (a == "--rounds" && i + 1 < argc) rounds = std::max(1, std::stoi(argv[++i]));
    }
    if (!fs::exists(fs::path(dir) / "model.safetensors")) {
        std::printf("writing a GPT-2-small-sized checkpoint to %s ...\n", dir.c_str());
        if (run_python("make " + dir).is_null() && !fs::exists(fs::path(dir) / "model.safetensors")) {
            std::fprintf(stderr, "could not create the checkpoint (needs /usr/bin/python3 with torch)\n");
            return 1;
        }
    }
    lmwb::ModelOptions opt;
    opt.threads = threads;
    std::size_t rss_before = lmwb::bench::status_kb("VmRSS:") * 1024;  // the program and its libraries, before any weight
    double t0 = now();
    auto model = lmwb::LanguageModel::open(dir, opt);
    double load_s = now() - t0;
    const auto& info = model->info();
    double weights_mb = static_cast<double>(info.weight_bytes) / 1e6;

    // lm-eval-style scoring: batches of 8 requests, 128-token context + 8-token continuation.
    std::mt19937 rng(1);
    const int n_batches = 6, bs = 8;
    std::vector<lmwb::ScoreRequest> reqs;
    nlohmann::json py_batches = nlohmann::json::array();
    for (int b = 0; b < n_batches; ++b) {
        nlohmann::json batch = nlohmann::json::array();
        for (int r = 0; r < bs; ++r) {
            std::vector<int> ctx(128), cont(8);
            for (auto& x : ctx) x = static_cast<int>(rng() % 50000);
            for (auto& x : cont) x = static_cast<int>(rng() % 50000);
            reqs.push_back({words(ctx, false), words(cont, true)});
            batch.push_back({ctx, cont});
        }
        py_batches.push_back(batch);
    }
    // Full-sequence scoring: 4 windows of the 1024-token context.
    std::vector<int> long_ids(4096);
    for (auto& x : long_ids) x = static_cast<int>(rng() % 50000);
    std::string reqs_path = dir + "/bench_requests.json", ids_path = dir + "/bench_ids.json";
    if (reference) {
        std::ofstream(reqs_path) << nlohmann::json{{"batches", py_batches}}.dump();
        std::ofstream(ids_path) << nlohmann::json(long_ids).dump();
    }

    // Each round measures both sides back to back, so a busy spell on this shared machine hits both; the table
    // quotes medians over the rounds.
    model->score(std::vector<lmwb::ScoreRequest>(reqs.begin(), reqs.begin() + bs), bs);  // warm-up
    std::vector<double> ours_score, ref_score, ours_roll, ref_roll;
    double our_sum = 0, ref_sum = 0;
    std::string long_text = words(long_ids, false);
    for (int round = 0; round < rounds; ++round) {
        t0 = now();
        auto results = model->score(reqs, bs);
        ours_score.push_back(static_cast<double>(reqs.size()) * 135 / (now() - t0));
        our_sum = 0;
        for (auto& r : results) our_sum += r.logprob;
        t0 = now();
        auto rolled = model->rolling_loglikelihood(long_text);
        ours_roll.push_back(static_cast<double>(rolled.tokens) / (now() - t0));
        if (reference) {
            auto py_score = run_python("score " + dir + " " + reqs_path);
            auto py_roll = run_python("rolling " + dir + " " + ids_path);
            if (py_score.is_object()) {
                ref_score.push_back(py_score["tokens_per_second"].get<double>());
                ref_sum = py_score["logprob_sum"].get<double>();
            }
            if (py_roll.is_object()) ref_roll.push_back(py_roll["tokens_per_second"].get<double>());
        }
        std::printf("round %d: scoring %.0f vs %.0f tokens/s, full-sequence %.0f vs %.0f tokens/s\n", round + 1,
                    ours_score.back(), ref_score.empty() ? 0.0 : ref_score.back(), ours_roll.back(),
                    ref_roll.empty() ? 0.0 : ref_roll.back());
    }
    std::size_t rss = lmwb::bench::status_kb("VmHWM:") * 1024 - rss_before;
    // Forward FLOPs per token: 2 x (non-embedding weights + LM head) + attention over the window (average 512).
    double D = 768, L = 12, V = 50257, ctx = 1024;
    double flops_per_token = 2 * (L * 12 * D * D + V * D) + L * 4 * D * (ctx / 2);
    double gflops = flops_per_token * median(ours_roll) / 1e9;
    double machine = lmwb::matmul_gflops(1024, threads);

    // Generation: 256 new tokens with and without the KV cache.
    lmwb::GenerationOptions g;
    g.max_new_tokens = 256;
    g.alternatives = 0;
    std::string prompt = words(std::vector<int>(long_ids.begin(), long_ids.begin() + 16), false);
    t0 = now();
    auto with_cache = model->generate(prompt, g);
    double cache_s = now() - t0;
    g.use_cache = false;
    t0 = now();
    if (nocache) model->generate(prompt, g);
    double nocache_s = nocache ? now() - t0 : 0;
    auto latency = [&](std::size_t i) {
        return with_cache.tokens[i].seconds - (i ? with_cache.tokens[i - 1].seconds : 0.0);
    };
    auto median_latency = [&](std::size_t center) {
        std::vector<double> v;
        for (std::size_t i = center - 3; i <= center + 3 && i < with_cache.tokens.size(); ++i) v.push_back(latency(i));
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    double lat16 = median_latency(15), lat256 = median_latency(std::min<std::size_t>(252, with_cache.tokens.size() - 4));

    // Batch-8 decode: 8 prompts of 16 tokens, 128 new tokens each. A step reads every weight once for all 8 rows:
    // weight bytes per second against the machine's read bandwidth (docs/performance.md: what the rest of the step
    // costs).
    lmwb::GenerationOptions g8;
    g8.max_new_tokens = 128;
    g8.alternatives = 0;
    std::vector<std::string> prompts8;
    for (int r = 0; r < 8; ++r) prompts8.push_back(words(std::vector<int>(long_ids.begin() + 16 * (r + 1), long_ids.begin() + 16 * (r + 2)), false));
    // The memory probe runs before, between and after the rounds: the ratio compares the same minutes.
    std::vector<double> steps8, probes;
    {
        lmwb::bench::MemoryReadProbe probe(threads);
        probes.push_back(probe.gbps());
        for (int round = 0; round < std::min(rounds, 2); ++round) {
            auto batch = model->generate_batch(prompts8, std::vector<lmwb::GenerationOptions>(8, g8));
            const auto& toks = batch[0].tokens;  // every step computes all rows: row 0's token times are the steps'
            for (std::size_t i = 1; i < toks.size(); ++i) steps8.push_back(toks[i].seconds - toks[i - 1].seconds);
            probes.push_back(probe.gbps());
        }
    }
    double step8 = median(steps8);
    double weight_gbps = static_cast<double>(info.weight_bytes) / step8 / 1e9;
    double bandwidth = median(probes);

    std::printf("\nmodel: %s, %lld parameters, %.0f MB of weights, loaded in %.2f s; threads: %d; matmul: %.1f GFLOP/s\n\n",
                info.architecture.c_str(), static_cast<long long>(info.parameters), weights_mb, load_s,
                threads ? threads : static_cast<int>(std::thread::hardware_concurrency()), machine);
    std::printf("%-46s %12s %12s %8s %10s\n", "measure", "lmwb", "reference", "ratio", "target");
    auto row = [](const char* what, double ours, double ref, const char* target) {
        if (ref > 0) std::printf("%-46s %12.1f %12.1f %8.2f %10s\n", what, ours, ref, ours / ref, target);
        else std::printf("%-46s %12.1f %12s %8s %10s\n", what, ours, "-", "-", target);
    };
    row("lm-eval scoring, tokens/s (8 x 136 tokens)", median(ours_score), median(ref_score), ">= 1.5x");
    row("full-sequence scoring, tokens/s", median(ours_roll), median(ref_roll), ">= 1.0x");
    std::printf("%-46s %12.1f %12.1f %8.2f %10s\n", "full-sequence GFLOP/s (vs matmul roofline)", gflops, machine, gflops / machine, ">= 0.6");
    std::printf("%-46s %12.2f %12.2f %8.2f %10s\n", "generation 256 tokens, s (cache vs none)", cache_s, nocache_s, nocache_s / cache_s, ">= 3x");
    std::printf("%-46s %12.2f %12.2f %8.2f %10s\n", "token latency ms (256th vs 16th)", lat256 * 1e3, lat16 * 1e3, lat256 / lat16, "<= 1.5x");
    std::printf("%-46s %12.1f %12.1f %8.2f %10s\n", "one-row decode, weight GB/s (vs memory read)", static_cast<double>(info.weight_bytes) / lat16 / 1e9,
                bandwidth, static_cast<double>(info.weight_bytes) / lat16 / 1e9 / bandwidth, "");
    std::printf("%-46s %12.1f %12s %8s %10s\n", "batch-8 decode, tokens/s (8 rows x 128 steps)", 8 / step8, "-", "-", "");
    std::printf("%-46s %12.1f %12.1f %8.2f %10s\n", "batch-8 decode, weight GB/s (vs memory read)", weight_gbps, bandwidth, weight_gbps / bandwidth, ">= 0.6");
    std::printf("%-46s %12.0f %12.0f %8.2f %10s\n", "peak RSS growth MB while scoring (vs weights)", static_cast<double>(rss) / 1e6, weights_mb,
                static_cast<double>(rss) / 1e6 / weights_mb, "<= 1.5x");
    std::printf("\nmemory read GB/s before, between and after the batch-8 rounds:");
    for (double probe : probes) std::printf(" %.1f", probe);
    std::printf("\n");
    if (!ref_score.empty())
        std::printf("\nsum of continuation log-probs: lmwb %.3f, reference %.3f\n", our_sum, ref_sum);
    std::printf("medians of %d rounds; each round runs lmwb and the reference back to back\n", rounds);
    return 0;
}

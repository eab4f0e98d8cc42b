// Engine speed and memory on a GPT-2-small-sized checkpoint (12 layers, 768 wide, 50257 vocab, random weights)
// against a Python + PyTorch implementation of the same model on the same weights that scores the way
// lm-evaluation-harness does (scripts/reference/gpt2_bench_reference.py), measured in the same run.
//   bench_model [--dir DIR] [--threads N] [--skip-reference]
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

#include "lmwb/model.h"

namespace fs = std::filesystem;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::size_t status_bytes(const char* field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field, 0) == 0) return std::stoull(line.substr(std::strlen(field))) * 1024;
    return 0;
}

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
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--dir" && i + 1 < argc) dir = argv[++i];
        else if (a == "--threads" && i + 1 < argc) threads = std::stoi(argv[++i]);
        else if (a == "--skip-reference") reference = false;
        else if (a == "--skip-nocache") nocache = false;
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
    std::size_t rss_before = status_bytes("VmRSS:");  // the program and its libraries, before any weight
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
    model->score({reqs[0]}, 1);  // warm-up
    t0 = now();
    auto results = model->score(reqs, bs);
    double score_s = now() - t0;
    double score_tokens = static_cast<double>(reqs.size()) * 135;
    double ours_score = score_tokens / score_s;
    double our_sum = 0;
    for (auto& r : results) our_sum += r.logprob;
    std::size_t rss = status_bytes("VmHWM:") - rss_before;

    // Full-sequence scoring: 4 windows of the 1024-token context.
    std::vector<int> long_ids(4096);
    for (auto& x : long_ids) x = static_cast<int>(rng() % 50000);
    t0 = now();
    auto rolled = model->rolling_loglikelihood(words(long_ids, false));
    double roll_s = now() - t0;
    double ours_roll = static_cast<double>(rolled.tokens) / roll_s;
    // Forward FLOPs per token: 2 x (non-embedding weights + LM head) + attention over the window (average 512).
    double D = 768, L = 12, V = 50257, ctx = 1024;
    double flops_per_token = 2 * (L * 12 * D * D + V * D) + L * 4 * D * (ctx / 2);
    double gflops = flops_per_token * static_cast<double>(rolled.tokens) / roll_s / 1e9;
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

    nlohmann::json py_score, py_roll;
    if (reference) {
        std::string reqs_path = dir + "/bench_requests.json", ids_path = dir + "/bench_ids.json";
        std::ofstream(reqs_path) << nlohmann::json{{"batches", py_batches}}.dump();
        std::ofstream(ids_path) << nlohmann::json(long_ids).dump();
        py_score = run_python("score " + dir + " " + reqs_path);
        py_roll = run_python("rolling " + dir + " " + ids_path);
    }

    std::printf("\nmodel: %s, %lld parameters, %.0f MB of weights, loaded in %.2f s; threads: %d; matmul: %.1f GFLOP/s\n\n",
                info.architecture.c_str(), static_cast<long long>(info.parameters), weights_mb, load_s,
                threads ? threads : static_cast<int>(std::thread::hardware_concurrency()), machine);
    std::printf("%-46s %12s %12s %8s %10s\n", "measure", "lmwb", "reference", "ratio", "target");
    auto row = [](const char* what, double ours, double ref, const char* target) {
        if (ref > 0) std::printf("%-46s %12.1f %12.1f %8.2f %10s\n", what, ours, ref, ours / ref, target);
        else std::printf("%-46s %12.1f %12s %8s %10s\n", what, ours, "-", "-", target);
    };
    row("lm-eval scoring, tokens/s (8 x 136 tokens)", ours_score, py_score.is_object() ? py_score["tokens_per_second"].get<double>() : 0, ">= 1.5x");
    row("full-sequence scoring, tokens/s", ours_roll, py_roll.is_object() ? py_roll["tokens_per_second"].get<double>() : 0, ">= 1.0x");
    std::printf("%-46s %12.1f %12s %8.2f %10s\n", "full-sequence GFLOP/s (fraction of matmul)", gflops, "-", gflops / machine, "");
    std::printf("%-46s %12.2f %12.2f %8.2f %10s\n", "generation 256 tokens, s (cache vs none)", cache_s, nocache_s, nocache_s / cache_s, ">= 3x");
    std::printf("%-46s %12.2f %12.2f %8.2f %10s\n", "token latency ms (256th vs 16th)", lat256 * 1e3, lat16 * 1e3, lat256 / lat16, "<= 1.5x");
    std::printf("%-46s %12.0f %12.0f %8.2f %10s\n", "peak RSS growth MB while scoring (vs weights)", static_cast<double>(rss) / 1e6, weights_mb,
                static_cast<double>(rss) / 1e6 / weights_mb, "<= 1.5x");
    if (py_score.is_object())
        std::printf("\nsum of continuation log-probs: lmwb %.3f, reference %.3f\n", our_sum, py_score["logprob_sum"].get<double>());
    return 0;
}

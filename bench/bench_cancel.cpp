// How fast every kind of long work stops after a cancel, on the GPT-2-small-sized checkpoint bench_model writes or
// (--llama-1b) the 1.24 B Llama-3.2-1B-shaped one (llama_1b.h, written on first use): integrated gradients on a
// 278-token prompt (internal batch 16, with per-target-token rows), KernelSHAP, attention maps of 1,024 tokens,
// sampling, an evaluation, hashing the weights and opening the model. Each job runs on a thread; after a delay the
// main thread requests the cancel and measures two things: until the job has returned, and until the process's CPU
// is idle (its CPU time, sampled every 5 ms, grows by less than 0.15 cores over 100 ms) — BLAS and OpenMP threads
// still spinning after a return would show there. Target: < 1 s to idle for every kind.
//   bench_cancel [--dir DIR | --llama-1b] [--rounds N] [--only ig,shap,attention,sampling,eval,hash,open]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "bench_support.h"
#include "llama_1b.h"
#include "lmwb/attribution.h"
#include "lmwb/evaluation.h"
#include "lmwb/model.h"

namespace fs = std::filesystem;
using lmwb::bench::median;
using lmwb::bench::now;
using lmwb::bench::until_cpu_idle;

namespace {

std::string words(std::mt19937& rng, int n, bool lead) {
    std::string s;
    for (int i = 0; i < n; ++i) s += (i || lead ? " w" : "w") + std::to_string(rng() % 50000);
    return s;
}

struct Outcome {
    double latency = -1;  // seconds from the request to the job's return
    double idle = -1;     // seconds from the request until the process's CPU is idle
    bool cancelled = false;
    std::size_t progress_calls = 0;
};



// Runs job(control) on a thread, cancels it after `delay` seconds, and measures until it returns.
Outcome cancel_after(double delay, const std::function<void(const lmwb::Control&)>& job) {
    lmwb::Control control;
    std::size_t calls = 0;
    control.progress = [&calls](const lmwb::Progress&) { ++calls; };
    auto done = std::async(std::launch::async, [&] {
        try {
            job(control);
        } catch (const lmwb::Cancelled&) {
            return true;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "  failed: %s\n", e.what());
            return false;
        }
        return control.cancel.requested();  // evaluation returns (incomplete) instead of throwing
    });
    if (done.wait_for(std::chrono::duration<double>(delay)) == std::future_status::ready) {
        std::fprintf(stderr, "  (the job ended before the cancel; lengthen it)\n");
        return {-1, -1, false, calls};
    }
    const double t0 = now();
    control.cancel.request();
    double returned = -1;
    auto watch = std::async(std::launch::async, [&] {
        done.wait();
        returned = now() - t0;
    });
    const double idle = until_cpu_idle(t0, 10.0);
    watch.get();
    const bool cancelled = done.get();
    return {returned, idle, cancelled, calls};
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::string dir = (fs::temp_directory_path() / "lmwb-bench-gpt2-small").string(), only;
    int rounds = 3, internal_batch = 16;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--dir" && i + 1 < argc) dir = argv[++i];
        else if (a == "--llama-1b") {
            dir = (fs::temp_directory_path() / "lmwb-bench-llama-1b").string();
            internal_batch = 0;  // sized to fit: 16 rows of this prompt would need ~140 GB
            if (!fs::exists(fs::path(dir) / "model.safetensors")) {
                std::printf("writing the 1.24 B checkpoint to %s (once)\n", dir.c_str());
                lmwb::bench::write_llama_1b(dir, LMWB_SOURCE_DIR);
            }
        }
        else if (a == "--rounds" && i + 1 < argc) rounds = std::max(1, std::stoi(argv[++i]));
        else if (a == "--only" && i + 1 < argc) only = argv[++i];
    }
    if (!fs::exists(fs::path(dir) / "model.safetensors")) {
        std::fprintf(stderr, "%s: no checkpoint; run build/bench/bench_model once to write it\n", dir.c_str());
        return 1;
    }
    // Hashing must read the weights every round: a cache of this run's own.
    const fs::path cache = fs::temp_directory_path() / ("lmwb-bench-cancel-cache-" + std::to_string(::getpid()));
    setenv("XDG_CACHE_HOME", cache.c_str(), 1);
    auto model = lmwb::LanguageModel::open(dir);
    std::mt19937 rng(5);
    const std::string prompt278 = words(rng, 278, false), target = words(rng, 4, true);
    const std::string prompt40 = words(rng, 40, false), text1024 = words(rng, 1023, false);
    model->score({{prompt40, target}}, 1);  // weights resident
    lmwb::eval::ModelIdentity identity;  // the evaluation's: hashed beforehand (its digest does not matter here)
    identity.path = model->info().path;

    struct Kind {
        const char* name;
        const char* what;
        std::function<void(const lmwb::Control&)> job;
    };
    std::vector<Kind> kinds = {
        {"ig", "IG, 278 words + 4, 50 steps, rows", [&](const lmwb::Control& c) {
             lmwb::attr::Options o;
             o.steps = 50;
             o.internal_batch = internal_batch;
             o.control = c;
             lmwb::attr::explain(*model, prompt278, target, o);
         }},
        {"shap", "KernelSHAP, 40 tokens, budget 4096", [&](const lmwb::Control& c) {
             lmwb::attr::Options o;
             o.method = lmwb::attr::Method::Shap;
             o.shap = lmwb::attr::Options::ShapAlgorithm::Kernel;
             o.budget = 4096;
             o.control = c;
             lmwb::attr::explain(*model, prompt40, target, o);
         }},
        {"attention", "attention maps, 1,023 tokens", [&](const lmwb::Control& c) {
             lmwb::attr::attention_maps(*model, text1024, -1, -1, 256, c);
         }},
        {"sampling", "sampling, 200 x 64 tokens", [&](const lmwb::Control& c) {
             lmwb::attr::UncertaintyOptions o;
             o.samples = 200;
             o.max_new_tokens = 64;
             o.stop.clear();
             o.control = c;
             lmwb::attr::sample_uncertainty(*model, prompt40, o);
         }},
        {"eval", "eval, world-facts-mc + world-stories-continue", [&](const lmwb::Control& c) {
             std::vector<lmwb::datasets::Suite> suites;
             for (const char* s : {"world-facts-mc", "world-stories-continue"})
                 suites.push_back(lmwb::datasets::load_suite(std::string(LMWB_SOURCE_DIR) + "/datasets/suites/" + s + ".json"));
             lmwb::eval::EvalOptions o;
             o.cancel = c.cancel;
             o.model_identity = identity;  // as the GUI runs it: the weights hashed beforehand
             lmwb::eval::evaluate(*model, nullptr, suites, o);
         }},
        {"hash", "hashing the weights (no cached digest)", [&](const lmwb::Control& c) {
             fs::remove_all(cache);
             lmwb::eval::identify(*model, c);
         }},
        {"open", "opening the model for bfloat16 compute", [&](const lmwb::Control& c) {
             lmwb::ModelOptions o;
             o.dtype = "bfloat16";
             o.control = c;
             lmwb::LanguageModel::open(dir, o);
         }},
    };
    std::printf("cancel latency on %s (%lld parameters), %d rounds, cancel after a random 0.3-3 s\n", dir.c_str(),
                static_cast<long long>(model->info().parameters), rounds);
    std::printf("%-10s %-48s %17s %17s %8s\n", "job", "what", "returned med/max", "CPU idle med/max", "idle<1s");
    std::uniform_real_distribution<double> delay(0.3, 3.0);
    bool all_ok = true;
    for (const auto& k : kinds) {
        if (!only.empty() && only.find(k.name) == std::string::npos) continue;
        std::vector<double> returned, idle;
        bool stopped = true;
        for (int r = 0; r < rounds; ++r) {
            const std::string name = k.name;
            double d = name == "open" ? 0.05 + 0.1 * r : name == "hash" ? 0.2 + 0.1 * r : delay(rng);
            auto o = cancel_after(d, k.job);
            if (o.latency < 0) continue;
            stopped = stopped && o.cancelled;
            returned.push_back(o.latency);
            idle.push_back(o.idle < 0 ? 99.0 : o.idle);  // never idle within 10 s
        }
        if (returned.empty()) {
            std::printf("%-10s %-48s %17s %17s %8s\n", k.name, k.what, "-", "-", "n/a");
            continue;
        }
        const double worst = *std::max_element(idle.begin(), idle.end());
        const bool ok = stopped && worst < 1.0;
        all_ok = all_ok && ok;
        std::printf("%-10s %-48s %8.3f/%-8.3f %8.3f/%-8.3f %8s\n", k.name, k.what, median(returned),
                    *std::max_element(returned.begin(), returned.end()), median(idle), worst, ok ? "yes" : "NO");
    }
    fs::remove_all(cache);
    return all_ok ? 0 : 2;
}

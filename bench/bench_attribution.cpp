// Interpretability speed and memory on a GPT-2-small-sized checkpoint (the one bench_model writes): integrated
// gradients against the same number of raw forward + backward passes and against a Captum-style Python + PyTorch
// IG on the same weights; peak memory against the internal batch size and the steps; exact SHAP over 12 tokens and
// KernelSHAP's error curve; attention, rollout and the logit lens for 1024 tokens (time and peak memory against
// holding every layer at once); attribution of generated text against the same raw passes and against attributing
// each generated token on its own; activation patching over 1024 tokens (time and peak memory).
//   bench_attribution [--dir DIR] [--rounds N] [--skip-reference] [--only ig,memory,shap,attention,lens,generation,patching]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "bench_support.h"
#include "lmwb/attribution.h"
#include "lmwb/circuits.h"
#include "lmwb/model.h"

namespace fs = std::filesystem;

using lmwb::bench::median;
using lmwb::bench::now;
using lmwb::bench::status_kb;

namespace {

struct Measure {
    double seconds = 0, growth_mb = 0;
};

// Runs this program again as a fresh process (`--child KIND STEPS BATCH`): it opens the model, faults every weight
// in, resets its peak RSS, does the work and prints the seconds and the peak growth. A fresh process, because a
// forked one would reuse the heap the parent's earlier measurements left behind.
Measure in_child(const std::string& self, const std::string& dir, const std::string& kind, int steps, int batch) {
    std::string cmd = self + " --dir " + dir + " --child " + kind + " " + std::to_string(steps) + " " + std::to_string(batch);
    Measure m;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return m;
    if (std::fscanf(p, "%lf %lf", &m.seconds, &m.growth_mb) != 2) m = {};
    pclose(p);
    return m;
}

std::string words(const std::vector<int>& ids, bool lead) {
    std::string s;
    for (std::size_t i = 0; i < ids.size(); ++i) s += (i || lead ? " w" : "w") + std::to_string(ids[i]);
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::string dir = (fs::temp_directory_path() / "lmwb-bench-gpt2-small").string();
    bool reference = true;
    int rounds = 2;
    std::string only;  // comma list of sections: ig, memory, shap, attention (empty: all)
    std::string child_kind;
    int child_steps = 0, child_batch = 0;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--dir" && i + 1 < argc) dir = argv[++i];
        else if (a == "--skip-reference") reference = false;
        else if (a == "--rounds" && i + 1 < argc) rounds = std::max(1, std::stoi(argv[++i]));
        else if (a == "--only" && i + 1 < argc) only = argv[++i];
        else if (a == "--child" && i + 3 < argc) {
            child_kind = argv[++i];
            child_steps = std::stoi(argv[++i]);
            child_batch = std::stoi(argv[++i]);
        }
    }
    if (!fs::exists(fs::path(dir) / "model.safetensors")) {
        std::fprintf(stderr, "%s: no checkpoint; run build/bench/bench_model once to write it\n", dir.c_str());
        return 1;
    }
    auto model = lmwb::LanguageModel::open(dir);
    std::mt19937 rng(3);
    std::vector<int> prompt(64), target(8);
    for (auto& x : prompt) x = static_cast<int>(rng() % 50000);
    for (auto& x : target) x = static_cast<int>(rng() % 50000);
    const std::string ptext = words(prompt, false), ttext = words(target, true);
    std::vector<std::int32_t> pid(prompt.begin(), prompt.end()), tid(target.begin(), target.end());
    model->score({{ptext, ttext}}, 1);  // every weight page resident

    std::mt19937 long_rng(11);
    std::vector<int> long_ids(1023);
    for (auto& x : long_ids) x = static_cast<int>(long_rng() % 50000);
    const std::string long_text = words(long_ids, false);
    if (!child_kind.empty()) {  // a measurement in a fresh process (see in_child)
        { std::ofstream("/proc/self/clear_refs") << "5"; }
        std::size_t rss0 = status_kb("VmRSS:");
        double t0 = now();
        lmwb::attr::Options o;
        if (child_kind == "ig") {
            o.steps = child_steps;
            o.internal_batch = child_batch;
            o.matrix = false;
            lmwb::attr::explain(*model, ptext, ttext, o);
        } else if (child_kind == "lens") {
            lmwb::attr::logit_lens(*model, long_text, " w7", 5);
        } else if (child_kind == "patching") {  // the residual stream at the last 4 positions of every layer
            lmwb::attr::PatchingOptions po;
            po.sites = {lmwb::Site::Residual};
            po.noise_positions = {0, 1, 2, 3, 4, 5, 6, 7};
            po.positions = {1019, 1020, 1021, 1022};
            po.batch_size = 4;
            lmwb::attr::activation_patching(*model, long_text, " w7", po);
        } else {
            o.method = child_kind == "rollout" ? lmwb::attr::Method::Rollout : lmwb::attr::Method::Attention;
            lmwb::attr::explain(*model, long_text, " w7", o);
        }
        std::printf("%f %f\n", now() - t0, static_cast<double>(status_kb("VmHWM:") - rss0) / 1024.0);
        return 0;
    }

    auto run = [&](const char* section) { return only.empty() || only.find(section) != std::string::npos; };

    // 1. IG, 50 steps in internal batches of 16, against the same passes made directly.
    lmwb::attr::Options ig;
    ig.steps = 50;
    ig.internal_batch = 16;
    ig.matrix = false;
    std::vector<double> t_ig, t_raw;
    auto emb = model->embeddings(pid);
    for (int round = 0; round < rounds && run("ig"); ++round) {
        double t0 = now();
        auto r = lmwb::attr::explain(*model, ptext, ttext, ig);
        t_ig.push_back(now() - t0);
        t0 = now();
        for (int s = 0; s < 50; s += 16) {
            std::vector<std::vector<float>> pts(static_cast<std::size_t>(std::min(16, 50 - s)), emb);
            model->target_logprob_gradients(pid, tid, pts, false);
        }
        t_raw.push_back(now() - t0);
    }
    // The IG pass against the machine's matrix product: forward FLOPs per point over the 72 positions (the 12 x D^2
    // of each layer's products, attention's two T x T x D products, the head at the 8 target positions), and a
    // backward of gradients for the inputs only (the weights need none): the same products again, attention's three.
    const double D = 768, L = 12, V = 50257, T = 72, Tt = 8;
    const double linear_fwd = 2 * L * 12 * D * D * T, attention_fwd = 4 * L * T * T * D, head_fwd = 2 * V * D * Tt;
    const double ig_flops = 50 * (2 * linear_fwd + 3 * attention_fwd + 2 * head_fwd);
    const double roofline = run("ig") ? lmwb::matmul_gflops(1024, 0) : 0;
    ig.matrix = true;
    double t0 = now(), t_rows = 0;
    lmwb::attr::Result with_rows;
    if (run("ig")) {
        with_rows = lmwb::attr::explain(*model, ptext, ttext, ig);
        t_rows = now() - t0;
    }

    double t_py = 0;
    if (reference && run("ig")) {
        std::string spec = dir + "/bench_ig.json";
        std::ofstream(spec) << nlohmann::json{{"prompt", prompt}, {"target", target}, {"steps", 50}, {"batch", 16}}.dump();
        std::vector<double> py;
        for (int round = 0; round < rounds; ++round) {
            std::string cmd = "/usr/bin/python3 " + std::string(LMWB_SOURCE_DIR) + "/scripts/reference/gpt2_bench_reference.py ig " + dir + " " + spec;
            FILE* p = popen(cmd.c_str(), "r");
            std::string out;
            char buf[4096];
            std::size_t n;
            while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
            if (p && pclose(p) == 0) {
                auto j = nlohmann::json::parse(out.substr(out.find_last_of('{')), nullptr, false);
                if (j.is_object()) py.push_back(j["seconds"].get<double>());
            }
        }
        t_py = median(py);
    }

    // 1b. Generated text: 8 continuation tokens attributed to the 64 + 7 inputs before them, IG 16 steps, against the
    // same passes made directly (one forward and 8 backward per point) and against one attribution per token.
    std::vector<double> t_gen, t_gen_raw;
    double t_gen_each = 0, gen_delta = 0;
    if (run("generation")) {
        lmwb::attr::GenerationAttributionOptions go;
        go.steps = 16;
        std::vector<std::int32_t> inputs = pid;
        inputs.insert(inputs.end(), tid.begin(), tid.end() - 1);
        auto x = model->embeddings(inputs);
        for (int round = 0; round < rounds; ++round) {
            double t = now();
            auto r = lmwb::attr::explain_generation(*model, ptext, ttext, go);
            t_gen.push_back(now() - t);
            for (double d : r.deltas) gen_delta = std::max(gen_delta, std::abs(d));
            t = now();
            for (int s = 0; s < 18; s += 16) {
                std::vector<std::vector<float>> pts(static_cast<std::size_t>(std::min(16, 18 - s)), x);
                model->continuation_logprob_gradients(pid, tid, pts, true);
            }
            t_gen_raw.push_back(now() - t);
        }
        lmwb::attr::Options each;
        each.steps = 16;
        each.matrix = false;
        double t = now();
        std::string prefix = ptext;
        for (std::size_t j = 0; j < target.size(); ++j) {
            std::string token = " w" + std::to_string(target[j]);
            lmwb::attr::explain(*model, prefix, token, each);
            prefix += token;
        }
        t_gen_each = now() - t;
    }

    // 2. Peak memory against the internal batch size and the number of steps.
    struct Cfg {
        int steps, batch;
    };
    std::vector<std::pair<Cfg, Measure>> mem;
    for (Cfg c : {Cfg{16, 4}, Cfg{16, 16}, Cfg{64, 16}}) {
        if (!run("memory")) break;
        mem.push_back({c, in_child(argv[0], dir, "ig", c.steps, c.batch)});
    }

    // 3. SHAP over 12 tokens: exact (4096 coalitions) and KernelSHAP's error at 128 / 512 / 2048 evaluations.
    std::vector<double> e128, e512, e2048;
    double t_exact = 0;
    for (int k = 0; k < 1 && run("shap"); ++k) {
        std::vector<int> p12(12), t4(1);
        for (auto& x : p12) x = static_cast<int>(rng() % 50000);
        for (auto& x : t4) x = static_cast<int>(rng() % 50000);
        lmwb::attr::Options s;
        s.method = lmwb::attr::Method::Shap;
        s.shap = lmwb::attr::Options::ShapAlgorithm::Exact;
        s.batch_size = 64;
        double ts = now();
        auto exact = lmwb::attr::explain(*model, words(p12, false), words(t4, true), s);
        if (k == 0) t_exact = now() - ts;
        for (auto [budget, out] : {std::pair<std::size_t, std::vector<double>*>{128, &e128}, {512, &e512}, {2048, &e2048}}) {
            s.shap = lmwb::attr::Options::ShapAlgorithm::Kernel;
            s.budget = budget;
            s.seed = static_cast<std::uint64_t>(k);
            auto kern = lmwb::attr::explain(*model, words(p12, false), words(t4, true), s);
            double d = 0, n = 0;
            for (std::size_t i = 0; i < 12; ++i) {
                d += (kern.scores[i] - exact.scores[i]) * (kern.scores[i] - exact.scores[i]);
                n += exact.scores[i] * exact.scores[i];
            }
            out->push_back(std::sqrt(d / n));
        }
    }

    // 3b. The same curve on the bundled tiny-b over ten 12-token prompts of its own world (exact SHAP is cheap there).
    std::vector<double> t128, t512, t2048;
    if (run("shap")) {
        auto tiny = lmwb::LanguageModel::open(std::string(LMWB_SOURCE_DIR) + "/models/tiny-b");
        const char* prompts[] = {"On Monday, Ana went to the park with Ben. Ana read",
                                     "Question: What color is a lemon?\nAnswer:",
                                     "The opposite of hot is cold. The opposite of big is",
                                     "A cow says moo. A duck says quack. A dog says",
                                     "On Friday, Chen went to the river with Hana. They",
                                     "Question: What is the capital of Peru?\nAnswer:",
                                     "Q: What can a fish do? A: swim. Q: What can a bird do",
                                     "After Monday comes Tuesday. After Tuesday comes",
                                     "Question: What is two plus three?\nAnswer:",
                                     "On Sunday, Eli went to the beach with Jia. Eli"};
        for (const char* p : prompts) {
            auto n_tokens = tiny->tokenizer().encode(p, false).ids.size();
            if (n_tokens < 10 || n_tokens > 14) continue;  // 12-ish tokens: exact SHAP stays at a few thousand coalitions
            lmwb::attr::Options s;
            s.method = lmwb::attr::Method::Shap;
            s.shap = lmwb::attr::Options::ShapAlgorithm::Exact;
            s.budget = 1 << 16;
            auto ex = lmwb::attr::explain(*tiny, p, "", [&] {
                    auto o = s;
                    o.generated_target = true;
                    return o;
            }());
            for (auto [budget, out] : {std::pair<std::size_t, std::vector<double>*>{128, &t128}, {512, &t512}, {2048, &t2048}}) {
                    s.shap = lmwb::attr::Options::ShapAlgorithm::Kernel;
                    s.budget = budget;
                    s.generated_target = true;
                    auto kern = lmwb::attr::explain(*tiny, p, "", s);
                    double d = 0, n = 0;
                    for (std::size_t i = 0; i < ex.scores.size(); ++i) {
                        d += (kern.scores[i] - ex.scores[i]) * (kern.scores[i] - ex.scores[i]);
                        n += ex.scores[i] * ex.scores[i];
                }
                    out->push_back(std::sqrt(d / n));
            }
        }
    }

    // 4. Attention and rollout over 1024 tokens, one layer held at a time.
    Measure m_att, m_roll;
    if (run("attention")) {
        m_att = in_child(argv[0], dir, "attention", 0, 0);
        m_roll = in_child(argv[0], dir, "rollout", 0, 0);
    }
    double all_layers_mb = 12.0 * 12 * 1024 * 1024 * 4 / 1048576;
    // 5. The logit lens over 1024 tokens: one layer's [T][V] log-probabilities at a time (plus the final ones it
    // compares with), against all 13 rows at once.
    Measure m_lens;
    if (run("lens")) m_lens = in_child(argv[0], dir, "lens", 0, 0);
    const double all_lens_mb = 13.0 * 1024 * 50257 * 4 / 1048576;
    // 6. Activation patching over 1024 tokens (48 runs). Held: the clean residual stream and the corrupted one
    // entering each layer (12 x T x D each), the corrupted run's keys and values, and those of the rows of a pass
    // (2 at 1024 tokens), which let each run compute only the positions from its patch on.
    Measure m_patch;
    if (run("patching")) m_patch = in_child(argv[0], dir, "patching", 0, 0);
    const double held_mb = (2.0 + 2 * 3) * 12 * 1024 * 768 * 4 / 1048576;

    std::printf("\nmodel: %s (GPT-2-small-sized, random weights); prompt 64 tokens, target 8\n\n", dir.c_str());
    std::printf("%-62s %10s %10s %8s %10s\n", "measure", "lmwb", "reference", "ratio", "target");
    if (run("ig"))
        std::printf("%-62s %10.2f %10.2f %8.2f %10s\n", "IG 50 steps (batches of 16, summed target), s vs raw passes", median(t_ig), median(t_raw),
                    median(t_ig) / median(t_raw), "<= 1.2x");
    if (run("ig"))
        std::printf("%-62s %10.1f %10.1f %8.2f %10s\n", "IG pass GFLOP/s, forward + input backward (vs matmul roofline)",
                    ig_flops / median(t_ig) / 1e9, roofline, ig_flops / median(t_ig) / 1e9 / roofline, ">= 0.5");
    if (t_py > 0)
        std::printf("%-62s %10.2f %10.2f %8.2f %10s\n", "IG 50 steps, s vs Captum-style Python IG (full logits)", median(t_ig), t_py,
                    t_py / median(t_ig), ">= 1.3x");
    if (run("ig")) {
        std::printf("%-62s %10.2f %10s %8.2f\n", "IG 50 steps with per-target-token rows (8 backward/point), s", t_rows, "-", t_rows / median(t_ig));
        std::printf("%-62s %10.3g\n", "IG convergence delta (zero baseline, 50 steps)", with_rows.delta);
    }
    for (auto& [c, m] : mem)
        std::printf("%-62s %10.0f\n", ("IG peak RSS growth MB, steps " + std::to_string(c.steps) + ", internal batch " + std::to_string(c.batch)).c_str(),
                    m.growth_mb);
    if (run("shap")) {
        std::printf("%-62s %10.2f\n", "exact SHAP, 12 tokens + 1 target (4096 coalitions, batches of 64), s", t_exact);
        std::printf("%-62s %9.1f%%\n", "KernelSHAP relative L2 error vs exact, budget 128", 100 * median(e128));
        std::printf("%-62s %9.1f%% %19s %10s\n", "KernelSHAP relative L2 error vs exact, budget 512", 100 * median(e512), "", "< 5%");
        std::printf("%-62s %9.1f%%\n", "KernelSHAP relative L2 error vs exact, budget 2048", 100 * median(e2048));
        std::printf("%-62s %9.1f%%\n", ("tiny-b, " + std::to_string(t512.size()) + " prompts of 10-14 tokens: median error, budget 128").c_str(), 100 * median(t128));
        std::printf("%-62s %9.1f%% %19s %10s\n", "tiny-b: median error, budget 512", 100 * median(t512), "", "< 5%");
        std::printf("%-62s %9.1f%%\n", "tiny-b: median error, budget 2048", 100 * median(t2048));
    }
    if (run("attention")) {
        std::printf("%-62s %10.2f %10s\n", "attention, 1024 tokens, one layer: s", m_att.seconds, "");
        std::printf("%-62s %10.0f %10.0f %8.2f\n", "attention, 1024 tokens: peak RSS growth MB vs all layers' maps", m_att.growth_mb, all_layers_mb,
                    m_att.growth_mb / all_layers_mb);
        std::printf("%-62s %10.2f\n", "rollout, 1024 tokens, 12 layers: s", m_roll.seconds);
        std::printf("%-62s %10.0f %10.0f %8.2f\n", "rollout, 1024 tokens: peak RSS growth MB vs all layers' maps", m_roll.growth_mb, all_layers_mb,
                    m_roll.growth_mb / all_layers_mb);
    }
    if (run("generation")) {
        std::printf("%-62s %10.2f %10.2f %8.2f %10s\n", "generated text, 8 tokens, IG 16 steps: s vs raw passes", median(t_gen),
                    median(t_gen_raw), median(t_gen) / median(t_gen_raw), "<= 1.2x");
        std::printf("%-62s %10.2f %10.2f %8.2f\n", "generated text: s vs one IG attribution per token", median(t_gen), t_gen_each,
                    t_gen_each / median(t_gen));
        std::printf("%-62s %10.3g\n", "generated text: largest per-token IG delta", gen_delta);
    }
    if (run("patching")) {
        std::printf("%-62s %10.2f\n", "patching, 1024 tokens, residual x 12 layers x 4 positions: s", m_patch.seconds);
        std::printf("%-62s %10.0f %10.0f %8.2f\n", "patching, 1024 tokens: peak RSS growth MB vs the tensors it holds", m_patch.growth_mb,
                    held_mb, m_patch.growth_mb / held_mb);
    }
    if (run("lens")) {
        std::printf("%-62s %10.2f\n", "logit lens, 1024 tokens, 13 rows, top-5: s", m_lens.seconds);
        std::printf("%-62s %10.0f %10.0f %8.2f\n", "logit lens, 1024 tokens: peak RSS growth MB vs all rows' log-probs", m_lens.growth_mb,
                    all_lens_mb, m_lens.growth_mb / all_lens_mb);
    }
    return 0;
}

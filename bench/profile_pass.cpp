// One engine pass repeated for a fixed time, for a profiler to watch (scripts/profile.sh runs it under perf):
//   profile_pass full|ig|decode|decode8 [--dir DIR] [--seconds S] [--threads N]
// full: full-sequence scoring of two 1024-token windows; ig: IG's pass, 16 points of a 64-token prompt and an
// 8-token target, forward and input backward; decode: one row's decode steps (16-token prompt, 128 new tokens);
// decode8: the same for 8 rows at once. Prints the passes made and the seconds per pass.
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>
#include <string>

#include "bench_support.h"
#include "lmwb/model.h"

namespace fs = std::filesystem;

namespace {
std::string words(std::mt19937& rng, int n, bool lead) {
    std::string s;
    for (int i = 0; i < n; ++i) s += (i || lead ? " w" : "w") + std::to_string(rng() % 50000);
    return s;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: profile_pass full|ig|decode|decode8 [--dir DIR] [--seconds S] [--threads N]\n");
        return 2;
    }
    const std::string kind = argv[1];
    std::string dir = (fs::temp_directory_path() / "lmwb-bench-gpt2-small").string();
    double seconds = 10;
    lmwb::ModelOptions opt;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--dir") dir = argv[i + 1];
        else if (a == "--seconds") seconds = std::stod(argv[i + 1]);
        else if (a == "--threads") opt.threads = std::stoi(argv[i + 1]);
    }
    if (!fs::exists(fs::path(dir) / "model.safetensors")) {
        std::fprintf(stderr, "%s: no checkpoint; run build/bench/bench_model once to write it\n", dir.c_str());
        return 1;
    }
    auto model = lmwb::LanguageModel::open(dir, opt);
    std::mt19937 rng(5);
    std::function<void()> pass;
    const std::string long_text = words(rng, 2048, false), prompt = words(rng, 64, false), target = words(rng, 8, true);
    std::vector<std::string> prompts;
    for (int r = 0; r < 8; ++r) prompts.push_back(words(rng, 16, false));
    lmwb::GenerationOptions g;
    g.max_new_tokens = 128;
    g.alternatives = 0;
    auto ids = [&](const std::string& s) { return model->tokenizer().encode(s, false).ids; };
    const auto pid = ids(prompt), tid = ids(target);
    const auto emb = model->embeddings(pid);
    if (kind == "full") pass = [&] { model->rolling_loglikelihood(long_text); };
    else if (kind == "ig") pass = [&] { model->target_logprob_gradients(pid, tid, std::vector<std::vector<float>>(16, emb), false); };
    else if (kind == "decode") pass = [&] { model->generate(prompts[0], g); };
    else if (kind == "decode8") pass = [&] { model->generate_batch(prompts, std::vector<lmwb::GenerationOptions>(8, g)); };
    else {
        std::fprintf(stderr, "unknown pass '%s'\n", kind.c_str());
        return 2;
    }
    pass();  // warm-up: weights resident, heap grown
    int n = 0;
    const double t0 = lmwb::bench::now();
    while (lmwb::bench::now() - t0 < seconds) pass(), ++n;
    std::printf("%s: %d passes, %.3f s each\n", kind.c_str(), n, (lmwb::bench::now() - t0) / n);
    return 0;
}

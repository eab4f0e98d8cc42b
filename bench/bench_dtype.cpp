// A 16-bit checkpoint held as stored (--dtype auto on the CPU: matrices kept in bfloat16, widened to float32 as each
// product reads them) against a float32 copy of it (--dtype float32), on the Llama-3.2-1B-shaped checkpoint
// (llama_1b.h), each in a fresh process, medians over rounds:
//   - decode tokens/s at batch 1 and 8 (from the first token chosen to the last): target >= 1.6x the copy's, since a
//     step reads half the bytes;
//   - one score pass of a long text (the full-sequence products, a block of weights widened at a time): >= 0.8x the
//     copy's speed;
//   - peak RSS: <= 1.1x the file + what the copy needs beyond its weights (activations).
// With --contexts N,N,...: instead, time and peak RSS of scoring the last token of an N-token input (held bfloat16),
// one fresh process per length: the curve against context (target at 32,768 tokens: the file + 2 GB), beside the
// activations lmwb/memory_estimate.h predicts (what commands refuse by).
//   bench_dtype [--dir DIR] [--rounds N] [--tokens N] [--words N] [--contexts N,N,...]
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bench_support.h"
#include "llama_1b.h"
#include "lmwb/memory_estimate.h"
#include "lmwb/model.h"

namespace fs = std::filesystem;
using lmwb::bench::median;
using lmwb::bench::now;

namespace {

std::string words(int count, int from) {
    std::string s;
    for (int i = 0; i < count; ++i) s += (i ? " w" : "w") + std::to_string(from + i * 7);
    return s;
}

// Tokens per second between the first and the last token chosen, over all rows.
double decode_rate(const std::vector<lmwb::GenerationResult>& rows) {
    double first = 1e30, last = 0;
    std::size_t tokens = 0;
    for (const auto& r : rows) {
        if (r.tokens.size() < 2) continue;
        first = std::min(first, r.tokens.front().seconds);
        last = std::max(last, r.tokens.back().seconds);
        tokens += r.tokens.size() - 1;
    }
    return last > first ? static_cast<double>(tokens) / (last - first) : 0;
}

// Scores the last of `length` tokens (ids spread over the vocabulary) with the weights held as stored.
int context_child(const fs::path& dir, std::int64_t length) {
    auto m = lmwb::LanguageModel::open(dir.string(), {});
    lmwb::TokenScoreRequest r;
    for (std::int64_t i = 0; i + 1 < length; ++i) r.context.push_back(static_cast<std::int32_t>((i * 7919 + 13) % 120000));
    r.continuation = {42};
    const double t0 = now();
    const auto s = m->score_tokens({r}, 1);
    lmwb::PassShape pass;
    pass.tokens = length;
    nlohmann::json j = {{"seconds", now() - t0}, {"logprob", s.front().logprob},
                        {"peak_mb", static_cast<double>(lmwb::bench::status_kb("VmHWM:")) / 1024.0},
                        {"estimate_mb", static_cast<double>(lmwb::estimate_activation_bytes(m->info(), pass)) / (1 << 20)}};
    std::printf("%s\n", j.dump().c_str());
    return 0;
}

int child(const fs::path& dir, const std::string& dtype, int tokens, int text_words) {
    lmwb::ModelOptions o;
    o.dtype = dtype;
    auto m = lmwb::LanguageModel::open(dir.string(), o);
    lmwb::GenerationOptions g;
    g.max_new_tokens = 4;
    m->generate(words(8, 1), g);  // first touch of every weight page
    g.max_new_tokens = tokens;
    const double b1 = decode_rate({m->generate(words(8, 3), g)});
    std::vector<std::string> prompts;
    for (int i = 0; i < 8; ++i) prompts.push_back(words(8, 11 * i + 5));
    const double b8 = decode_rate(m->generate_batch(prompts, std::vector<lmwb::GenerationOptions>(8, g)));
    const double t0 = now();
    const auto scored = m->score({{words(text_words, 2), " w9"}}, 1);
    const double score_s = now() - t0;
    nlohmann::json j = {{"b1", b1}, {"b8", b8}, {"score_s", score_s}, {"logprob", scored.front().logprob},
                        {"held", m->info().held_dtype}, {"peak_mb", static_cast<double>(lmwb::bench::status_kb("VmHWM:")) / 1024.0}};
    std::printf("%s\n", j.dump().c_str());
    return 0;
}

nlohmann::json run(const std::string& self, const fs::path& dir, const std::string& dtype, int tokens, int text_words) {
    const std::string cmd = self + " --dir '" + dir.string() + "' --tokens " + std::to_string(tokens) + " --words " +
                            std::to_string(text_words) + " --child " + dtype;
    FILE* p = ::popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    std::size_t n;
    while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    if (!p || ::pclose(p) != 0) return nullptr;
    return nlohmann::json::parse(out.substr(out.rfind('{')), nullptr, false);
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    fs::path dir = fs::temp_directory_path() / "lmwb-bench-llama-1b";
    int rounds = 3, tokens = 32, text_words = 512;
    std::string mode, contexts;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--dir" && i + 1 < argc) dir = argv[++i];
        else if (a == "--rounds" && i + 1 < argc) rounds = std::max(1, std::stoi(argv[++i]));
        else if (a == "--tokens" && i + 1 < argc) tokens = std::max(2, std::stoi(argv[++i]));
        else if (a == "--words" && i + 1 < argc) text_words = std::max(1, std::stoi(argv[++i]));
        else if (a == "--child" && i + 1 < argc) mode = argv[++i];
        else if (a == "--contexts" && i + 1 < argc) contexts = argv[++i];
    }
    if (mode.rfind("context:", 0) == 0) return context_child(dir, std::stoll(mode.substr(8)));
    if (!mode.empty()) return child(dir, mode, tokens, text_words);
    if (!fs::exists(dir / "model.safetensors") && !fs::exists(dir / "model.safetensors.index.json")) {
        std::printf("writing a Llama-3.2-1B-shaped bfloat16 checkpoint to %s ...\n", dir.c_str());
        lmwb::bench::write_llama_1b(dir, LMWB_SOURCE_DIR);
    }
    const std::string self = fs::canonical("/proc/self/exe").string();
    double file_mb = 0;  // one file or shards
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".safetensors") file_mb += static_cast<double>(e.file_size()) / (1 << 20);
    if (!contexts.empty()) {
        std::printf("%s: %.0f MB of bfloat16 weights, held as stored; one fresh process per length\n", dir.c_str(), file_mb);
        std::printf("%10s %10s %10s %16s %14s\n", "tokens", "seconds", "peak MB", "peak - file MB", "estimate MB");
        for (std::size_t at = 0; at < contexts.size();) {
            const std::size_t comma = std::min(contexts.find(',', at), contexts.size());
            const std::string length = contexts.substr(at, comma - at);
            at = comma + 1;
            const auto j = run(self, dir, "context:" + length, tokens, text_words);
            if (j.is_null() || j.is_discarded()) {
                std::printf("%10s   failed (killed for memory?)\n", length.c_str());
                continue;
            }
            std::printf("%10s %10.1f %10.0f %16.0f %14.0f\n", length.c_str(), j["seconds"].get<double>(), j["peak_mb"].get<double>(),
                        j["peak_mb"].get<double>() - file_mb, j["estimate_mb"].get<double>());
        }
        return 0;
    }
    std::vector<double> b1[2], b8[2], score[2], peak[2];
    double gap = 0;
    const char* modes[2] = {"float32", "auto"};
    for (int r = 0; r < rounds; ++r) {
        double logprob[2] = {0, 0};
        for (int k = 0; k < 2; ++k) {  // alternating, so that a noisy minute hurts both
            const auto j = run(self, dir, modes[k], tokens, text_words);
            if (j.is_discarded() || j.is_null()) {
                std::fprintf(stderr, "the %s child failed\n", modes[k]);
                return 1;
            }
            b1[k].push_back(j["b1"]), b8[k].push_back(j["b8"]), score[k].push_back(j["score_s"]), peak[k].push_back(j["peak_mb"]);
            logprob[k] = j["logprob"];
        }
        gap = std::max(gap, std::abs(logprob[1] - logprob[0]) / std::max(1.0, std::abs(logprob[0])));
    }
    const double f32_weights_mb = 2 * file_mb;
    std::printf("\n%s: %.0f MB of bfloat16 weights; medians of %d rounds, fresh processes; %d new tokens, a %d-word score\n",
                dir.c_str(), file_mb, rounds, tokens, text_words);
    std::printf("%-44s %14s %14s %8s %10s\n", "measure", "float32 copy", "held bfloat16", "ratio", "target");
    std::printf("%-44s %14.2f %14.2f %8.2f %10s\n", "decode, batch 1 (tokens/s)", median(b1[0]), median(b1[1]), median(b1[1]) / median(b1[0]), ">= 1.6");
    std::printf("%-44s %14.2f %14.2f %8.2f %10s\n", "decode, batch 8 (tokens/s)", median(b8[0]), median(b8[1]), median(b8[1]) / median(b8[0]), ">= 1.6");
    std::printf("%-44s %14.2f %14.2f %8.2f %10s\n", "score pass (s; ratio = copy / held)", median(score[0]), median(score[1]),
                median(score[0]) / median(score[1]), ">= 0.8");
    const double activations = std::max(0.0, median(peak[0]) - f32_weights_mb);
    std::printf("%-44s %14.0f %14.0f %8.2f %10s\n", "peak RSS (MB; ratio = held / (file + act.))", median(peak[0]), median(peak[1]),
                median(peak[1]) / (file_mb + activations), "<= 1.1");
    std::printf("largest relative difference of the scored log-probability: %.2e (target <= 1e-5)\n", gap);
    return 0;
}

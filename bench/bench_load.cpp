// Opening a 1B-class checkpoint: a Llama-3.2-1B-shaped folder (1.24 B parameters, bfloat16, 2.47 GB; random values,
// the bundled tokenizer) that this program writes once. Each measure runs in a fresh process (time and peak RSS from
// wait4), medians over rounds:
//   - `lmwb info` against `lmwb --version` (the process start): target < 0.5 s beyond the start and < 300 MB;
//   - opening for float32 compute against a plain pass that maps the same file and converts every bfloat16 value to
//     float32 (the least any loader must do): targets <= 2x its time, peak RSS <= 1.1x the float32 weights + 300 MB;
//   - opening for bfloat16 compute (weights kept as stored).
//   bench_load [--dir DIR] [--rounds N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bench_support.h"
#include "llama_1b.h"
#include "lmwb/model.h"

namespace fs = std::filesystem;
using lmwb::bench::median;
using lmwb::bench::now;

namespace {

struct Run {
    double seconds = 0, peak_mb = 0;
    int status = 0;
};

Run run(const std::vector<std::string>& args) {
    const double t0 = now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        std::freopen("/dev/null", "w", stdout);
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    int status = 0;
    rusage usage{};
    ::wait4(pid, &status, 0, &usage);
    return {now() - t0, static_cast<double>(usage.ru_maxrss) / 1024.0, status};
}

// The plain pass: map the file, convert every bfloat16 value of the data section into one float32 buffer.
int convert(const fs::path& file) {
    const int fd = ::open(file.c_str(), O_RDONLY);
    struct stat st {};
    ::fstat(fd, &st);
    auto* base = static_cast<const unsigned char*>(::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0));
    std::uint64_t hn = 0;
    std::memcpy(&hn, base, 8);
    const std::size_t values = (static_cast<std::size_t>(st.st_size) - 8 - hn) / 2;
    std::vector<float> out(values);
    const auto* src = reinterpret_cast<const std::uint16_t*>(base + 8 + hn);
    for (std::size_t i = 0; i < values; ++i) {
        const std::uint32_t bits = static_cast<std::uint32_t>(src[i]) << 16;
        std::memcpy(&out[i], &bits, 4);
    }
    volatile float sink = out[values / 2];
    (void)sink;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    fs::path dir = fs::temp_directory_path() / "lmwb-bench-llama-1b";
    int rounds = 3;
    std::string child;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--dir" && i + 1 < argc) dir = argv[++i];
        else if (a == "--rounds" && i + 1 < argc) rounds = std::max(1, std::stoi(argv[++i]));
        else if (a == "--child" && i + 1 < argc) child = argv[++i];
    }
    if (child == "convert") return convert(dir / "model.safetensors");
    if (child == "open-float32" || child == "open-bfloat16") {
        lmwb::ModelOptions o;
        o.dtype = child == "open-float32" ? "float32" : "bfloat16";
        auto m = lmwb::LanguageModel::open(dir.string(), o);
        return m->info().parameters > 0 ? 0 : 1;
    }
    if (!fs::exists(dir / "model.safetensors")) {
        std::printf("writing a Llama-3.2-1B-shaped bfloat16 checkpoint to %s ...\n", dir.c_str());
        const double t0 = now();
        lmwb::bench::write_llama_1b(dir, LMWB_SOURCE_DIR);
        std::printf("  %.1f s\n", now() - t0);
    }
    const std::string self = fs::canonical("/proc/self/exe").string(), cli = LMWB_CLI;
    const double weights_gb = static_cast<double>(fs::file_size(dir / "model.safetensors")) / 1e9;
    std::vector<double> start_s, info_s, info_mb, conv_s, conv_mb, f32_s, f32_mb, bf16_s, bf16_mb;
    for (int r = 0; r < rounds; ++r) {
        auto v = run({cli, "--version"});
        start_s.push_back(v.seconds);
        auto i = run({cli, "info", dir.string()});
        info_s.push_back(i.seconds), info_mb.push_back(i.peak_mb);
        auto c = run({self, "--dir", dir.string(), "--child", "convert"});
        conv_s.push_back(c.seconds), conv_mb.push_back(c.peak_mb);
        auto f = run({self, "--dir", dir.string(), "--child", "open-float32"});
        f32_s.push_back(f.seconds), f32_mb.push_back(f.peak_mb);
        auto b = run({self, "--dir", dir.string(), "--child", "open-bfloat16"});
        bf16_s.push_back(b.seconds), bf16_mb.push_back(b.peak_mb);
        if (i.status || c.status || f.status || b.status) std::fprintf(stderr, "a child failed (statuses %d %d %d %d)\n", i.status, c.status, f.status, b.status);
    }
    const double f32_weights_mb = weights_gb * 1e3 * 2;  // float32 is twice bfloat16
    std::printf("\n%s: %.2f GB of bfloat16 weights (%.0f MB as float32); medians of %d rounds, fresh processes\n", dir.c_str(), weights_gb,
                f32_weights_mb, rounds);
    std::printf("%-62s %10s %10s %14s\n", "measure", "seconds", "peak MB", "target");
    std::printf("%-62s %10.3f\n", "process start (lmwb --version)", median(start_s));
    std::printf("%-62s %10.3f %10.0f %14s\n", "lmwb info (config, tokenizer, headers)", median(info_s), median(info_mb), "");
    std::printf("%-62s %10.3f %10s %14s\n", "  info beyond the process start", median(info_s) - median(start_s), "", "< 0.5 s");
    std::printf("%-62s %10.3f %10.0f %14s\n", "reference: map + convert every value to float32", median(conv_s), median(conv_mb), "");
    std::printf("%-62s %10.3f %10.0f %14s\n", "open for float32 compute", median(f32_s), median(f32_mb), "");
    std::printf("%-62s %10.2f %10s %14s\n", "  time / reference", median(f32_s) / median(conv_s), "", "<= 2");
    std::printf("%-62s %10s %10.2f %14s\n", "  peak / (float32 weights + 300 MB)", "", median(f32_mb) / (f32_weights_mb + 300), "<= 1.1");
    std::printf("%-62s %10.3f %10.0f %14s\n", "open for bfloat16 compute (weights as stored)", median(bf16_s), median(bf16_mb), "");
    return 0;
}

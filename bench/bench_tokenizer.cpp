// Tokenizer throughput: encodes ~10 MB of mixed text (English-like prose, Chinese, code, emoji, digits, odd
// whitespace) with a 128k-entry byte-level BPE vocabulary built from that text, single thread, and a 100 kB
// word without spaces. Also times any real tokenizer.json given on the command line on the same text.
//   bench_tokenizer [--mb N] [--repeat R] [tokenizer.json ...]
#include <algorithm>
#include <chrono>
#include <functional>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "lmwb/tokenizer.h"

namespace {

std::string make_corpus(std::size_t bytes, std::uint32_t seed) {
    std::mt19937 rng(seed);
    const char* syll[] = {"ka", "lo", "mi", "ter", "an", "st", "re", "on", "ing", "the", "qu", "ph", "ble", "tion",
                          "pre", "ment", "ou", "sh", "ch", "ex", "al", "ly", "de", "co", "un", "ver", "ness", "ize"};
    const char* cjk[] = {"東京", "大学", "模型", "语言", "计算", "数据", "学习", "世界", "中文", "测试", "。", "，"};
    const char* code[] = {"for (int i = 0; i < n; ++i) {\n", "    return x->next;\n", "}\n", "def f(x):\n",
                          "\tself.value = [1, 2, 3]\n", "#include <vector>\n", "if (a && b) { c(); }\n"};
    const char* emoji[] = {"🚀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "✨", "😀"};
    const char* spaces[] = {" ", " ", " ", " ", "  ", "\n", "\n\n", "\t", "   ", "\u00a0", "\r\n"};
    std::vector<std::string> lexicon;
    for (int i = 0; i < 20000; ++i) {
        std::string w;
        int n = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < n; ++k) w += syll[rng() % (sizeof syll / sizeof *syll)];
        if (rng() % 7 == 0) w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
        lexicon.push_back(w);
    }
    std::string out;
    out.reserve(bytes + 64);
    std::geometric_distribution<int> zipf(0.002);
    while (out.size() < bytes) {
        const auto r = rng() % 100;
        if (r < 80) out += lexicon[static_cast<std::size_t>(zipf(rng)) % lexicon.size()];
        else if (r < 88) out += cjk[rng() % (sizeof cjk / sizeof *cjk)];
        else if (r < 92) out += code[rng() % (sizeof code / sizeof *code)];
        else if (r < 94) out += emoji[rng() % (sizeof emoji / sizeof *emoji)];
        else if (r < 97) out += std::to_string(rng() % 100000000);
        else out += ",.;:!?'\"()"[rng() % 10];
        out += spaces[rng() % (sizeof spaces / sizeof *spaces)];
    }
    return out;
}

// GPT-2 byte-to-unicode table.
std::vector<std::string> byte_chars() {
    std::vector<std::string> t(256);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
        bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        unsigned cp = printable ? static_cast<unsigned>(b) : 256u + static_cast<unsigned>(n++);
        std::string s;
        if (cp < 0x80) s.push_back(static_cast<char>(cp));
        else { s.push_back(static_cast<char>(0xC0 | (cp >> 6))); s.push_back(static_cast<char>(0x80 | (cp & 0x3F))); }
        t[static_cast<std::size_t>(b)] = s;
    }
    return t;
}

// A byte-level BPE vocabulary of `target` entries: the corpus' most frequent space-prefixed words, each built
// from its bytes by a balanced tree of merges (ranked by word frequency), as a trained vocabulary would be.
std::string make_vocab(const std::string& corpus, std::size_t target) {
    auto bc = byte_chars();
    std::unordered_map<std::string, std::size_t> freq;
    std::size_t i = 0;
    while (i < corpus.size()) {
        std::size_t j = i;
        if (corpus[j] == ' ') ++j;
        while (j < corpus.size() && corpus[j] != ' ' && corpus[j] != '\n') ++j;
        if (j > i) ++freq[corpus.substr(i, j - i)];
        i = j > i ? j : i + 1;
    }
    std::vector<std::pair<std::size_t, std::string>> words;
    for (auto& [w, f] : freq) words.emplace_back(f, w);
    std::sort(words.begin(), words.end(), [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
    nlohmann::json vocab = nlohmann::json::object();
    nlohmann::json merges = nlohmann::json::array();
    std::size_t next_id = 0;
    for (auto& c : bc) vocab[c] = next_id++;
    std::function<std::string(const std::vector<std::string>&, std::size_t, std::size_t)> build =
        [&](const std::vector<std::string>& sym, std::size_t b, std::size_t e) -> std::string {
        if (e - b == 1) return sym[b];
        std::size_t mid = b + (e - b) / 2;
        std::string l = build(sym, b, mid), r = build(sym, mid, e);
        std::string m = l + r;
        if (!vocab.contains(m) && next_id < target) {
            vocab[m] = next_id++;
            merges.push_back(l + " " + r);
        }
        return vocab.contains(m) ? m : l;  // vocabulary full: stop growing
    };
    for (auto& [f, w] : words) {
        if (next_id >= target) break;
        std::vector<std::string> sym;
        for (unsigned char ch : w) sym.push_back(bc[ch]);
        if (sym.size() > 1 && sym.size() < 64) build(sym, 0, sym.size());
    }
    nlohmann::json doc = {
        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}, {"ignore_merges", false}}},
        {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
        {"decoder", {{"type", "ByteLevel"}}}};
    return doc.dump();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// Encodes the corpus line by line (as a data loader would); returns MB/s median over `repeat` runs.
double throughput(const lmwb::Tokenizer& tok, const std::vector<std::string>& lines, std::size_t bytes, int repeat,
                  std::size_t& tokens) {
    std::vector<double> rates;
    for (int r = 0; r < repeat; ++r) {
        tokens = 0;
        auto t0 = std::chrono::steady_clock::now();
        for (auto& l : lines) tokens += tok.encode(l, false).size();
        rates.push_back(static_cast<double>(bytes) / 1e6 / seconds_since(t0));
    }
    return median(rates);
}

}  // namespace

int main(int argc, char** argv) {
    double mb = 10;
    int repeat = 3;
    std::vector<std::string> extra;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--mb" && i + 1 < argc) mb = std::stod(argv[++i]);
        else if (a == "--repeat" && i + 1 < argc) repeat = std::stoi(argv[++i]);
        else if (a == "--help" || a == "-h") {
            std::printf("bench_tokenizer [--mb N] [--repeat R] [tokenizer.json ...]\n");
            return 0;
        } else extra.push_back(a);
    }
    auto corpus = make_corpus(static_cast<std::size_t>(mb * 1e6), 42);
    std::vector<std::string> lines;
    for (std::size_t i = 0, j; i < corpus.size(); i = j + 1) {
        j = corpus.find('\n', i);
        if (j == std::string::npos) j = corpus.size();
        lines.push_back(corpus.substr(i, j - i + 1));
    }
    auto t0 = std::chrono::steady_clock::now();
    lmwb::Tokenizer synthetic = lmwb::Tokenizer::from_json(make_vocab(corpus, 128000), "synthetic-128k");
    double build_s = seconds_since(t0);

    std::printf("corpus: %.1f MB, %zu lines; synthetic vocabulary: %zu entries (built in %.1f s)\n\n",
                static_cast<double>(corpus.size()) / 1e6, lines.size(), synthetic.vocab_size(), build_s);
    std::printf("%-44s %10s %12s %10s\n", "case", "MB/s", "tokens", "target");
    std::size_t tokens = 0;
    double rate = throughput(synthetic, lines, corpus.size(), repeat, tokens);
    std::printf("%-44s %10.2f %12zu %10s\n", "byte-level BPE 128k, single thread", rate, tokens, ">= 5");

    // One 100 kB word: the merge loop must stay O(n log n).
    std::string word;
    for (int i = 0; word.size() < 100000; ++i) word += "abcdefghij"[(i * 7 + i / 3) % 10];
    std::vector<double> times;
    for (int r = 0; r < repeat; ++r) {
        auto t1 = std::chrono::steady_clock::now();
        tokens = synthetic.encode(word, false).size();
        times.push_back(seconds_since(t1));
    }
    std::printf("%-44s %10.2f %12zu %10s\n", "100 kB word without spaces (seconds)", median(times), tokens, "< 1 s");

    for (auto& path : extra) {
        std::optional<lmwb::Tokenizer> loaded;
        try {
            loaded = lmwb::Tokenizer::from_file(path);
        } catch (const lmwb::TokenizerError& e) {
            std::fprintf(stderr, "%s\n", e.what());
            return 1;
        }
        const lmwb::Tokenizer& tok = *loaded;
        double r = throughput(tok, lines, corpus.size(), repeat, tokens);
        std::string name = path.size() > 40 ? "..." + path.substr(path.size() - 37) : path;
        std::printf("%-44s %10.2f %12zu %10s\n", name.c_str(), r, tokens, "");
    }
    return 0;
}

// Broken checkpoints fail with one clear error naming the file, tensor or field.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <tuple>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "lmwb/model.h"
#include "lmwb/tokenizer.h"
#include "test_support.h"

using lmwb::LanguageModel;
using lmwb::ModelError;
using lmwb::test::fixture;
using Catch::Matchers::Contains;

namespace fs = std::filesystem;

namespace {

std::string open_error(const std::string& path, lmwb::ModelOptions options = {}) {
    try {
        LanguageModel::open(path, options);
    } catch (const ModelError& e) {
        return e.what();
    }
    return "no error";
}

// A copy of a fixture model that a test may damage.
std::string copy_model(const lmwb::test::ScratchDir& dir, const std::string& name) {
    fs::path dst = dir.path() / name;
    fs::create_directories(dst);
    for (auto& e : fs::directory_iterator(fixture("models/" + name))) fs::copy_file(e.path(), dst / e.path().filename());
    return dst.string();
}

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::string header_of(const std::string& file) {
    std::uint64_t n = 0;
    std::memcpy(&n, file.data(), 8);
    return file.substr(8, n);
}

std::string with_header(const std::string& file, const std::string& header) {
    std::uint64_t old = 0;
    std::memcpy(&old, file.data(), 8);
    std::uint64_t n = header.size();
    std::string out(8, '\0');
    std::memcpy(out.data(), &n, 8);
    return out + header + file.substr(8 + old);
}

void replace_once(std::string& s, const std::string& from, const std::string& to) {
    auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("missing files and folders", "[model][errors]") {
    lmwb::test::ScratchDir dir;
    CHECK_THAT(open_error(dir.file("nowhere")), Contains("not a folder"));
    auto m = copy_model(dir, "llama");
    fs::remove(fs::path(m) / "model.safetensors");
    CHECK_THAT(open_error(m), Contains("no model.safetensors"));
    auto c = copy_model(dir, "gpt2");
    fs::remove(fs::path(c) / "config.json");
    CHECK_THAT(open_error(c), Contains("config.json: cannot open"));
}

TEST_CASE("config.json problems name the field", "[model][errors]") {
    lmwb::test::ScratchDir dir;
    auto m = copy_model(dir, "llama");
    const auto cfg = read(m + "/config.json");
    // {text in the fixture, its replacement, the error}; the last two: sizes no checkpoint has, refused before
    // anything is allocated (std::bad_alloc before).
    const std::tuple<const char*, const char*, const char*> cases[] = {
        {"\"model_type\": \"llama\"", "\"model_type\": \"mamba\"", "/model_type: unsupported model_type 'mamba'"},
        {"\"hidden_size\": 32", "\"hidden_size\": \"wide\"", "/hidden_size: expected an integer"},
        {"\"max_position_embeddings\": 64", "\"max_position_embeddings\": 0", "/max_position_embeddings: must be positive"},
        {"\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1000000000000", "/num_hidden_layers: is 1000000000000, more than 65536"},
        {"\"vocab_size\": ", "\"vocab_size\": 4000000000, \"x\": ", "/vocab_size: is 4000000000, more than 2147483647"},
        // Values no model runs with, named here rather than blamed on "broken weights" later.
        {"\"rms_norm_eps\": 1e-05", "\"rms_norm_eps\": -1", "/rms_norm_eps: must be a positive number"},
        {"\"rope_theta\": 10000.0", "\"rope_theta\": 0", "/rope_theta: must be a number above 1"},
        {"\"rope_theta\": 10000.0", "\"rope_theta\": 10000.0, \"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 0}",
         "/rope_scaling/factor: must be a positive number"},
        {"\"hidden_size\": 32", "\"hidden_size\": 32, \"head_dim\": 2147483647", "/head_dim: is 2147483647, more than 65536"},
    };
    for (const auto& [from, to, error] : cases) {
        std::string bad = cfg;
        replace_once(bad, from, to);
        write(m + "/config.json", bad);
        CHECK_THAT(open_error(m), Contains(error));
    }
    write(m + "/config.json", "{ not json");
    CHECK_THAT(open_error(m), Contains("config.json: malformed JSON"));
    write(m + "/config.json", "{\"model_type\": \"llama\", \"rope_theta\": 1e400}");  // out_of_range, not parse_error
    CHECK_THAT(open_error(m), Contains("config.json: malformed JSON") && Contains("number overflow"));
}

TEST_CASE("architecture fields that are not supported, or do not fit together, are refused by name", "[model][errors]") {
    lmwb::test::ScratchDir dir;
    struct Case {
        const char* model;
        const char* from;
        const char* to;
        const char* error;
    };
    const Case cases[] = {
        {"phi3", "\"long_factor\": [", "\"long_factor\": [1.0, ", "/rope_scaling/long_factor: has 3 factors, expected one per rotary frequency (2)"},
        {"phi3", "\"type\": \"longrope\"", "\"type\": \"yarn\"", "/rope_scaling/rope_type: unsupported RoPE scaling 'yarn'"},
        {"phi3", "\"partial_rotary_factor\": 0.5", "\"partial_rotary_factor\": 0.375", "/partial_rotary_factor: gives 3 rotary dimensions"},
        {"pythia", "\"rotary_pct\": 0.25", "\"rotary_pct\": 0.1", "/rotary_pct: gives 0 rotary dimensions"},
        {"pythia", "\"num_attention_heads\": 4", "\"num_attention_heads\": 4, \"num_key_value_heads\": 2",
         "/num_key_value_heads: must equal num_attention_heads for model_type 'gpt_neox'"},
        {"gemma2", "\"sliding_window\": 5", "\"sliding_window\": 5, \"layer_types\": [\"full_attention\"]",
         "/layer_types: expected one entry per layer (3)"},
        {"gemma2", "\"attn_logit_softcapping\": 2.0", "\"attn_logit_softcapping\": -2.0", "/attn_logit_softcapping: must not be negative"},
        {"gemma", "\"hidden_activation\": \"gelu_pytorch_tanh\"", "\"hidden_activation\": \"gelu_fast\"",
         "/hidden_activation: unsupported activation 'gelu_fast'"},
        {"qwen2", "\"model_type\": \"qwen2\"", "\"model_type\": \"qwen2\", \"use_sliding_window\": true",
         "/use_sliding_window: a sliding window is not supported for model_type 'qwen2'"},
        {"gpt2", "\"n_head\": 4", "\"n_head\": 4, \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}",
         "/rope_scaling: model_type 'gpt2' has learned positions"},
    };
    for (const Case& c : cases) {
        auto m = copy_model(dir, c.model);
        auto cfg = read(m + "/config.json");
        replace_once(cfg, c.from, c.to);
        write(m + "/config.json", cfg);
        INFO(c.model << ": " << c.to);
        CHECK_THAT(open_error(m), Contains("config.json: " + std::string(c.error)));
        fs::remove_all(m);
    }
    // The message lists what is supported.
    auto m = copy_model(dir, "gemma");
    auto cfg = read(m + "/config.json");
    replace_once(cfg, "\"model_type\": \"gemma\"", "\"model_type\": \"gemma3_text\"");
    write(m + "/config.json", cfg);
    CHECK_THAT(open_error(m), Contains("supported: gemma, gemma2, gpt2, gpt_neox, llama, mistral, olmo2, phi3, qwen2, qwen3"));
}

TEST_CASE("missing or misshapen tensors name the tensor and the shapes", "[model][errors]") {
    lmwb::test::ScratchDir dir;
    auto m = copy_model(dir, "llama");
    auto file = read(m + "/model.safetensors");
    auto header = header_of(file);
    std::string renamed = header;
    replace_once(renamed, "\"model.layers.1.mlp.up_proj.weight\"", "\"model.layers.1.mlp.upp_proj.weight\"");
    write(m + "/model.safetensors", with_header(file, renamed));
    CHECK_THAT(open_error(m), Contains("tensor 'model.layers.1.mlp.up_proj.weight' is missing"));

    auto cfg = read(m + "/config.json");
    write(m + "/model.safetensors", file);
    std::string wider = cfg;
    replace_once(wider, "\"intermediate_size\": 64", "\"intermediate_size\": 96");
    write(m + "/config.json", wider);
    CHECK_THAT(open_error(m), Contains("'model.layers.0.mlp.gate_proj.weight' has shape [64, 32], expected [96, 32]"));
    // Described without loading (lmwb info): the same checks, from the headers.
    lmwb::ModelOptions describe;
    describe.load_weights = false;
    CHECK_THAT(open_error(m, describe), Contains("'model.layers.0.mlp.gate_proj.weight' has shape [64, 32], expected [96, 32]"));
    auto info = lmwb::test::run_command(std::string(LMWB_CLI) + " info " + m + " 2>&1");
    CHECK(info.exit_code == 1);
    CHECK_THAT(info.output, Contains("expected [96, 32]"));
    write(m + "/config.json", cfg);
    write(m + "/model.safetensors", with_header(file, renamed));
    CHECK_THAT(open_error(m, describe), Contains("tensor 'model.layers.1.mlp.up_proj.weight' is missing"));
    write(m + "/model.safetensors", file);
    CHECK(open_error(m, describe) == "no error");
    // And its parameter count is the loaded model's.
    auto loaded = LanguageModel::open(m), described = LanguageModel::open(m, describe);
    CHECK(described->info().parameters == loaded->info().parameters);
}

TEST_CASE("truncated or corrupt safetensors files", "[model][errors]") {
    lmwb::test::ScratchDir dir;
    auto m = copy_model(dir, "gpt2");
    std::string path = m + "/model.safetensors";
    auto file = read(path);
    write(path, file.substr(0, 5));
    CHECK_THAT(open_error(m), Contains("truncated safetensors file"));
    std::string huge = file;
    huge[6] = '\x7f';
    write(path, huge);
    CHECK_THAT(open_error(m), Contains("not a safetensors file") && Contains("header length"));
    write(path, file.substr(0, file.size() - 100));
    CHECK_THAT(open_error(m), Contains("lie outside the data section"));
    // Two tensors claiming the same bytes.
    auto header = header_of(file);
    auto a = header.find("\"data_offsets\":[");
    auto b = header.find("\"data_offsets\":[", a + 1);
    auto a_end = header.find(']', a), b_end = header.find(']', b);
    std::string first = header.substr(a, a_end - a + 1);
    std::string second = header.substr(b, b_end - b + 1);
    (void)second;
    std::string overlapping = header;
    // Give the second tensor the first one's region only when both are the same size; otherwise shift it.
    auto nums = [](const std::string& s) {
        auto l = s.find('['), c = s.find(','), r = s.find(']');
        return std::pair<long long, long long>{std::stoll(s.substr(l + 1, c - l - 1)), std::stoll(s.substr(c + 1, r - c - 1))};
    };
    auto [b0, b1] = nums(header.substr(b, b_end - b + 1));
    std::string moved = "\"data_offsets\":[" + std::to_string(b0 - 4) + "," + std::to_string(b1 - 4) + "]";
    overlapping.replace(b, b_end - b + 1, moved);
    write(path, with_header(file, overlapping));
    CHECK_THAT(open_error(m), Contains("overlap") || Contains("outside the data section"));
}

TEST_CASE("shards outside the model folder are refused, errors never quote a foreign file's bytes", "[model][errors][security]") {
    lmwb::test::ScratchDir dir;
    auto m = copy_model(dir, "gpt2");
    fs::rename(m + "/model.safetensors", m + "/model-00001-of-00001.safetensors");
    // A file that is not a safetensors file at all, outside the folder and inside it
    write(dir.file("secret"), "root:x:0:0:root:/root:/bin/bash\n");
    for (std::string shard : {"../secret", "../../../../../../etc/passwd", "/etc/shadow", "sub/../../secret"}) {
        INFO(shard);
        write(m + "/model.safetensors.index.json", R"({"weight_map": {"transformer.wte.weight": ")" + shard + R"("}})");
        auto e = open_error(m);
        CHECK_THAT(e, Contains("model.safetensors.index.json") && Contains("/weight_map/transformer.wte.weight") &&
                          Contains("outside the model folder"));
    }
    // Inside the folder, a text file as a shard: the error says what it is not, without its content or its first
    // 8 bytes read as a number.
    write(m + "/passwd.safetensors", "root:x:0:0:root:/root:/bin/bash\n");
    write(m + "/model.safetensors.index.json", R"({"weight_map": {"transformer.wte.weight": "passwd.safetensors"}})");
    auto e = open_error(m);
    CHECK_THAT(e, Contains("passwd.safetensors") && Contains("not a safetensors file"));
    CHECK_THAT(e, !Contains("root") && !Contains("3475222254926655346"));
    // A header that is not JSON: the byte offset, not the bytes
    std::string bad(8, '\0');
    bad[0] = 16;
    write(m + "/passwd.safetensors", bad + "root:x:0:0:root:/root:/bin/bash\n");
    e = open_error(m);
    CHECK_THAT(e, Contains("not valid JSON at byte 8") && !Contains("root"));
    // A FIFO as a shard is refused, not waited on
    REQUIRE(::mkfifo((m + "/fifo.safetensors").c_str(), 0600) == 0);
    write(m + "/model.safetensors.index.json", R"({"weight_map": {"transformer.wte.weight": "fifo.safetensors"}})");
    CHECK_THAT(open_error(m), Contains("fifo.safetensors") && Contains("not a regular file"));
}

TEST_CASE("CUDA on a CPU-only LibTorch fails clearly, NaN weights are reported", "[model][errors]") {
    lmwb::ModelOptions cuda;
    cuda.device = "cuda";
    CHECK_THAT(open_error(fixture("models/gpt2"), cuda), Contains("no CUDA support"));
    lmwb::ModelOptions odd;
    odd.dtype = "int8";
    CHECK_THAT(open_error(fixture("models/gpt2"), odd), Contains("unsupported compute dtype 'int8'"));
    lmwb::ModelOptions half;
    half.dtype = "float16";
    CHECK_THAT(open_error(fixture("models/gpt2"), half), Contains("float16 compute needs a GPU"));
    CHECK(lmwb::LanguageModel::open(fixture("models/gpt2"))->info().compute_dtype == "float32");  // "auto" on the CPU

    lmwb::test::ScratchDir dir;
    auto m = copy_model(dir, "llama");
    auto file = read(m + "/model.safetensors");
    // Overwrite the final norm's weights with NaN (F32 0x7fc00000).
    auto header = header_of(file);
    auto at = header.find("\"model.norm.weight\"");
    auto off = header.find("\"data_offsets\":[", at);
    auto begin = std::stoll(header.substr(off + 16, header.find(',', off) - off - 16));
    std::size_t base = 8 + header.size() + static_cast<std::size_t>(begin);
    for (int i = 0; i < 32; ++i) std::memcpy(file.data() + base + 4 * i, "\x00\x00\xc0\x7f", 4);
    write(m + "/model.safetensors", file);
    auto model = LanguageModel::open(m, {});
    CHECK_THROWS_WITH(model->score({{"the", " cat"}}), Contains("NaN or infinite logits"));
}

TEST_CASE("a FIFO, a device or a folder given as config, tokenizer or suite file is refused at once", "[model][errors]") {
    lmwb::test::ScratchDir dir;
    auto m = copy_model(dir, "gpt2");
    fs::remove(m + "/config.json");
    REQUIRE(::mkfifo((m + "/config.json").c_str(), 0600) == 0);
    CHECK_THAT(open_error(m), Contains("config.json") && Contains("not a regular file"));
    fs::remove(m + "/config.json");
    fs::create_directory(m + "/config.json");
    CHECK_THAT(open_error(m), Contains("config.json") && Contains("is a folder"));
    CHECK_THROWS_WITH(lmwb::Tokenizer::from_file("/dev/zero"), Contains("/dev/zero") && Contains("not a regular file"));
}

TEST_CASE("a key given twice in config.json or a tensor twice in a safetensors header is refused", "[model][errors]") {
    lmwb::test::ScratchDir dir;
    auto m = copy_model(dir, "gpt2");
    auto config = read(m + "/config.json");
    auto original = config;
    replace_once(config, "\"n_layer\": 2", "\"n_layer\": 2, \"n_layer\": 1");
    write(m + "/config.json", config);
    CHECK_THAT(open_error(m), Contains("config.json") && Contains("'n_layer' appears twice"));
    write(m + "/config.json", original);
    auto file = read(m + "/model.safetensors");
    auto header = header_of(file);
    const auto first = header.find("\"transformer.wte.weight\"");
    REQUIRE(first != std::string::npos);
    const auto entry_end = header.find('}', first) + 1;
    std::string twice = header;
    twice.insert(1, header.substr(first, entry_end - first) + ",");  // the same tensor again, first in the header
    write(m + "/model.safetensors", with_header(file, twice));
    CHECK_THAT(open_error(m), Contains("model.safetensors") && Contains("'transformer.wte.weight' appears twice"));
}

TEST_CASE("checkpoint tensors the configuration leaves unread are listed as a warning", "[model][errors]") {
    lmwb::test::ScratchDir dir;
    auto m = copy_model(dir, "llama");
    CHECK(LanguageModel::open(m)->info().warnings.empty());
    auto config = read(m + "/config.json");
    replace_once(config, "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1");
    write(m + "/config.json", config);
    const auto info = LanguageModel::open(m)->info();
    REQUIRE(info.warnings.size() == 1);
    CHECK_THAT(info.warnings[0], Contains("tensors of the checkpoint are not used (model.layers.1.") && Contains("num_hidden_layers (1)"));
    // GPT-2's saved attention masks are expected, not a warning
    CHECK(LanguageModel::open(fixture("models/gpt2"))->info().warnings.empty());
}

#if !defined(__SANITIZE_ADDRESS__)  // ASan reserves its shadow memory up front and aborts on a failed allocation
// Out of memory while the weights become float32: one line naming the need and what to change, never LibTorch's
// backtrace or an abort. A child process under an address-space limit just above what it already maps plus the file
// (a sparse 256 MiB of bfloat16 embeddings, 512 MiB as float32), so the limit follows the machine's own baseline.
TEST_CASE("running out of memory while loading says how much the weights need and what to change", "[model][errors]") {
    lmwb::test::ScratchDir dir;
    const std::string m = copy_model(dir, "llama3-bf16");
    constexpr std::int64_t kVocab = 4 << 20, kHidden = 32;
    {
        const std::string file = read(m + "/model.safetensors");
        const auto header = nlohmann::json::parse(header_of(file));
        std::uint64_t n = 0;
        std::memcpy(&n, file.data(), 8);
        const std::string data = file.substr(8 + n);
        nlohmann::json out = nlohmann::json::object();
        std::string bytes;
        std::uint64_t at = 0;
        for (const auto& [name, original] : header.items()) {
            if (name == "__metadata__") continue;
            nlohmann::json t = original;
            const auto begin = t["data_offsets"][0].get<std::uint64_t>(), end = t["data_offsets"][1].get<std::uint64_t>();
            std::uint64_t size = end - begin;
            if (name == "model.embed_tokens.weight") {
                t["shape"] = {kVocab, kHidden};
                size = static_cast<std::uint64_t>(kVocab * kHidden * 2);
            }
            t["data_offsets"] = {at, at + size};
            out[name] = t;
            at += size;
        }
        std::string h = out.dump();
        std::uint64_t hn = h.size();
        std::ofstream f(m + "/model.safetensors", std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(&hn), 8);
        f << h;
        f.close();
        // Every tensor's bytes at its offset: the small ones copied, the embedding left as a hole (zeros).
        std::fstream g(m + "/model.safetensors", std::ios::binary | std::ios::in | std::ios::out);
        for (auto& [name, t] : out.items()) {
            if (name == "model.embed_tokens.weight") continue;
            const auto old = header[name]["data_offsets"];
            g.seekp(static_cast<std::streamoff>(8 + hn + t["data_offsets"][0].get<std::uint64_t>()));
            g << data.substr(old[0].get<std::size_t>(), old[1].get<std::size_t>() - old[0].get<std::size_t>());
        }
        g.close();
        fs::resize_file(m + "/model.safetensors", 8 + hn + at);
        std::string cfg = read(m + "/config.json");
        replace_once(cfg, "\"vocab_size\": 321", "\"vocab_size\": " + std::to_string(kVocab));
        write(m + "/config.json", cfg);
    }
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(fds[0]);
        long long mapped_kb = 0;
        std::ifstream status("/proc/self/status");
        for (std::string line; std::getline(status, line);)
            if (line.rfind("VmSize:", 0) == 0) mapped_kb = std::stoll(line.substr(7));
        rlimit lim{};
        lim.rlim_cur = lim.rlim_max = static_cast<rlim_t>(mapped_kb * 1024 + (256 + 128) * (1LL << 20));
        std::string message = "no error";
        lmwb::ModelOptions one;
        one.threads = 1;  // no thread stacks that grow with the machine's cores inside the limit
        if (::setrlimit(RLIMIT_AS, &lim) != 0) {
            message = "setrlimit failed";
        } else {
            try {
                message = open_error(m, one);
            } catch (const std::exception& e) {
                message = std::string("not a ModelError: ") + e.what();
            }
        }
        (void)!::write(fds[1], message.data(), message.size());
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string message;
    char buf[4096];
    for (ssize_t got; (got = ::read(fds[0], buf, sizeof buf)) > 0;) message.append(buf, static_cast<std::size_t>(got));
    ::close(fds[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    INFO(message);
    CHECK(WIFEXITED(status));
    CHECK_THAT(message, Contains(m + ": not enough memory to hold the weights as float32") && Contains("GiB") &&
                            Contains("a 16-bit dtype or a machine with more memory"));
    CHECK(message.find('\n') == std::string::npos);  // one line, no backtrace
}
#endif

// Models by Hugging Face repository name, found offline in a cache folder the test builds (the cache layout:
// models--org--name/refs/<rev> -> snapshots/<commit>/), its fallbacks, its errors, and sharded checkpoints' errors.
#include <catch2/catch.hpp>

#include <cstring>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "lmwb/installation.h"
#include "lmwb/model.h"
#include "lmwb/model_source.h"
#include "test_support.h"

using namespace lmwb;
namespace fs = std::filesystem;
using lmwb::test::ScratchDir;

namespace {

const std::string kModel = std::string(LMWB_MODELS) + "/tiny-a";
const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";
const std::string kOther = "fedcba9876543210fedcba9876543210fedcba98";

// Sets an environment variable for the scope; restores the old value.
class Env {
public:
    Env(const char* name, const std::string& value) : name_(name) {
        if (const char* v = std::getenv(name)) old_ = v, had_ = true;
        ::setenv(name, value.c_str(), 1);
    }
    ~Env() { had_ ? (void)::setenv(name_, old_.c_str(), 1) : (void)::unsetenv(name_); }

private:
    const char* name_;
    std::string old_;
    bool had_ = false;
};

void snapshot(const fs::path& repo, const std::string& commit) {
    fs::create_directories(repo / "snapshots" / commit);
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"}) fs::copy_file(fs::path(kModel) / f, repo / "snapshots" / commit / f);
}

// A minimal safetensors file holding float32 tensors of the given names, each of shape [2].
void write_shard(const fs::path& path, const std::vector<std::string>& names) {
    nlohmann::json header = nlohmann::json::object();
    for (std::size_t i = 0; i < names.size(); ++i) header[names[i]] = {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {8 * i, 8 * i + 8}}};
    std::string h = header.dump();
    while (h.size() % 8) h += ' ';
    std::ofstream out(path, std::ios::binary);
    const std::uint64_t n = h.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << h;
    const float zeros[2] = {0, 0};
    for (std::size_t i = 0; i < names.size(); ++i) out.write(reinterpret_cast<const char*>(zeros), sizeof zeros);
}

}  // namespace

TEST_CASE("a repository name opens its snapshot from the Hugging Face cache, offline", "[model][cache]") {
    ScratchDir d;
    const fs::path hub = d.path() / "hub", repo = hub / "models--acme--tiny";
    snapshot(repo, kCommit);
    fs::create_directories(repo / "refs");
    std::ofstream(repo / "refs" / "main") << kCommit;  // no newline, as huggingface_hub writes it
    Env cache("HF_HUB_CACHE", hub.string());

    CHECK(hf_cache_dir() == hub.string());
    CHECK(resolve_model("acme/tiny") == (repo / "snapshots" / kCommit).string());
    CHECK(resolve_model(kModel) == kModel);  // a folder stays a folder
    auto m = LanguageModel::open("acme/tiny");
    CHECK(m->info().path == (repo / "snapshots" / kCommit).string());
    CHECK(m->info().repository == "acme/tiny");  // the report names what was asked for, not only a snapshot hash
    CHECK(m->info().revision == "main");
    CHECK(m->info().architecture == "llama");

    // Revisions: a tag under refs/, a commit, and errors naming what is missing.
    snapshot(repo, kOther);
    std::ofstream(repo / "refs" / "v1") << kOther << "\n";
    CHECK(resolve_model("acme/tiny", "v1") == (repo / "snapshots" / kOther).string());
    CHECK(resolve_model("acme/tiny", kCommit) == (repo / "snapshots" / kCommit).string());
    ModelOptions o;
    o.revision = "v1";
    CHECK(LanguageModel::open("acme/tiny", o)->info().path == (repo / "snapshots" / kOther).string());
    CHECK_THROWS_WITH(resolve_model("acme/tiny", "v2"), Catch::Contains("no refs/v2") && Catch::Contains("give --revision"));
    std::ofstream(repo / "refs" / "broken") << "1111111111111111111111111111111111111111";
    CHECK_THROWS_WITH(resolve_model("acme/tiny", "broken"), Catch::Contains("refs/broken: names snapshot 1111") && Catch::Contains("not in"));
    CHECK_THROWS_WITH(resolve_model("acme/missing"),
                      Catch::Contains("not in the Hugging Face cache") && Catch::Contains((hub / "models--acme--missing").string()));
    CHECK_THROWS_WITH(LanguageModel::open("/no/such/folder"), Catch::Contains("/no/such/folder: not a folder"));
    fs::create_directories(hub / "models--acme--empty");
    CHECK_THROWS_WITH(resolve_model("acme/empty"), Catch::Contains("holds no snapshots of acme/empty"));
    // Two snapshots and no refs/main: which one is meant is not guessed.
    fs::remove(repo / "refs" / "main");
    CHECK_THROWS_WITH(resolve_model("acme/tiny"), Catch::Contains("no refs/main"));
    std::ofstream(repo / "refs" / "main") << kCommit;

    // The cache's models, for the GUI's list.
    auto listed = cached_models();
    REQUIRE(listed.size() == 1);  // acme/empty has no snapshot
    CHECK(listed[0].name == "acme/tiny");
    CHECK(listed[0].revision == kCommit);

    // Fallbacks: $HF_HOME/hub, then ~/.cache/huggingface/hub.
    {
        Env no_cache("HF_HUB_CACHE", "");
        Env home("HF_HOME", d.path().string());
        CHECK(hf_cache_dir() == hub.string());
        CHECK(resolve_model("acme/tiny") == (repo / "snapshots" / kCommit).string());
        Env no_home("HF_HOME", "");
        Env user_home("HOME", (d.path() / "user").string());
        CHECK(hf_cache_dir() == (d.path() / "user" / ".cache" / "huggingface" / "hub").string());
    }

    // The CLI takes names and --revision.
    const std::string cli = std::string(LMWB_CLI);
    auto info = lmwb::test::run_command("HF_HUB_CACHE=" + hub.string() + " " + cli + " info acme/tiny --revision v1 2>&1");
    CHECK(info.exit_code == 0);
    CHECK(info.output.find(kOther) != std::string::npos);
    auto missing = lmwb::test::run_command("HF_HUB_CACHE=" + hub.string() + " " + cli + " info acme/nothing 2>&1");
    CHECK(missing.exit_code != 0);
    CHECK(missing.output.find("not in the Hugging Face cache") != std::string::npos);
}

TEST_CASE("sharded checkpoints: a missing shard and a tensor in two shards are clear errors", "[model][cache][errors]") {
    ScratchDir d;
    for (const char* f : {"config.json", "tokenizer.json"}) fs::copy_file(fs::path(kModel) / f, d.path() / f);
    nlohmann::json index = {{"weight_map", {{"a", "model-00001-of-00002.safetensors"}, {"b", "model-00002-of-00002.safetensors"}}}};
    std::ofstream(d.path() / "model.safetensors.index.json") << index.dump();
    write_shard(d.path() / "model-00001-of-00002.safetensors", {"a", "x"});
    CHECK_THROWS_WITH(LanguageModel::open(d.path().string()), Catch::Contains("model-00002-of-00002.safetensors"));
    write_shard(d.path() / "model-00002-of-00002.safetensors", {"b", "x"});
    CHECK_THROWS_WITH(LanguageModel::open(d.path().string()), Catch::Contains("tensor 'x' is also in") && Catch::Contains("one shard"));
}

TEST_CASE("opened to describe only: the same facts as a full open, from the headers, computing is refused", "[model][describe]") {
    std::vector<std::string> folders = {kModel, std::string(LMWB_MODELS) + "/tiny-b"};
    for (const char* f : {"gpt2", "gpt2-noprefix-f16", "llama", "llama3-bf16", "mistral", "qwen2", "qwen3", "pythia", "phi3",
                          "gemma", "gemma2", "olmo2"})
        folders.push_back(std::string(LMWB_FIXTURES) + "/models/" + f);
    for (const auto& folder : folders) {
        INFO(folder);
        ModelOptions light;
        light.load_weights = false;
        auto d = LanguageModel::open(folder, light);
        auto m = LanguageModel::open(folder);
        const ModelInfo &a = d->info(), &b = m->info();
        CHECK(a.parameters == b.parameters);
        CHECK(a.architecture == b.architecture);
        CHECK(a.vocab_size == b.vocab_size);
        CHECK(a.context_length == b.context_length);
        CHECK(a.layers == b.layers);
        CHECK(a.stored_dtype == b.stored_dtype);
        CHECK(a.weight_bytes == b.weight_bytes);
        CHECK(a.weight_files == b.weight_files);
        CHECK(a.tokenizer == b.tokenizer);  // described from the file, built on first use
        CHECK(d->tokenizer().encode("Hello world", false).ids == m->tokenizer().encode("Hello world", false).ids);
        CHECK_THROWS_WITH(d->score({{"Hello", " world"}}), Catch::Contains("to describe it only"));
    }
}

TEST_CASE("choices that share a long context score it once, with the same log-likelihoods", "[model][scoring]") {
    std::vector<std::string> folders = {std::string(LMWB_MODELS) + "/tiny-b"};
    for (const char* f : {"gpt2", "llama", "qwen2", "mistral", "qwen3", "pythia", "neox-sequential", "phi3", "gemma", "gemma2", "olmo2"})
        folders.push_back(std::string(LMWB_FIXTURES) + "/models/" + f);
    for (const auto& folder : folders) {
        INFO(folder);
        auto m = LanguageModel::open(folder);
        // A context of about 40 tokens (over the 32-token threshold) and four continuations of different lengths.
        std::string context = "Question: once upon a time there was a little cat that sat on a mat and looked at the stars";
        while (m->tokenizer().encode(context, false).ids.size() < 40) context += " and more";
        std::vector<ScoreRequest> reqs;
        for (const char* c : {" blue", " red and green", " a", " the stars again"}) reqs.push_back({context, c});
        reqs.push_back({"Short context:", " yes"});  // not shared: scored in the batched path beside them
        auto together = m->score(reqs, 8);
        for (std::size_t i = 0; i < reqs.size(); ++i) {
            auto alone = m->score({reqs[i]}, 1).front();
            CHECK(together[i].logprob == Approx(alone.logprob).margin(1e-5));
            CHECK(together[i].is_greedy == alone.is_greedy);
            CHECK(together[i].tokens == alone.tokens);
            REQUIRE(together[i].token_logprobs.size() == alone.token_logprobs.size());
            for (std::size_t k = 0; k < alone.token_logprobs.size(); ++k)
                CHECK(together[i].token_logprobs[k] == Approx(alone.token_logprobs[k]).margin(1e-5));
        }
    }
}

TEST_CASE("batched generation equals one prompt at a time, greedy and sampled", "[model][generation]") {
    std::vector<std::string> folders = {std::string(LMWB_MODELS) + "/tiny-b", std::string(LMWB_MODELS) + "/tiny-a"};
    for (const char* f : {"gpt2", "llama", "qwen2", "qwen3", "pythia", "phi3", "gemma2", "olmo2"}) folders.push_back(std::string(LMWB_FIXTURES) + "/models/" + f);
    const std::vector<std::string> prompts = {"Question: What color is the sky?\nAnswer:", "Once upon a time", "The",
                                              "Question: What does a cat say?\nAnswer:", "A long time ago in a land far away there lived"};
    for (const auto& folder : folders) {
        INFO(folder);
        auto m = LanguageModel::open(folder);
        for (double temperature : {0.0, 0.9}) {
            INFO("temperature " << temperature);
            std::vector<GenerationOptions> opts;
            for (std::size_t i = 0; i < prompts.size(); ++i) {
                GenerationOptions g;
                g.max_new_tokens = 6 + static_cast<int>(i) * 3;  // rows of different lengths finish apart
                g.temperature = temperature;
                g.top_p = 0.95;
                g.seed = 11 + i;
                g.stop = {"\n"};
                g.alternatives = 2;
                opts.push_back(g);
            }
            auto batch = m->generate_batch(prompts, opts);
            REQUIRE(batch.size() == prompts.size());
            for (std::size_t i = 0; i < prompts.size(); ++i) {
                auto one = m->generate(prompts[i], opts[i]);
                CHECK(batch[i].text == one.text);
                CHECK(batch[i].stop_reason == one.stop_reason);
                REQUIRE(batch[i].tokens.size() == one.tokens.size());
                for (std::size_t k = 0; k < one.tokens.size(); ++k) {
                    CHECK(batch[i].tokens[k].id == one.tokens[k].id);
                    CHECK(batch[i].tokens[k].logprob == Approx(one.tokens[k].logprob).margin(1e-4));
                }
            }
        }
    }
}

TEST_CASE("bundled models and suites are found beside the program, or in LMWB_DATA_DIR", "[model_source][install]") {
    // build/tests/test_model -> build/share/lmwb, the installed layout's bin/ -> share/lmwb.
    REQUIRE_FALSE(data_dir().empty());
    CHECK(fs::equivalent(bundled_model("tiny-a"), kModel));
    CHECK(fs::is_regular_file(fs::path(bundled_suites_dir()) / "world-facts-mc.json"));
    CHECK(resolve_model("tiny-b") == bundled_model("tiny-b"));
    CHECK(bundled_model("..").empty());
    CHECK(bundled_model("tiny-a/../tiny-b").empty());
    CHECK(bundled_model("no-such-model").empty());
    CHECK(std::string(version()).find('.') != std::string::npos);

    ScratchDir dir;
    fs::create_directories(dir.path() / "models" / "mine");
    {
        Env data("LMWB_DATA_DIR", dir.path().string());
        CHECK(data_dir() == dir.path().string());
        CHECK(bundled_model("mine") == (dir.path() / "models" / "mine").string());
        CHECK(bundled_model("tiny-a").empty());
        CHECK(bundled_suites_dir().empty());
        CHECK_THROWS_WITH(resolve_model("tiny-a"), Catch::Contains("not in the Hugging Face cache"));
    }
    {
        Env data("LMWB_DATA_DIR", (dir.path() / "missing").string());
        CHECK(data_dir().empty());
        CHECK(bundled_model("tiny-a").empty());
    }
}

TEST_CASE("a sharded model in a real Hugging Face cache: snapshot links into its repository's blobs open, others are refused",
          "[model][cache][security]") {
    ScratchDir d;
    const fs::path hub = d.path() / "hub", repo = hub / "models--acme--sharded", snap = repo / "snapshots" / kCommit;
    fs::create_directories(repo / "blobs");
    fs::create_directories(snap);
    fs::create_directories(repo / "refs");
    std::ofstream(repo / "refs" / "main") << kCommit;
    // Every file of the snapshot a link to a blob named by its hash, as huggingface_hub lays them out.
    auto blob = [&](const std::string& name, const fs::path& content_from) {
        const std::string hash = "blob-" + name;
        fs::copy_file(content_from, repo / "blobs" / hash);
        fs::create_symlink(fs::path("..") / ".." / "blobs" / hash, snap / name);
    };
    ScratchDir plain;  // the same model sharded in a plain folder, for the files' content
    auto m = LanguageModel::open(kModel);
    const std::string st = lmwb::test::read_text(std::string(kModel) + "/model.safetensors");
    plain.write("model-00001-of-00001.safetensors", st);
    std::uint64_t header_len = 0;
    std::memcpy(&header_len, st.data(), 8);
    nlohmann::json header = nlohmann::json::parse(st.substr(8, header_len));
    nlohmann::json index = {{"weight_map", nlohmann::json::object()}};
    for (auto& [name, t] : header.items())
        if (name != "__metadata__") index["weight_map"][name] = "model-00001-of-00001.safetensors";
    plain.write("model.safetensors.index.json", index.dump());
    for (const char* f : {"config.json", "tokenizer.json"}) blob(f, fs::path(kModel) / f);
    blob("model.safetensors.index.json", plain.file("model.safetensors.index.json"));
    blob("model-00001-of-00001.safetensors", plain.file("model-00001-of-00001.safetensors"));
    Env cache("HF_HUB_CACHE", hub.string());
    auto sharded = LanguageModel::open("acme/sharded");
    CHECK(sharded->info().parameters == m->info().parameters);
    CHECK(sharded->score({{"The sky is", " blue"}}, 1)[0].logprob == Approx(m->score({{"The sky is", " blue"}}, 1)[0].logprob).margin(1e-5));
    // The shard's link led anywhere else (another repository's blobs, a file outside the cache): refused by name.
    for (const fs::path& elsewhere : {hub / "models--other--repo" / "blobs" / "x", d.path() / "outside.safetensors"}) {
        fs::create_directories(elsewhere.parent_path());
        fs::copy_file(plain.file("model-00001-of-00001.safetensors"), elsewhere, fs::copy_options::overwrite_existing);
        fs::remove(snap / "model-00001-of-00001.safetensors");
        fs::create_symlink(elsewhere, snap / "model-00001-of-00001.safetensors");
        INFO(elsewhere);
        CHECK_THROWS_WITH(LanguageModel::open("acme/sharded"), Catch::Contains("is outside the model folder and its repository's blobs/"));
    }
}

TEST_CASE("revisions and refs never lead out of the cache or quote a foreign file", "[model][cache][security]") {
    ScratchDir d;
    const fs::path hub = d.path() / "hub", repo = hub / "models--acme--tiny";
    snapshot(repo, kCommit);
    fs::create_directories(repo / "refs" / "pr");
    std::ofstream(repo / "refs" / "main") << kCommit;
    std::ofstream(repo / "refs" / "pr" / "1") << kCommit << "\n";
    Env cache("HF_HUB_CACHE", hub.string());
    CHECK(resolve_model("acme/tiny", "pr/1") == (repo / "snapshots" / kCommit).string());  // refs/pr/N as the Hub writes
    const std::string secret = d.write("secret.txt", "root:x:0:0:secret\n");
    for (const char* bad : {"../../../../../../../etc/passwd", "..", "main/../main", "/etc/passwd", "-rf", "a b", "main\n"}) {
        INFO(bad);
        CHECK_THROWS_WITH(resolve_model("acme/tiny", bad), Catch::Contains("is not a branch, tag or commit name"));
    }
    // A ref that is a link (here to a file outside the cache): refused, its target never read or quoted.
    fs::create_symlink(secret, repo / "refs" / "linked");
    CHECK_THROWS_WITH(resolve_model("acme/tiny", "linked"), Catch::Contains("not a ref file of the cache") && !Catch::Contains("root:x"));
    // A ref holding a path instead of a commit hash.
    std::ofstream(repo / "refs" / "escape") << "../../outside";
    CHECK_THROWS_WITH(resolve_model("acme/tiny", "escape"), Catch::Contains("does not hold a commit hash") && !Catch::Contains("outside"));
    std::ofstream(repo / "refs" / "text") << "root:x:0:0:secret";
    CHECK_THROWS_WITH(resolve_model("acme/tiny", "text"), !Catch::Contains("root:x"));
    auto cli = lmwb::test::run_command("HF_HUB_CACHE=" + hub.string() + " " + std::string(LMWB_CLI) +
                                       " info acme/tiny --revision ../../../../../../../" + secret + " 2>&1");
    CHECK(cli.exit_code == 1);
    CHECK_THAT(cli.output, !Catch::Contains("root:x"));
}

TEST_CASE("a snapshot whose blob is gone says so, not that the weights are missing", "[model][cache][errors]") {
    ScratchDir d;
    for (const char* f : {"config.json", "tokenizer.json"}) fs::copy_file(fs::path(kModel) / f, d.path() / f);
    fs::create_symlink("../../blobs/0123", d.path() / "model.safetensors");
    CHECK_THROWS_WITH(LanguageModel::open(d.path().string()),
                      Catch::Contains("model.safetensors: links to ../../blobs/0123, which does not exist (an incomplete download?)"));
}

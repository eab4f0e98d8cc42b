// lmwb eval / merge / compare as a user runs them: kill -9 and Ctrl-C in the middle of a run, --resume, shards
// merged on the command line, and clear errors for bad input.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <set>
#include <fstream>
#include <thread>

#include <poll.h>
#include <pty.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "json_compare.h"
#include "lmwb/report.h"
#include "lmwb/lm_eval_task.h"
#include "test_support.h"

using lmwb::test::run_command;
using lmwb::test::ScratchDir;

namespace {

const std::string cli = LMWB_CLI;
const std::string model = std::string(LMWB_MODELS) + "/tiny-a";

std::size_t lines_in(const std::string& path) {
    std::ifstream in(path);
    std::string l;
    std::size_t n = 0;
    while (std::getline(in, l)) ++n;
    return n;
}

nlohmann::json without_execution(const std::string& path) {
    auto j = nlohmann::json::parse(std::ifstream(path));
    j.erase("execution");
    return j;
}

// Starts a run in the background, waits until `items` items are in its journal, then sends `sig`.
void interrupt_after(const std::string& args, const std::string& journal, std::size_t items, int sig) {
    std::string pid_file = journal + ".pid";
    REQUIRE(std::system((args + " -q > /dev/null 2>&1 & echo $! > " + pid_file).c_str()) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    int pid = 0;
    std::ifstream(pid_file) >> pid;
    REQUIRE(pid > 0);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (lines_in(journal) < items + 1 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ::kill(pid, sig);
    for (int i = 0; i < 1000 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace

TEST_CASE("lmwb eval survives kill -9 and Ctrl-C, --resume gives the uninterrupted report", "[cli][evaluation][journal]") {
    ScratchDir d;
    const std::string suites = " world-facts-qa world-stories-ppl --limit 30";
    auto whole = run_command(cli + " eval " + model + suites + " -q --out " + d.file("whole.json") + " 2>&1");
    REQUIRE(whole.exit_code == 0);

    for (int sig : {SIGKILL, SIGINT}) {
        INFO("signal " << sig);
        std::string out = d.file("run" + std::to_string(sig) + ".json"), journal = out + ".journal.jsonl";
        interrupt_after(cli + " eval " + model + suites + " --out " + out, journal, 6, sig);
        CHECK_FALSE(std::filesystem::exists(out));  // no partial report
        REQUIRE(std::filesystem::exists(journal));
        auto done = lines_in(journal) - 1;
        CHECK(done >= 6);
        CHECK(done < 60);
        // Running again without --resume refuses to overwrite the journal.
        auto again = run_command(cli + " eval " + model + suites + " -q --out " + out + " 2>&1");
        CHECK(again.exit_code == 1);
        CHECK_THAT(again.output, Catch::Contains("--resume"));
        auto resumed = run_command(cli + " eval " + model + suites + " --resume --out " + out + " 2>&1");
        REQUIRE(resumed.exit_code == 0);
        CHECK_THAT(resumed.output, Catch::Contains("items from the journal"));
        CHECK_FALSE(std::filesystem::exists(journal));
        CHECK(lmwb::test::json_difference(without_execution(out), without_execution(d.file("whole.json")), 0.0) == "");  // bit for bit
    }
}

TEST_CASE("lmwb eval --shard, merge and compare on the command line", "[cli][evaluation]") {
    ScratchDir d;
    std::string base = cli + " eval " + model + " world-facts-mc --limit 16 -q";
    REQUIRE(run_command(base + " --out " + d.file("all.json")).exit_code == 0);
    REQUIRE(run_command(base + " --shard 1/2 --out " + d.file("s1.json")).exit_code == 0);
    REQUIRE(run_command(base + " --shard 2/2 --out " + d.file("s2.json")).exit_code == 0);
    auto merged = run_command(cli + " merge " + d.file("s1.json") + " " + d.file("s2.json") + " --out " + d.file("m.json"));
    REQUIRE(merged.exit_code == 0);
    CHECK(lmwb::test::json_difference(without_execution(d.file("m.json")), without_execution(d.file("all.json")), 0.0) == "");  // bit for bit
    // --out equal to one of the shards is refused before anything is written
    const std::string s1_before = lmwb::test::read_text(d.file("s1.json"));
    auto over = run_command(cli + " merge " + d.file("s1.json") + " " + d.file("s2.json") + " --out " + d.file("s1.json") + " 2>&1");
    CHECK(over.exit_code != 0);
    CHECK_THAT(over.output, Catch::Contains("is one of the shard reports"));
    CHECK(lmwb::test::read_text(d.file("s1.json")) == s1_before);

    REQUIRE(run_command(cli + " eval " + std::string(LMWB_MODELS) + "/tiny-b world-facts-mc --limit 16 -q --out " + d.file("b.json")).exit_code == 0);
    auto table = run_command(cli + " compare " + d.file("all.json") + " " + d.file("b.json"));
    REQUIRE(table.exit_code == 0);
    CHECK_THAT(table.output, Catch::Contains("acc") && Catch::Contains("McNemar") && Catch::Contains("improvements"));
    auto js = run_command(cli + " compare --json " + d.file("all.json") + " " + d.file("b.json"));
    REQUIRE(js.exit_code == 0);
    auto j = nlohmann::json::parse(js.output);
    CHECK(j["comparisons"][0]["paired_items"] == 16);

    // Bad input: each a clear error, exit code 1, no report.
    auto bad_shard = run_command(base + " --shard 3/2 --out " + d.file("x.json") + " 2>&1");
    CHECK(bad_shard.exit_code == 1);
    CHECK_THAT(bad_shard.output, Catch::Contains("--shard '3/2'"));
    auto no_suite = run_command(cli + " eval " + model + " no-such-suite -q --out " + d.file("x.json") + " 2>&1");
    CHECK(no_suite.exit_code == 1);
    CHECK_THAT(no_suite.output, Catch::Contains("no-such-suite: no such suite"));
    CHECK_FALSE(std::filesystem::exists(d.file("x.json")));
    auto missing = run_command(cli + " merge " + d.file("s1.json") + " --out " + d.file("x.json") + " 2>&1");
    CHECK(missing.exit_code == 1);
    CHECK_THAT(missing.output, Catch::Contains("shard 2/2 missing"));
    REQUIRE(run_command(cli + " eval " + model + " world-stories-ppl --limit 4 -q --out " + d.file("p.json")).exit_code == 0);
    auto other = run_command(cli + " compare " + d.file("all.json") + " " + d.file("p.json") + " 2>&1");
    CHECK(other.exit_code == 1);
    CHECK_THAT(other.output, Catch::Contains("no suite 'world-facts-mc'"));
}

TEST_CASE("lmwb eval refuses a bad suite or --out before the run and leaves no journal", "[cli][evaluation]") {
    ScratchDir d;
    // A BLEU tokenizer nobody has, in a copy of a bundled generation suite
    const std::string suites = std::string(LMWB_MODELS) + "/../datasets/suites/";
    std::string def = lmwb::test::read_text(suites + "world-facts-qa.json");
    def.insert(def.find('{') + 1, "\n  \"bleu_tokenizer\": \"moses\",");
    d.write("bad.json", def);
    std::filesystem::copy_file(suites + "world-facts-qa.jsonl", d.file("world-facts-qa.jsonl"));
    auto bad = run_command(cli + " eval " + model + " " + d.file("bad.json") + " -q --out " + d.file("r.json") + " 2>&1");
    CHECK(bad.exit_code != 0);
    CHECK_THAT(bad.output, Catch::Contains("bad.json: /bleu_tokenizer: is 'moses'"));
    CHECK_FALSE(std::filesystem::exists(d.file("r.json.journal.jsonl")));
    // A run that fails on its first item (a choice longer than the model's context) leaves no journal to block the
    // corrected re-run.
    std::string words;
    for (int i = 0; i < 600; ++i) words += "blue ";
    d.write("long.json", R"({"name": "long", "kind": "multiple_choice", "prompt": "Q: {question}\nA:", "items": "long.jsonl"})");
    d.write("long.jsonl", R"({"id": "x", "question": "sky?", "choices": ["red", ")" + words + R"("], "answer": 0})" "\n");
    auto longer = run_command(cli + " eval " + model + " " + d.file("long.json") + " -q --out " + d.file("l.json") + " 2>&1");
    CHECK(longer.exit_code != 0);
    CHECK_THAT(longer.output, Catch::Contains("long.json: item 'x', choice 1: the continuation has"));
    CHECK_FALSE(std::filesystem::exists(d.file("l.json.journal.jsonl")));
    auto folder = run_command(cli + " eval " + model + " world-facts-mc -q --limit 2 --out " + d.path().string() + " 2>&1");
    CHECK(folder.exit_code != 0);
    CHECK_THAT(folder.output, Catch::Contains("is a folder"));
    auto neg = run_command(cli + " eval " + model + " world-facts-mc -q --limit 2 --bootstrap -5 --out " + d.file("n.json") + " 2>&1");
    CHECK(neg.exit_code != 0);
    CHECK_THAT(neg.output, Catch::Contains("--bootstrap"));
    // Without --out the report goes to the current folder, and the run says so (even with -q).
    auto here = run_command("cd " + d.path().string() + " && " + cli + " eval " + model + " world-facts-mc -q --limit 2 2>&1");
    CHECK(here.exit_code == 0);
    CHECK_THAT(here.output, Catch::Contains("no --out given: the report goes to " + d.file("lmwb-report.json")));
    CHECK(std::filesystem::exists(d.file("lmwb-report.json")));
}

TEST_CASE("lmwb ratings: a missing file is the same kind of error as every other", "[cli][ratings]") {
    ScratchDir d;
    REQUIRE(run_command(cli + " eval " + model + " world-facts-qa -q --limit 2 --out " + d.file("r.json")).exit_code == 0);
    auto imp = run_command(cli + " ratings import " + d.file("nope.csv") + " --rater ana --report " + d.file("r.json") + " --out " +
                           d.file("a.jsonl") + " 2>&1");
    CHECK(imp.exit_code == 1);
    CHECK_THAT(imp.output, Catch::Contains("lmwb: error: " + d.file("nope.csv") + ": cannot read"));
    auto rep = run_command(cli + " ratings merge " + d.file("none.json") + " " + d.file("a.jsonl") + " --out " + d.file("m.json") + " 2>&1");
    CHECK(rep.exit_code == 1);
    CHECK_THAT(rep.output, Catch::Contains("lmwb: error: " + d.file("none.json") + ": cannot open the report"));
    CHECK_FALSE(std::filesystem::exists(d.file("a.jsonl")));
    CHECK_FALSE(std::filesystem::exists(d.file("m.json")));
}

TEST_CASE("lmwb eval --explain attaches attributions to chosen items", "[cli][evaluation][attribution]") {
    ScratchDir d;
    auto r = run_command(cli + " eval " + model + " world-facts-mc world-facts-qa --limit 4 -q --explain color-the-sky,sound-a-lion "
                                 "--explain-steps 8 --out " + d.file("r.json") + " 2>&1");
    REQUIRE(r.exit_code == 0);
    auto report = lmwb::eval::read_report(d.file("r.json"));
    std::size_t with = 0;
    for (const auto& s : report.suites)
        for (const auto& item : s.items) {
            if (item.attribution.empty()) continue;
            ++with;
            auto a = nlohmann::json::parse(item.attribution);
            CHECK(a["method"] == "ig");
            CHECK(a["seq_attr"].size() == a["prompt_tokens"].size());
            CHECK(a["prompt"] == item.prompt);
        }
    CHECK(with == 2);
    auto none = run_command(cli + " eval " + model + " world-facts-mc --limit 2 -q --explain nope --out " + d.file("n.json") + " 2>&1");
    CHECK(none.exit_code == 1);
    CHECK_THAT(none.output, Catch::Contains("none of the given item ids"));
}

TEST_CASE("lmwb explain and uncertainty on the command line", "[cli][attribution]") {
    auto ig = run_command(cli + " explain " + model + " --prompt 'What color is the sky?' --target ' blue' --steps 8 --span 0:2 --json");
    REQUIRE(ig.exit_code == 0);
    auto j = nlohmann::json::parse(ig.output);
    CHECK(j["method"] == "ig");
    CHECK(j["spans"][0]["first_token"] == 0);
    CHECK(j["token_attr"].size() == j["target_tokens"].size());
    auto table = run_command(cli + " explain " + model + " --prompt 'What color is the sky?' --target ' blue' --method shap");
    REQUIRE(table.exit_code == 0);
    CHECK_THAT(table.output, Catch::Contains("efficiency gap"));
    auto un = run_command(cli + " uncertainty " + model + " --prompt 'Question: What color is the sky?' -n 5 --json");
    REQUIRE(un.exit_code == 0);
    CHECK(nlohmann::json::parse(un.output)["samples"].size() == 5);
    auto bad = run_command(cli + " explain " + model + " --prompt 'sky' --target ' blue' --method lime 2>&1");
    CHECK(bad.exit_code == 1);
    CHECK_THAT(bad.output, Catch::Contains("unknown method 'lime'"));
    auto empty = run_command(cli + " explain " + model + " --prompt 'sky' --target '' 2>&1");
    CHECK(empty.exit_code == 1);
    CHECK_THAT(empty.output, Catch::Contains("the target is empty"));
}

TEST_CASE("Ctrl-C stops lmwb explain and lmwb uncertainty within a second, exit 130", "[cli][attribution][cancel]") {
    const std::string tiny_b = std::string(LMWB_MODELS) + "/tiny-b";
    // Each runs for several seconds uninterrupted (3,000 IG steps; 6,000 samples). On a terminal (a pseudo-terminal
    // here) they draw "label: done/total unit" on stderr: SIGINT goes once work is under way (done > 0), so after the
    // handler is in place however slow the machine, never after a fixed wait.
    const std::vector<std::vector<std::string>> cases = {
        {"explain", tiny_b, "--prompt", "Question: What color is the sky on a clear day?\nAnswer:", "--target", " blue", "--steps", "3000"},
        {"uncertainty", tiny_b, "--prompt", "Once upon a time", "-n", "6000", "--max-new-tokens", "32"},
    };
    for (const auto& args : cases) {
        INFO(args[0]);
        int terminal = -1;
        const pid_t pid = ::forkpty(&terminal, nullptr, nullptr, nullptr);
        REQUIRE(pid >= 0);
        if (pid == 0) {
            std::freopen("/dev/null", "w", stdout);
            std::vector<char*> argv{const_cast<char*>(cli.c_str())};
            for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            ::execv(cli.c_str(), argv.data());
            ::_exit(127);
        }
        std::string seen;
        bool under_way = false;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        while (!under_way && std::chrono::steady_clock::now() < deadline) {
            pollfd p{terminal, POLLIN, 0};
            if (::poll(&p, 1, 1000) <= 0) continue;
            char buf[256];
            const ssize_t got = ::read(terminal, buf, sizeof buf);
            if (got <= 0) break;
            seen.append(buf, static_cast<std::size_t>(got));
            // "\rig: 64/3002 points": a count above zero
            for (std::size_t at = seen.find(": "); at != std::string::npos && !under_way; at = seen.find(": ", at + 2))
                under_way = at + 2 < seen.size() && seen[at + 2] >= '1' && seen[at + 2] <= '9' && seen.find('/', at) != std::string::npos;
        }
        INFO("stderr so far: " << seen);
        int status = 0;
        if (!under_way) {  // never leave the child running
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            ::close(terminal);
        }
        REQUIRE(under_way);
        REQUIRE(::waitpid(pid, &status, WNOHANG) == 0);  // still running
        const auto t0 = std::chrono::steady_clock::now();
        ::kill(pid, SIGINT);
        std::thread drain([terminal] {  // the child may still write; a full terminal buffer must not hold it
            char buf[256];
            while (::read(terminal, buf, sizeof buf) > 0) {
            }
        });
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        drain.join();  // the child is gone: its terminal reads end
        ::close(terminal);
        WARN(args[0] << " stopped " << seconds << " s after SIGINT");
        CHECK(seconds < 1.0);
        REQUIRE(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 130);
    }
}

TEST_CASE("outputs never replace what is not theirs: FIFOs, folders and links are refused, a link's target only when asked",
          "[cli][evaluation][security]") {
    ScratchDir d;
    // Devices are checked by type alone (nothing is opened): the library says no before any write.
    CHECK_THROWS_WITH(lmwb::eval::output_path("/dev/null"), Catch::Contains("/dev/null: exists and is a character device"));
    CHECK_THROWS_WITH(lmwb::eval::output_path(d.path().string()), Catch::Contains("is a folder"));
    const std::string fifo = d.file("fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const std::string base = cli + " eval " + model + " world-facts-mc -q --limit 2";
    auto r = run_command(base + " --out " + fifo + " 2>&1");
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains(fifo + ": exists and is a FIFO"));
    struct stat st {};
    REQUIRE(::lstat(fifo.c_str(), &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));
    CHECK_FALSE(std::filesystem::exists(fifo + ".journal.jsonl"));

    // A link to a file of someone else's: refused, both untouched; with --through-symlink the target gets the report.
    const std::string precious = d.write("precious.txt", "thesis\n"), link = d.file("report.json");
    std::filesystem::create_symlink(precious, link);
    r = run_command(base + " --out " + link + " 2>&1");
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("is a symbolic link"));
    CHECK(lmwb::test::read_text(precious) == "thesis\n");
    CHECK(std::filesystem::is_symlink(link));
    r = run_command(base + " --out " + link + " --through-symlink 2>&1");
    CHECK(r.exit_code == 0);
    CHECK(std::filesystem::is_symlink(link));
    CHECK(lmwb::test::read_text(precious).find("\"schema\": \"lmwb.report\"") != std::string::npos);

    // merge and ratings follow the same rule.
    REQUIRE(run_command(base + " --shard 1/1 --out " + d.file("s1.json")).exit_code == 0);
    auto m = run_command(cli + " merge " + d.file("s1.json") + " --out " + fifo + " 2>&1");
    CHECK(m.exit_code == 1);
    CHECK_THAT(m.output, Catch::Contains("is a FIFO"));
    d.write("ana.csv", "suite,item,dimension,value\n");
    auto imp = run_command(cli + " ratings import " + d.file("ana.csv") + " --rater ana --report " + d.file("s1.json") + " --out " + fifo + " 2>&1");
    CHECK(imp.exit_code == 1);
    CHECK_THAT(imp.output, Catch::Contains("is a FIFO"));
    REQUIRE(::lstat(fifo.c_str(), &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));
}

TEST_CASE("readers take regular files only, and resampling counts are bounded", "[cli][evaluation][security]") {
    ScratchDir d;
    REQUIRE(run_command(cli + " eval " + model + " world-facts-mc -q --limit 4 --out " + d.file("a.json")).exit_code == 0);
    const std::string fifo = d.file("fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // Nothing waits on a FIFO or reads a device forever: refused at once, by name.
    for (const std::string& input : {fifo, std::string("/dev/zero"), d.path().string()}) {
        INFO(input);
        auto c = run_command(cli + " compare " + d.file("a.json") + " " + input + " 2>&1");
        CHECK(c.exit_code == 1);
        CHECK_THAT(c.output, Catch::Contains(input + ": cannot open the report"));
        auto m = run_command(cli + " merge " + input + " --out " + d.file("m.json") + " 2>&1");
        CHECK(m.exit_code == 1);
        auto r = run_command(cli + " ratings merge " + d.file("a.json") + " " + input + " --out " + d.file("r.json") + " 2>&1");
        CHECK(r.exit_code == 1);
        CHECK_THAT(r.output, Catch::Contains("not a regular file") || Catch::Contains("is a folder"));
    }
    for (const char* n : {"0", "-5", "1", "99", "100001"}) {
        auto c = run_command(cli + " compare " + d.file("a.json") + " " + d.file("a.json") + " --iterations " + n + " 2>&1");
        CHECK(c.exit_code == 1);
        CHECK_THAT(c.output, Catch::Contains("--iterations must be 100 to 100000"));
    }
    auto b = run_command(cli + " eval " + model + " world-facts-mc -q --limit 2 --bootstrap 2147483647 --out " + d.file("b.json") + " 2>&1");
    CHECK(b.exit_code == 1);
    CHECK_THAT(b.output, Catch::Contains("--bootstrap must be 0 (no intervals) to 100000"));
}

TEST_CASE("the method registry: docs table, unknown names listed, options of another method refused", "[cli][attribution][registry]") {
    auto listed = run_command(cli + " methods");
    REQUIRE(listed.exit_code == 0);
    CHECK(lmwb::test::doc_section(std::string(LMWB_SOURCE_DIR) + "/docs/interpretability.md", "<!-- methods table: `lmwb methods` -->\n",
                                  "<!-- end of methods table -->") == listed.output);

    const std::string base = cli + " explain " + model + " -p 'Question: What color is the sky?' -t ' blue'";
    auto bogus = run_command(base + " -m bogus 2>&1");
    CHECK(bogus.exit_code == 1);
    CHECK_THAT(bogus.output, Catch::Contains("unknown method 'bogus' (ig, shap, grad, grad-x-input, attention, rollout, logit-lens, heads, "
                                             "patching, attribution-patching, dla, sae-features, sae-attribution, sae-ablate, steer)"));
    auto help = run_command(cli + " explain --help");
    CHECK_THAT(help.output, Catch::Contains("ig, shap, grad, grad-x-input, attention, rollout, logit-lens, heads, patching, attribution-patching, dla"));
    // Aliases name the same method.
    auto alias = run_command(base + " -m saliency --json");
    REQUIRE(alias.exit_code == 0);
    CHECK(nlohmann::json::parse(alias.output)["method"] == "grad");
    // An option of another method: refused before the model loads, naming who reads it.
    for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
             {"-m ig --exact", "--exact does not apply to --method ig (it is read by shap)"},
             {"-m attention --steps 8", "--steps does not apply to --method attention (it is read by ig, sae-attribution)"},
             {"-m shap --layer 1", "--layer does not apply to --method shap (it is read by attention)"},
             {"-m heads --contrast ' red'", "--contrast does not apply to --method heads (it is read by ig, shap, grad, grad-x-input, patching, attribution-patching, dla, sae-attribution, sae-ablate)"},
             {"-m sae-features --feature 3", "--feature does not apply to --method sae-features (it is read by sae-ablate, steer)"},
             {"-m dla --sites mlp", "--sites does not apply to --method dla (it is read by patching, attribution-patching)"}}) {
        INFO(args);
        auto r = run_command(base + " " + args + " 2>&1");
        CHECK(r.exit_code == 1);
        CHECK_THAT(r.output, Catch::Contains(message));
    }
    // eval attaches the per-item methods only.
    ScratchDir d;
    auto lens = run_command(cli + " eval " + model + " world-facts-mc --limit 1 -q --explain color-the-sky --explain-method logit-lens --out " +
                            d.file("x.json") + " 2>&1");
    CHECK(lens.exit_code == 1);
    CHECK_THAT(lens.output, Catch::Contains("unknown method 'logit-lens' for an item's record (ig, shap, grad, grad-x-input, attention, rollout, dla)"));
    CHECK_FALSE(std::filesystem::exists(d.file("x.json")));
    // Direct logit attribution on an item: the record carries what `explain -m dla --json` prints for its prompt
    // and gold answer.
    auto dla = run_command(cli + " eval " + model + " world-facts-mc --limit 4 -q --explain color-the-sky --explain-method dla --out " +
                           d.file("d.json") + " 2>&1");
    REQUIRE(dla.exit_code == 0);
    const auto report = lmwb::eval::read_report(d.file("d.json"));
    const lmwb::eval::ItemRecord* item = nullptr;
    for (const auto& it : report.suites[0].items)
        if (it.id == "color-the-sky") item = &it;
    REQUIRE(item);
    const auto attached = nlohmann::json::parse(item->attribution);
    CHECK(attached["schema"] == "lmwb.direct_logit");
    const auto alone = run_command(cli + " explain " + model + " -m dla --json -p " + lmwb::test::shell_quote(item->prompt) + " -t " +
                                   lmwb::test::shell_quote(" " + item->target));
    REQUIRE(alone.exit_code == 0);
    const auto direct = nlohmann::json::parse(alone.output);
    CHECK(std::abs(attached["total"].get<double>() - direct["total"].get<double>()) < 1e-9);
    CHECK(attached["target_token"] == direct["target_token"]);
}

TEST_CASE("runs in parallel keep every file's hash in the shared cache", "[cli][evaluation]") {
    ScratchDir d;
    namespace fs = std::filesystem;
    std::string commands;
    for (int i = 0; i < 6; ++i) {
        const fs::path copy = d.path() / ("model-" + std::to_string(i));
        fs::create_directories(copy);
        for (const auto& e : fs::directory_iterator(model)) fs::copy_file(e.path(), copy / e.path().filename());
        commands += "XDG_CACHE_HOME=" + d.file("cache") + " " + cli + " eval " + copy.string() + " world-facts-mc --limit 1 -q --bootstrap 0 --out " +
                    d.file("r" + std::to_string(i) + ".json") + " & ";
    }
    REQUIRE(run_command("sh -c '" + commands + "wait'").exit_code == 0);
    for (int i = 0; i < 6; ++i) REQUIRE(std::filesystem::exists(d.file("r" + std::to_string(i) + ".json")));  // every run finished
    const auto cache = nlohmann::json::parse(lmwb::test::read_text(d.file("cache/lmwb/sha256.json")));
    int weights = 0;
    for (const auto& [path, entry] : cache.items()) weights += path.find("model.safetensors") != std::string::npos;
    CHECK(weights == 6);  // each run read, added and replaced the file under a lock: none dropped another's entry
}

// The report's fields are declared once (eval::report_fields): the docs' table is generated from the list, and every
// field of reports the program writes — every kind of suite, an attribution, a judge, merged shards — is on it.
TEST_CASE("every field of a written report is a declared one, and docs/report-schema.md lists them", "[cli][evaluation][docs]") {
    CHECK(lmwb::test::doc_section(std::string(LMWB_SOURCE_DIR) + "/docs/report-schema.md", "<!-- report fields table: `lmwb formats report` -->\n",
                                  "<!-- end of report fields table -->") == lmwb::eval::report_fields_markdown());
    ScratchDir d;
    const std::string suites = " world-facts-mc world-facts-qa world-stories-continue world-stories-ppl --limit 3 -q";
    REQUIRE(run_command(cli + " eval " + model + suites + " --explain color-the-sky --judge " + model + " --out " + d.file("a.json") + " 2>&1").exit_code == 0);
    for (const char* k : {"1", "2"})
        REQUIRE(run_command(cli + " eval " + model + suites + " --shard " + k + "/2 --out " + d.file(std::string("s") + k + ".json") + " 2>&1").exit_code == 0);
    REQUIRE(run_command(cli + " merge " + d.file("s1.json") + " " + d.file("s2.json") + " --out " + d.file("m.json") + " 2>&1").exit_code == 0);
    std::set<std::string> seen;
    std::function<void(const nlohmann::json&, const std::string&)> walk = [&](const nlohmann::json& v, const std::string& path) {
        if (v.is_object())
            for (auto it = v.begin(); it != v.end(); ++it) {
                const bool keyed = path.size() >= 8 && (path.compare(path.size() - 8, 8, "/metrics") == 0 || path.compare(path.size() - 7, 7, "/slices") == 0) &&
                                   path.find("/items/*") != std::string::npos;  // maps: metric names, slice fields
                const std::string p = path + "/" + (keyed ? std::string("*") : it.key());
                seen.insert(p);
                walk(it.value(), p);
            }
        else if (v.is_array())
            for (const auto& x : v) walk(x, path + "/*");
    };
    for (const char* f : {"a.json", "m.json"}) walk(nlohmann::json::parse(lmwb::test::read_text(d.file(f))), "");
    CHECK(seen.size() > 80);
    for (const auto& p : seen) {
        INFO(p);
        CHECK(lmwb::eval::find_report_field(p) != nullptr);
    }
    CHECK(seen.count("/execution/merged_from"));
    CHECK(seen.count("/judge/weights_sha256"));
    CHECK(seen.count("/suites/*/items/*/attribution/schema"));
    CHECK(lmwb::eval::find_report_field("/suites/*/items/*/colour") == nullptr);
}

TEST_CASE("the command line applies chat templates: --chat in generate, score and explain, eval --apply-chat-template", "[cli][chat]") {
    ScratchDir d;
    std::filesystem::create_directories(d.file("m"));
    for (const auto& f : std::filesystem::directory_iterator(model)) std::filesystem::copy_file(f.path(), d.file("m/" + f.path().filename().string()));
    d.write("m/tokenizer_config.json", R"({"chat_template": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"})");
    const std::string m = d.file("m");
    const std::string wrapped = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nThe sky is<|im_end|>\n<|im_start|>assistant\n";
    auto score = run_command(cli + " score " + m + " --context 'The sky is' --continuation blue --chat --system 'Be brief.' --json");
    REQUIRE(score.exit_code == 0);
    const auto s = nlohmann::json::parse(score.output);
    CHECK(s["context"] == wrapped);
    auto direct = run_command(cli + " score " + m + " --context '" + wrapped + "' --continuation blue --json");
    CHECK(nlohmann::json::parse(direct.output)["logprob"] == s["logprob"]);
    auto gen = run_command(cli + " generate " + m + " 'The sky is' --chat --max-new-tokens 3 --json");
    REQUIRE(gen.exit_code == 0);
    CHECK(nlohmann::json::parse(gen.output)["prompt"] == "<|im_start|>user\nThe sky is<|im_end|>\n<|im_start|>assistant\n");
    auto ex = run_command(cli + " explain " + m + " -p 'The sky is' -t blue -m attention --chat --json");
    REQUIRE(ex.exit_code == 0);
    CHECK(nlohmann::json::parse(ex.output)["prompt_tokens"].size() > 8);
    auto no_chat = run_command(cli + " score " + model + " --context 'x' --continuation y --chat 2>&1");
    CHECK(no_chat.exit_code == 1);
    CHECK_THAT(no_chat.output, Catch::Contains("no chat template"));
    auto lone_system = run_command(cli + " score " + m + " --context 'x' --continuation y --system hi 2>&1");
    CHECK(lone_system.exit_code == 1);
    CHECK_THAT(lone_system.output, Catch::Contains("--system applies with --chat"));
    // eval: the flag on a bundled suite; the report says so.
    REQUIRE(run_command(cli + " eval " + m + " world-facts-mc --limit 2 -q --apply-chat-template --system 'Be brief.' --out " + d.file("r.json")).exit_code == 0);
    const auto r = nlohmann::json::parse(lmwb::test::read_text(d.file("r.json")));
    CHECK(r["settings"]["chat"]["apply_chat_template"] == true);
    CHECK(r["settings"]["chat"]["system_instruction"] == "Be brief.");
    CHECK(r["settings"]["chat"]["template_sha256"].get<std::string>().size() == 64);
    CHECK(r["suites"][0]["chat"] == true);
    CHECK(r["suites"][0]["items"][0]["prompt"].get<std::string>().rfind("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n", 0) == 0);
}

TEST_CASE("lmwb eval runs lm-eval task YAMLs, the report names the task, version and n-shot, and compare pairs two runs", "[cli][lm_eval]") {
    ScratchDir d;
    const std::string group = lmwb::test::fixture("lm_eval/style_group.yaml");
    REQUIRE(run_command(cli + " eval " + model + " " + group + " -q --out " + d.file("a.json")).exit_code == 0);
    REQUIRE(run_command(cli + " eval " + std::string(LMWB_MODELS) + "/tiny-b " + group + " -q --out " + d.file("b.json")).exit_code == 0);
    const auto r = nlohmann::json::parse(lmwb::test::read_text(d.file("a.json")));
    REQUIRE(r["suites"].size() == 2);
    CHECK(r["suites"][0]["name"] == "arc_style");
    CHECK(r["suites"][0]["lm_eval"]["task"] == "arc_style");
    CHECK(r["suites"][0]["lm_eval"]["version"] == "1.0");
    CHECK(r["suites"][0]["lm_eval"]["num_fewshot"] == 2);
    CHECK(r["suites"][1]["lm_eval"]["num_fewshot"] == 1);
    CHECK(r["suites"][0]["items"].size() == 4);
    // loglikelihood_rolling: the words and bytes lm-eval counts (expected.json), and the perplexities from them.
    const auto expected = nlohmann::json::parse(lmwb::test::read_text(lmwb::test::fixture("lm_eval/expected.json")));
    REQUIRE(run_command(cli + " eval " + model + " " + lmwb::test::fixture("lm_eval/wikitext_style.yaml") + " " +
                        lmwb::test::fixture("lm_eval/lambada_style.yaml") + " -q --out " + d.file("p.json")).exit_code == 0);
    const auto p = nlohmann::json::parse(lmwb::test::read_text(d.file("p.json")));
    double ll = 0, words = 0;
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& item = p["suites"][0]["items"][i];
        CHECK(item["words"] == expected["wikitext_style"]["requests"][i]["words"]);
        CHECK(item["bytes"] == expected["wikitext_style"]["requests"][i]["bytes"]);
        ll += item["logprob"].get<double>();
        words += item["words"].get<double>();
    }
    for (const auto& a : p["suites"][0]["aggregates"])
        if (a["metric"] == "word_perplexity") CHECK(a["value"].get<double>() == Approx(std::exp(-ll / words)).epsilon(1e-9));
    CHECK(p["suites"][1]["lm_eval"]["task"] == "lambada_style");
    CHECK(p["suites"][1]["items"][0]["prompt"] == expected["lambada_style"]["requests"][0]["context"]);
    // generate_until: greedy text cut at `until`, exact_match over the references.
    REQUIRE(run_command(cli + " eval " + model + " " + lmwb::test::fixture("lm_eval/gen_style.yaml") + " -q --out " + d.file("g.json")).exit_code == 0);
    const auto g = nlohmann::json::parse(lmwb::test::read_text(d.file("g.json")));
    REQUIRE(g["suites"][0]["items"].size() == 3);
    for (const auto& item : g["suites"][0]["items"]) {
        CHECK(item["response"].get<std::string>().find('\n') == std::string::npos);
        CHECK(item["response"].get<std::string>().find("Q:") == std::string::npos);
        CHECK(item["metrics"].contains("exact_match"));
    }
    CHECK(g["suites"][0]["items"][2]["references"].size() == 3);
    // A filter pipeline: the metrics read what the regex left; the generated text is kept as `unfiltered`.
    REQUIRE(run_command(cli + " eval " + model + " " + lmwb::test::fixture("lm_eval/gsm_style.yaml") + " -q --out " + d.file("m.json")).exit_code == 0);
    const auto m = nlohmann::json::parse(lmwb::test::read_text(d.file("m.json")));
    // GSM8K's two pipelines: one suite each, both reading the same generations
    REQUIRE(m["suites"].size() == 2);
    CHECK(m["suites"][0]["name"] == "gsm_style,strict-match");
    CHECK(m["suites"][1]["lm_eval"]["filter"] == "flexible-extract");
    for (std::size_t i = 0; i < m["suites"][1]["items"].size(); ++i) {
        const auto& item = m["suites"][1]["items"][i];
        REQUIRE(item.contains("unfiltered"));
        CHECK(item["unfiltered"] == m["suites"][0]["items"][i]["unfiltered"]);
        const std::string response = item["response"];
        CHECK((response == "[invalid]" || response.find_first_not_of("-$0123456789.,") == std::string::npos));
    }
    // repeats, sampled: every sample kept; each pipeline's response is its filters over them
    const std::string sc = lmwb::test::fixture("lm_eval/sc_style.yaml");
    REQUIRE(run_command(cli + " eval " + model + " " + sc + " -q --out " + d.file("sc.json")).exit_code == 0);
    REQUIRE(run_command(cli + " eval " + model + " " + sc + " -q --batch-size 1 --out " + d.file("sc1.json")).exit_code == 0);
    const auto scr = nlohmann::json::parse(lmwb::test::read_text(d.file("sc.json")));
    const auto tasks = lmwb::datasets::load_lm_eval_tasks(sc);
    REQUIRE(scr["suites"].size() == 2);
    for (std::size_t k = 0; k < 2; ++k)
        for (std::size_t i = 0; i < scr["suites"][k]["items"].size(); ++i) {
            const auto& item = scr["suites"][k]["items"][i];
            const auto samples = item["samples"].get<std::vector<std::string>>();
            REQUIRE(samples.size() == 4);
            CHECK(samples == scr["suites"][0]["items"][i]["samples"].get<std::vector<std::string>>());
            CHECK(item["response"] == lmwb::datasets::apply_response_filters(tasks[k], samples));
        }
    // sampled at temperature 1, the repeats differ (each has its own seed)
    bool differ = false;
    for (const auto& item : scr["suites"][0]["items"]) {
        const auto samples = item["samples"].get<std::vector<std::string>>();
        differ = differ || std::set<std::string>(samples.begin(), samples.end()).size() > 1;
    }
    CHECK(differ);
    // the same samples whatever the batch size
    CHECK(nlohmann::json::parse(lmwb::test::read_text(d.file("sc1.json")))["suites"][1]["items"] == scr["suites"][1]["items"]);
    auto cmp = run_command(cli + " compare " + d.file("a.json") + " " + d.file("b.json") + " --json");
    REQUIRE(cmp.exit_code == 0);
    CHECK(cmp.output.find("arc_style") != std::string::npos);
    CHECK(cmp.output.find("mmlu_style") != std::string::npos);
}

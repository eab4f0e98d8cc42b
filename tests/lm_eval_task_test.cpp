// lm-evaluation-harness task YAMLs against the requests lm-eval builds: tests/fixtures/lm_eval/make_expected.py (its
// own Message and messages_to_text, its doc_to_* rules, python3-jinja2 in its environment, PyYAML).
#include <catch2/catch.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "lmwb/lm_eval_task.h"
#include "lmwb/text_metrics.h"
#include "test_support.h"

using namespace lmwb;

TEST_CASE("lm-eval task YAMLs give the contexts, continuations and gold answers lm-eval builds", "[lm_eval]") {
    std::ifstream in(lmwb::test::fixture("lm_eval/expected.json"));
    const auto expected = nlohmann::json::parse(in);
    // The group lists both tasks by name; the folder holds them, the group and the include base.
    for (const char* path : {"lm_eval/style_group.yaml", "lm_eval"}) {
        INFO(path);
        const auto suites = datasets::load_lm_eval_tasks(lmwb::test::fixture(path));
        REQUIRE(suites.size() == (std::string(path) == "lm_eval" ? 6u : 2u));
        for (const auto& s : suites) {
            INFO(s.name);
            REQUIRE(expected.contains(s.name));
            const auto& e = expected[s.name];
            REQUIRE(s.lm_eval.has_value());
            CHECK(s.lm_eval->task == s.name);
            CHECK(s.lm_eval->version == e["version"].get<std::string>());
            CHECK(s.lm_eval->num_fewshot == e["num_fewshot"].get<int>());
            REQUIRE(s.items.size() == e["requests"].size());
            if (s.name == "gsm_style") {  // one filter pipeline: regex with group_select -1, then take_first
                REQUIRE(s.response_filters.size() == 2);
                CHECK(s.response_filters[0].function == "regex");
                CHECK(s.response_filters[0].group_select == -1);
                CHECK(s.response_filters[0].pattern == "(-?[$0-9.,]{2,})|(-?[0-9]+)");
                CHECK(s.response_filters[1].function == "take_first");
                CHECK(datasets::apply_response_filters(s, "3 + 4 = 7 apples") == "7");
                continue;
            }
            if (s.name == "gen_style") {  // generate_until: the context, the references, until and max_gen_toks
                CHECK(s.kind == datasets::TaskKind::Generation);
                for (std::size_t i = 0; i < s.items.size(); ++i) {
                    const auto& r = e["requests"][i];
                    CHECK(s.items[i].prompt == r["context"].get<std::string>());
                    CHECK(s.items[i].references == r["references"].get<std::vector<std::string>>());
                    CHECK(s.generation.stop == r["until"].get<std::vector<std::string>>());
                    CHECK(s.generation.max_new_tokens == r["max_gen_toks"].get<int>());
                }
                CHECK(s.generation.temperature == 0);
                CHECK(s.metrics == std::vector<std::string>{"exact_match"});
                CHECK((s.normalization.lowercase && s.normalization.strip_punctuation && !s.normalization.strip_articles &&
                       !s.normalization.collapse_whitespace));
                continue;
            }
            if (s.name == "wikitext_style") {  // loglikelihood_rolling: the document is what is scored
                CHECK(s.kind == datasets::TaskKind::Perplexity);
                for (std::size_t i = 0; i < s.items.size(); ++i) CHECK(s.items[i].text == e["requests"][i]["text"].get<std::string>());
                CHECK(s.metrics == std::vector<std::string>{"word_perplexity", "byte_perplexity", "bits_per_byte"});
                continue;
            }
            CHECK(s.kind == datasets::TaskKind::MultipleChoice);
            for (std::size_t i = 0; i < s.items.size(); ++i) {
                const auto& item = s.items[i];
                const auto& r = e["requests"][i];
                CHECK(item.prompt == r["context"].get<std::string>());
                REQUIRE(item.choices.size() == r["continuations"].size());
                for (std::size_t c = 0; c < item.choices.size(); ++c) CHECK(s.target_delimiter + item.choices[c] == r["continuations"][c].get<std::string>());
                CHECK(item.answer == r["gold"].get<int>());
                CHECK(item.shots.size() == static_cast<std::size_t>(s.lm_eval->num_fewshot));
            }
        }
        for (const auto& s : suites) {
            if (s.name == "arc_style") CHECK(s.metrics == std::vector<std::string>{"acc", "acc_norm"});
            if (s.name == "mmlu_style") CHECK(s.metrics == std::vector<std::string>{"acc"});
            if (s.name == "lambada_style") CHECK(s.metrics == std::vector<std::string>{"exact_match"});  // lm-eval's acc: is_greedy
        }
    }
}

TEST_CASE("what a task YAML asks that lmwb cannot do is refused with the file, line and key", "[lm_eval][errors]") {
    lmwb::test::ScratchDir d;
    d.write("data.jsonl", "{\"q\": \"x\", \"c\": [\"a\", \"b\"], \"a\": 0}\n");
    const std::string head = "task: t\ndataset_path: json\ndataset_kwargs:\n  data_files: data.jsonl\ntest_split: train\noutput_type: multiple_choice\n";
    d.write("ok.yaml", head + "doc_to_text: q\ndoc_to_choice: c\ndoc_to_target: a\n");
    CHECK(datasets::load_lm_eval_tasks(d.file("ok.yaml")).front().items.front().prompt == "x");
    // first_n from the evaluated split itself leaves the document out (samplers.py FirstNSampler.rm_eval_doc).
    d.write("two.jsonl", "{\"q\": \"x\", \"c\": [\"a\", \"b\"], \"a\": 0}\n{\"q\": \"y\", \"c\": [\"a\", \"b\"], \"a\": 1}\n");
    d.write("self.yaml", "task: t\ndataset_path: json\ndataset_kwargs:\n  data_files: two.jsonl\ntest_split: train\nfewshot_split: train\n"
                         "num_fewshot: 1\nfewshot_config:\n  sampler: first_n\noutput_type: multiple_choice\ndoc_to_text: q\ndoc_to_choice: c\ndoc_to_target: a\n");
    const auto self = datasets::load_lm_eval_tasks(d.file("self.yaml")).front();
    CHECK(self.items[0].prompt == "y b\n\nx");
    CHECK(self.items[1].prompt == "x a\n\ny");
    d.write("hook.yaml", head + "doc_to_text: q\ndoc_to_choice: c\ndoc_to_target: a\nprocess_docs: !function utils.process_docs\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("hook.yaml")), Catch::Contains("hook.yaml:10") && Catch::Contains("!function"));
    d.write("key.yaml", head + "doc_to_text: q\ndoc_to_choice: c\ndoc_to_target: a\nrepeats: 4\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("key.yaml")), Catch::Contains("key.yaml:10: repeats: not supported"));
    d.write("split.yaml", "task: t\ndataset_path: json\ndataset_kwargs:\n  data_files: data.jsonl\ntest_split: test\noutput_type: multiple_choice\n"
                          "doc_to_text: q\ndoc_to_choice: c\ndoc_to_target: a\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("split.yaml")), Catch::Contains("test_split: no split 'test'") && Catch::Contains("train"));
    d.write("hub.yaml", "task: t\ndataset_path: allenai/ai2_arc\ntest_split: test\noutput_type: multiple_choice\ndoc_to_text: q\ndoc_to_choice: c\ndoc_to_target: a\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("hub.yaml")), Catch::Contains("no dataset hub"));
    d.write("tpl.yaml", head + "doc_to_text: \"{{ missing }}\"\ndoc_to_choice: c\ndoc_to_target: a\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("tpl.yaml")), Catch::Contains("tpl.yaml:7: doc_to_text: 'missing' is undefined"));
    d.write("gen.yaml", "task: t\ndataset_path: json\ndataset_kwargs:\n  data_files: data.jsonl\ntest_split: train\noutput_type: generate_until\ndoc_to_text: q\ndoc_to_target: a\n"
                        "filter_list:\n  - name: strict\n    filter:\n      - function: regex\n        regex_pattern: \"#### (\\\\d+)\"\n      - function: take_first\n");
    d.write("ppl.yaml", "task: t\ndataset_path: json\ndataset_kwargs:\n  data_files: data.jsonl\ntest_split: train\noutput_type: loglikelihood_rolling\ndoc_to_target: q\nnum_fewshot: 2\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("ppl.yaml")), Catch::Contains("must be 0 for perplexity"));
    CHECK(datasets::load_lm_eval_tasks(d.file("gen.yaml")).front().response_filters.size() == 2);
    d.write("vote.yaml", "task: t\ndataset_path: json\ndataset_kwargs:\n  data_files: data.jsonl\ntest_split: train\noutput_type: generate_until\ndoc_to_text: q\ndoc_to_target: a\n"
                         "filter_list:\n  - name: maj\n    filter:\n      - function: majority_vote\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("vote.yaml")), Catch::Contains("the majority_vote filter is not supported"));
    d.write("bad_re.yaml", "task: t\ndataset_path: json\ndataset_kwargs:\n  data_files: data.jsonl\ntest_split: train\noutput_type: generate_until\ndoc_to_text: q\ndoc_to_target: a\n"
                           "filter_list:\n  - name: x\n    filter:\n      - function: regex\n        regex_pattern: \"(unclosed\"\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("bad_re.yaml")), Catch::Contains("filter_list: regex_pattern '(unclosed'"));
    d.write("shots.yaml", head + "doc_to_text: q\ndoc_to_choice: c\ndoc_to_target: a\nnum_fewshot: 1\nfewshot_split: train\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("shots.yaml")), Catch::Contains("first_n"));
}

TEST_CASE("exact_match with ignore_case and ignore_punctuation is HF evaluate's exact_match", "[lm_eval][metrics]") {
    std::ifstream in(lmwb::test::fixture("lm_eval/expected.json"));
    const auto expected = nlohmann::json::parse(in);
    std::size_t n = 0;
    for (const auto& c : expected["exact_match_cases"]) {
        INFO(c.dump());
        const metrics::Normalization norm{c["ignore_case"].get<bool>(), c["ignore_punctuation"].get<bool>(), metrics::AnswerConvention::SquadV11, false, false};
        CHECK(metrics::exact_match(c["prediction"].get<std::string>(), {c["reference"].get<std::string>()}, norm) == c["exact_match"].get<double>());
        ++n;
    }
    CHECK(n == 40);
}

TEST_CASE("the regex filter extracts as lm-eval's RegexFilter: findall, group_select, a tuple's first group, strip, fallback", "[lm_eval][filters]") {
    std::ifstream in(lmwb::test::fixture("lm_eval/expected.json"));
    const auto expected = nlohmann::json::parse(in);
    std::size_t n = 0;
    for (const auto& c : expected["regex_filter_cases"]) {
        INFO(c.dump());
        datasets::Suite s;
        datasets::Suite::ResponseFilter f;
        f.function = "regex";
        f.pattern = c["pattern"];
        f.group_select = c["group_select"];
        s.response_filters = {f};
        CHECK(datasets::apply_response_filters(s, c["response"].get<std::string>()) == c["filtered"].get<std::string>());
        ++n;
    }
    CHECK(n == 60);
}

// lm-evaluation-harness task YAMLs against the requests lm-eval builds: tests/fixtures/lm_eval/make_expected.py (its
// own Message and messages_to_text, its doc_to_* rules, python3-jinja2 in its environment, PyYAML).
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <numeric>

#include <nlohmann/json.hpp>

#include "lmwb/lm_eval_task.h"
#include "lmwb/report_analysis.h"
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
        // a generate_until task gives one suite per filter pipeline
        REQUIRE(suites.size() == (std::string(path) == "lm_eval" ? 12u : 2u));
        for (const auto& s : suites) {
            INFO(s.name);
            REQUIRE(s.lm_eval.has_value());
            REQUIRE(expected.contains(s.lm_eval->task));
            const auto& e = expected[s.lm_eval->task];
            CHECK((s.lm_eval->task == s.name || s.lm_eval->task + "," + s.lm_eval->filter == s.name));
            CHECK(s.lm_eval->version == e["version"].get<std::string>());
            CHECK(s.lm_eval->num_fewshot == e["num_fewshot"].get<int>());
            REQUIRE(s.items.size() == e["requests"].size());
            if (s.name == "gsm_style,strict-match") {  // GSM8K's two pipelines, each its own suite
                REQUIRE(s.response_filters.size() == 2);
                CHECK(s.response_filters[0].pattern == "#### (\\-?[0-9\\.\\,]+)");
                CHECK(datasets::apply_response_filters(s, "3 + 4 = 7 apples\n#### 7") == "7");
                CHECK(datasets::apply_response_filters(s, "3 + 4 = 7 apples") == "[invalid]");
                continue;
            }
            if (s.name == "gsm_style,flexible-extract") {  // regex with group_select -1, then take_first
                REQUIRE(s.response_filters.size() == 2);
                CHECK(s.response_filters[0].function == "regex");
                CHECK(s.response_filters[0].group_select == -1);
                CHECK(s.response_filters[0].pattern == "(-?[$0-9.,]{2,})|(-?[0-9]+)");
                CHECK(s.response_filters[1].function == "take_first");
                CHECK(datasets::apply_response_filters(s, "3 + 4 = 7 apples") == "7");
                continue;
            }
            if (s.lm_eval->task == "sc_style") {  // repeats, sampled, reduced by each pipeline
                CHECK(s.generation.repeats == e["requests"][0]["repeats"].get<int>());
                CHECK(s.generation.temperature == 1.0);
                CHECK(s.normalization.remove_patterns == std::vector<std::string>{",", "\\$"});
                CHECK(s.normalization.lowercase);
                CHECK(s.response_filters.back().function == "take_first");
                CHECK(datasets::apply_response_filters(s, std::vector<std::string>{"so 12", " 13 ", "13", "x"}) == (s.lm_eval->filter == "maj@4" ? "13" : "12"));
                for (std::size_t i = 0; i < s.items.size(); ++i) CHECK(s.items[i].prompt == e["requests"][i]["context"].get<std::string>());
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
            if (s.kind == datasets::TaskKind::Perplexity) {  // loglikelihood_rolling: the document is what is scored
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
            // lm-eval's perplexity and acc (is_greedy) of a loglikelihood task
            if (s.name == "lambada_style") CHECK(s.metrics == std::vector<std::string>{"perplexity", "exact_match"});
            if (s.name == "boolq_style") CHECK(s.metrics == std::vector<std::string>{"acc", "mcc", "f1"});
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
    d.write("key.yaml", head + "doc_to_text: q\ndoc_to_choice: c\ndoc_to_target: a\nuse_prompt: x\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("key.yaml")), Catch::Contains("key.yaml:10: use_prompt: not supported"));
    d.write("rep.yaml", head + "doc_to_text: q\ndoc_to_choice: c\ndoc_to_target: a\nrepeats: 4\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("rep.yaml")), Catch::Contains("rep.yaml:10: repeats: applies to generate_until"));
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
    CHECK(datasets::load_lm_eval_tasks(d.file("vote.yaml")).front().lm_eval->filter == "maj");
    // repeats the pipeline does not reduce to one response: lm-eval's metrics would read a list
    d.write("many.yaml", "task: t\ndataset_path: json\ndataset_kwargs:\n  data_files: data.jsonl\ntest_split: train\noutput_type: generate_until\ndoc_to_text: q\ndoc_to_target: a\n"
                         "repeats: 3\nfilter_list:\n  - name: low\n    filter:\n      - function: lowercase\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("many.yaml")), Catch::Contains("pipeline low leaves 3 responses per document"));
    d.write("k.yaml", "task: t\ndataset_path: json\ndataset_kwargs:\n  data_files: data.jsonl\ntest_split: train\noutput_type: generate_until\ndoc_to_text: q\ndoc_to_target: a\n"
                      "repeats: 2\nfilter_list:\n  - name: k\n    filter:\n      - function: take_first_k\n        k: 3\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("k.yaml")), Catch::Contains("take_first_k with k 3 of 2 responses"));
    d.write("map.yaml", "task: t\ndataset_path: json\ndataset_kwargs:\n  data_files: data.jsonl\ntest_split: train\noutput_type: generate_until\ndoc_to_text: q\ndoc_to_target: a\n"
                        "filter_list:\n  - name: m\n    filter:\n      - function: map\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("map.yaml")), Catch::Contains("map.yaml:9: filter_list: pipeline m: the map filter is not supported"));
    d.write("ign.yaml", "task: t\ndataset_path: json\ndataset_kwargs:\n  data_files: data.jsonl\ntest_split: train\noutput_type: generate_until\ndoc_to_text: q\ndoc_to_target: a\n"
                        "metric_list:\n  - metric: exact_match\n    regexes_to_ignore: [\"(\"]\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("ign.yaml")), Catch::Contains("ign.yaml:9: metric_list: regexes_to_ignore: regex_pattern '('"));
    d.write("agg.yaml", head + "doc_to_text: q\ndoc_to_choice: c\ndoc_to_target: a\nmetric_list:\n  - metric: mcc\n    aggregation: mean\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("agg.yaml")), Catch::Contains("aggregation 'mean' of mcc") && Catch::Contains("matthews_corrcoef"));
    d.write("pq.yaml", "task: t\ndataset_path: parquet\ndataset_kwargs:\n  data_files: data.parquet\ntest_split: train\noutput_type: generate_until\ndoc_to_text: q\ndoc_to_target: a\n");
    d.write("data.parquet", "PAR1");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("pq.yaml")), Catch::Contains("data.parquet: Parquet cannot be read here") && Catch::Contains("JSON Lines"));
    d.write("bad_re.yaml", "task: t\ndataset_path: json\ndataset_kwargs:\n  data_files: data.jsonl\ntest_split: train\noutput_type: generate_until\ndoc_to_text: q\ndoc_to_target: a\n"
                           "filter_list:\n  - name: x\n    filter:\n      - function: regex\n        regex_pattern: \"(unclosed\"\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("bad_re.yaml")), Catch::Contains("filter_list: regex_pattern '(unclosed'"));
    // the default sampler draws n + 1 from the evaluated split itself: one document cannot give one example
    d.write("shots.yaml", head + "doc_to_text: q\ndoc_to_choice: c\ndoc_to_target: a\nnum_fewshot: 1\nfewshot_split: train\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("shots.yaml")), Catch::Contains("shots.yaml:10: num_fewshot: the default sampler draws 2 of 1"));
    d.write("sampler.yaml", head + "doc_to_text: q\ndoc_to_choice: c\ndoc_to_target: a\nfewshot_config:\n  sampler: balanced\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("sampler.yaml")), Catch::Contains("sampler \"balanced\": lm-eval's samplers are default and first_n"));
    // fewshot_config.samples: the examples given inline
    d.write("inline.yaml", head + "doc_to_text: q\ndoc_to_choice: c\ndoc_to_target: a\nnum_fewshot: 1\nfewshot_config:\n  sampler: first_n\n  samples:\n"
                               "    - {q: z, c: [u, v], a: 1}\n");
    CHECK(datasets::load_lm_eval_tasks(d.file("inline.yaml")).front().items.front().prompt == "z v\n\nx");
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

TEST_CASE("exact_match's regexes_to_ignore and ignore_numbers are lm-eval's exact_match_hf_evaluate", "[lm_eval][metrics]") {
    std::ifstream in(lmwb::test::fixture("lm_eval/expected.json"));
    const auto expected = nlohmann::json::parse(in);
    const eval::MetricInfo* em = eval::find_metric(datasets::TaskKind::Generation, "exact_match");
    REQUIRE(em);
    std::size_t n = 0;
    for (const auto& c : expected["exact_match_option_cases"]) {
        INFO(c.dump());
        datasets::Suite s;
        s.kind = datasets::TaskKind::Generation;
        s.normalization = {c["ignore_case"].get<bool>(), c["ignore_punctuation"].get<bool>(), false, false, {}, c["ignore_numbers"].get<bool>()};
        if (!c["regexes_to_ignore"].is_null()) s.normalization.remove_patterns = c["regexes_to_ignore"].get<std::vector<std::string>>();
        eval::ItemRecord r;
        r.response = c["prediction"];
        r.references = {c["reference"].get<std::string>()};
        CHECK(*em->item(r, eval::metric_settings(s)) == c["exact_match"].get<double>());
        ++n;
    }
    CHECK(n == 240);
}

TEST_CASE("filter pipelines reduce a document's responses as lm-eval's own filters do", "[lm_eval][filters]") {
    std::ifstream in(lmwb::test::fixture("lm_eval/expected.json"));
    const auto expected = nlohmann::json::parse(in);
    std::size_t n = 0;
    for (const auto& c : expected["pipeline_cases"]) {
        INFO(c.dump());
        datasets::Suite s;
        for (const auto& step : c["steps"]) {
            datasets::Suite::ResponseFilter f;
            f.function = step["function"];
            f.pattern = step.value("regex_pattern", std::string("#### (\\-?[0-9\\.\\,]+)"));
            f.group_select = step.value("group_select", 0);
            f.k = step.value("k", 1);
            s.response_filters.push_back(f);
        }
        CHECK(datasets::apply_response_filters(s, c["responses"].get<std::vector<std::string>>()) == c["filtered"].get<std::string>());
        ++n;
    }
    CHECK(n == 42);
    datasets::Suite none;  // no filters: the first response (lm-eval's default take_first)
    CHECK(datasets::apply_response_filters(none, std::vector<std::string>{"a", "b"}) == "a");
}

TEST_CASE("f1 and mcc are scikit-learn's as lm-eval aggregates them, perplexity is exp of the mean negative log-likelihood", "[lm_eval][metrics]") {
    std::ifstream in(lmwb::test::fixture("lm_eval/expected.json"));
    const auto expected = nlohmann::json::parse(in);
    const eval::MetricSettings settings;
    auto statistic = [&](const char* name, const std::vector<eval::ItemRecord>& records) {
        const eval::MetricInfo* m = eval::find_metric(datasets::TaskKind::MultipleChoice, name);
        REQUIRE(m);
        std::vector<const eval::ItemRecord*> items;
        for (const auto& r : records) items.push_back(&r);
        std::vector<std::size_t> all(records.size());
        std::iota(all.begin(), all.end(), std::size_t{0});
        return m->corpus(items, settings)(all);
    };
    for (const auto& c : expected["label_metric_cases"]) {
        INFO(c.dump());
        std::vector<eval::ItemRecord> records;
        for (std::size_t i = 0; i < c["gold"].size(); ++i) {
            eval::ItemRecord r;
            r.answer = c["gold"][i];
            r.predicted = c["pred"][i];
            r.choices.resize(3);
            records.push_back(r);
        }
        CHECK(statistic("mcc", records) == Approx(c["mcc"].get<double>()).margin(1e-12));
        if (c["f1"].is_null()) CHECK(std::isnan(statistic("f1", records)));  // scikit-learn refuses more than two labels
        else CHECK(statistic("f1", records) == Approx(c["f1"].get<double>()).margin(1e-12));
    }
    std::vector<eval::ItemRecord> records;
    for (const auto& ll : expected["perplexity_case"]["loglikelihoods"]) {
        eval::ItemRecord r;
        r.answer = 0;
        r.choices.resize(1);
        r.choices[0].logprob = ll;
        records.push_back(r);
    }
    CHECK(statistic("perplexity", records) == Approx(expected["perplexity_case"]["perplexity"].get<double>()).epsilon(1e-12));
}

TEST_CASE("a group's task list takes names, tags, inline tasks and overrides, as lm-eval's task factory builds them", "[lm_eval]") {
    lmwb::test::ScratchDir d;
    d.write("data.jsonl", "{\"q\": \"x\", \"c\": [\"a\", \"b\"], \"a\": 0}\n{\"q\": \"y\", \"c\": [\"a\", \"b\"], \"a\": 1}\n");
    const std::string body = "dataset_path: json\ndataset_kwargs:\n  data_files: data.jsonl\ntest_split: train\noutput_type: multiple_choice\n"
                             "doc_to_text: q\ndoc_to_choice: c\ndoc_to_target: a\n";
    d.write("one.yaml", "task: one\ntag: easy\n" + body);
    d.write("two.yaml", "task: two\ntag: [easy, other]\n" + body);
    d.write("group.yaml", "group: g\nnum_fewshot: 1\nfewshot_config:\n  sampler: first_n\ntask:\n  - easy\n  - task: one\n    num_fewshot: 0\n    target_delimiter: \"|\"\n"
                          "  - task: three\n    " + std::string("dataset_path: json\n    dataset_kwargs: {data_files: data.jsonl}\n    test_split: train\n") +
                          "    output_type: multiple_choice\n    doc_to_text: \"{{q}}?\"\n    doc_to_choice: c\n    doc_to_target: a\n");
    const auto suites = datasets::load_lm_eval_tasks(d.file("group.yaml"));
    REQUIRE(suites.size() == 4);
    // the tag's tasks with the group's keys (num_fewshot 1, first_n); without a fewshot_split equal to test_split
    // lm-eval does not leave the document out of its own examples (api/task.py fewshot_context)
    CHECK(suites[0].name == "one");
    CHECK(suites[0].items[0].prompt == "x a\n\nx");
    CHECK(suites[1].name == "two");
    CHECK(suites[1].lm_eval->num_fewshot == 1);
    // a known task with keys replaced
    CHECK(suites[2].name == "one");
    CHECK(suites[2].items[0].prompt == "x");
    CHECK(suites[2].target_delimiter == "|");
    // a task defined inline, named group::task
    CHECK(suites[3].name == "g::three");
    CHECK(suites[3].items[1].prompt == "x? a\n\ny?");
    d.write("agg.yaml", "group: g\ntask: [one]\naggregate_metric_list:\n  - metric: acc\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("agg.yaml")), Catch::Contains("agg.yaml:3: aggregate_metric_list: group aggregates are not computed"));
    d.write("bad.yaml", "group: g\ntask: [nothing]\n");
    CHECK_THROWS_WITH(datasets::load_lm_eval_tasks(d.file("bad.yaml")), Catch::Contains("bad.yaml:2: task: no task, group or tag named 'nothing'"));
    d.write("text.yaml", "task: lines\ndataset_path: text\ndataset_kwargs:\n  data_files: {test: lines.txt}\ntest_split: test\n"
                         "output_type: loglikelihood_rolling\ndoc_to_target: text\n");
    d.write("lines.txt", "one\r\ntwo\rthree\n\nfour");
    const auto lines = datasets::load_lm_eval_tasks(d.file("text.yaml")).front();
    REQUIRE(lines.items.size() == 5);
    CHECK(lines.items[1].text == "two");
    CHECK(lines.items[3].text.empty());
    CHECK(lines.items[4].text == "four");
}

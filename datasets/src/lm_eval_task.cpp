// lm-evaluation-harness task YAMLs (lm_eval/api/task.py ConfigurableTask, lm_eval/utils.py apply_template) on local
// JSON, JSON Lines and CSV files, as Suites whose prompts are the contexts lm-eval builds.
#include "lmwb/lm_eval_task.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>

#include "lm_eval_files.h"
#include "py_random.h"
#include "lmwb/jinja.h"

namespace lmwb::datasets {

namespace fs = std::filesystem;

namespace {

// The keys this reader understands; any other is refused by name (lm-eval has many more: a task using them would
// not be the task lm-eval runs).
const std::vector<std::string> kTaskKeys = {"task", "tag", "include", "dataset_path", "dataset_name", "dataset_kwargs", "test_split",
                                            "validation_split", "fewshot_split", "training_split", "output_type", "doc_to_text",
                                            "doc_to_target", "doc_to_choice", "target_delimiter", "fewshot_delimiter", "num_fewshot",
                                            "fewshot_config", "description", "metric_list", "metadata", "should_decontaminate",
                                            "doc_to_decontamination_query", "generation_kwargs", "filter_list", "repeats"};

// --- Python literals (ast.literal_eval of a rendered choice list) --------------------------------------------------

class Literal {
public:
    explicit Literal(const std::string& s) : s_(s) {}
    ojson parse() {
        ojson v = value();
        skip();
        if (p_ != s_.size()) fail();
        return v;
    }

private:
    [[noreturn]] void fail() const { throw SuiteError("not a Python literal: " + s_.substr(0, 200)); }
    void skip() {
        while (p_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[p_]))) ++p_;
    }
    ojson value() {
        skip();
        if (p_ >= s_.size()) fail();
        const char c = s_[p_];
        if (c == '[' || c == '(') {
            const char close = c == '[' ? ']' : ')';
            ++p_;
            ojson a = ojson::array();
            skip();
            while (p_ < s_.size() && s_[p_] != close) {
                a.push_back(value());
                skip();
                if (p_ < s_.size() && s_[p_] == ',') ++p_, skip();
                else if (p_ < s_.size() && s_[p_] != close) fail();
            }
            if (p_ >= s_.size()) fail();
            ++p_;
            return a;
        }
        if (c == '\'' || c == '"') return string();
        if (s_.compare(p_, 4, "None") == 0) return p_ += 4, ojson(nullptr);
        if (s_.compare(p_, 4, "True") == 0) return p_ += 4, ojson(true);
        if (s_.compare(p_, 5, "False") == 0) return p_ += 5, ojson(false);
        std::size_t used = 0;
        try {
            const std::string rest = s_.substr(p_);
            const double d = std::stod(rest, &used);
            const std::string num = rest.substr(0, used);
            p_ += used;
            if (num.find_first_of(".eE") == std::string::npos) return ojson(std::stoll(num));
            return ojson(d);
        } catch (const std::exception&) {
            fail();
        }
    }
    ojson string() {
        const char q = s_[p_++];
        std::string out;
        while (p_ < s_.size() && s_[p_] != q) {
            char c = s_[p_++];
            if (c != '\\') { out += c; continue; }
            if (p_ >= s_.size()) fail();
            const char e = s_[p_++];
            switch (e) {
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case '\\': case '\'': case '"': out += e; break;
            default: out += '\\', out += e;
            }
        }
        if (p_ >= s_.size()) fail();
        ++p_;
        return out;
    }
    const std::string& s_;
    std::size_t p_ = 0;
};

// --- few-shot examples ---------------------------------------------------------------------------------------------

// api/task.py fewshot_context's examples: the pool fewshot_docs() gives, drawn by the configured sampler
// (samplers.py), the evaluated document left out when the few-shot split is the test split.
struct Shots {
    std::vector<ojson> own;  // fewshot_config.samples
    const std::vector<ojson>* split = nullptr;
    bool first_n = false, exclude = false;
    std::optional<PyRandom> rng;  // ContextSampler's Random(1234), lm-eval's default few-shot seed, drawn doc by doc

    const std::vector<ojson>& docs() const { return split ? *split : own; }

    std::vector<const ojson*> draw(const ojson& doc, std::size_t n, const YamlDoc& y) {
        if (n == 0) return {};
        const std::vector<ojson>& pool = docs();
        const nlohmann::json self(doc);  // Python's dict equality: key order aside
        auto is_self = [&](const ojson& x) { return exclude && nlohmann::json(x) == self; };
        std::vector<const ojson*> out;
        if (first_n) {  // FirstNSampler: the pool without the document, its first n
            for (std::size_t k = 0; k < pool.size() && out.size() < n; ++k)
                if (!is_self(pool[k])) out.push_back(&pool[k]);
            if (out.size() < n) y.fail("num_fewshot", std::to_string(n) + " examples asked, " + std::to_string(out.size()) + " available");
            return out;
        }
        // ContextSampler: rnd.sample(pool, n + 1) without the document, its first n; else rnd.sample(pool, n)
        const std::size_t want = n + (exclude ? 1 : 0);
        if (want > pool.size())
            y.fail("num_fewshot", "the default sampler draws " + std::to_string(want) + " of " + std::to_string(pool.size()) +
                                      " few-shot documents (Python's random.sample: sample larger than population)");
        for (std::size_t k : rng->sample(pool.size(), want))
            if (!is_self(pool[k]) && out.size() < n) out.push_back(&pool[k]);
        if (out.size() < n) y.fail("num_fewshot", "the evaluated document was drawn more than once as its own example (lm-eval's sampler asserts)");
        return out;
    }
};

// --- the task ------------------------------------------------------------------------------------------------------

class Task {
public:
    explicit Task(YamlDoc y) : y_(std::move(y)) {}

    std::vector<Suite> build() {
        const ojson& t = y_.value;
        for (const auto& [k, v] : t.items())
            if (std::find(kTaskKeys.begin(), kTaskKeys.end(), k) == kTaskKeys.end())
                y_.fail(k, "not supported by lmwb (supported: " + join(kTaskKeys) + ")");
        if (!t.contains("task") || !t["task"].is_string()) y_.fail("task", "the task's name is needed");
        // The types lm-eval's TaskConfig gives its fields.
        auto expect = [&](const char* key, bool ok, const char* what) {
            if (t.contains(key) && !t[key].is_null() && !ok) y_.fail(key, std::string("expected ") + what);
        };
        expect("output_type", t.value("output_type", ojson()).is_string(), "a string");
        expect("num_fewshot", t.value("num_fewshot", ojson()).is_number_integer() && t["num_fewshot"].get<long long>() >= 0 &&
                                  t["num_fewshot"].get<long long>() <= 1000000, "a count");
        expect("fewshot_config", t.value("fewshot_config", ojson()).is_object(), "a mapping");
        expect("metric_list", t.value("metric_list", ojson()).is_array(), "a list of {metric: …}");
        expect("target_delimiter", t.value("target_delimiter", ojson()).is_string(), "a string");
        expect("fewshot_delimiter", t.value("fewshot_delimiter", ojson()).is_string(), "a string");
        expect("metadata", t.value("metadata", ojson()).is_object(), "a mapping");
        for (const char* k : {"test_split", "validation_split", "fewshot_split", "training_split"}) expect(k, t.value(k, ojson()).is_string(), "a split's name");
        if (t.contains("metric_list"))
            for (const auto& m : t["metric_list"])
                if (!m.is_object()) y_.fail("metric_list", "each entry is {metric: name, …}");
        output_type_ = t.value("output_type", std::string("generate_until"));
        if (output_type_ != "multiple_choice" && output_type_ != "loglikelihood" && output_type_ != "loglikelihood_rolling" &&
            output_type_ != "generate_until")
            y_.fail("output_type", "'" + output_type_ + "': expected multiple_choice, loglikelihood, loglikelihood_rolling or generate_until");
        const bool mc = output_type_ == "multiple_choice", rolling = output_type_ == "loglikelihood_rolling",
                   generate = output_type_ == "generate_until";
        if (!generate)
            for (const char* k : {"generation_kwargs", "filter_list"})
                if (t.contains(k)) y_.fail(k, "applies to generate_until tasks");
        for (const char* k : {"doc_to_text", "doc_to_target", "doc_to_choice"}) {
            if (!mc && std::string(k) == "doc_to_choice") {
                if (generate) continue;  // a generate_until task may name its answer by an index into choices
                if (t.contains(k)) y_.fail(k, "applies to multiple_choice tasks");
                continue;
            }
            if (rolling && std::string(k) == "doc_to_text") continue;
            if (!t.contains(k)) y_.fail(k, "needed by a " + output_type_ + " task");
        }
        if (t.contains("should_decontaminate") && t["should_decontaminate"] == true) y_.fail("should_decontaminate", "decontamination is not supported");
        Data data = load_data(y_);
        auto split_named = [&](const char* key) -> const std::vector<ojson>* {
            if (!t.contains(key) || t[key].is_null()) return nullptr;
            const std::string name = t[key];
            auto it = data.splits.find(name);
            if (it == data.splits.end()) y_.fail(key, "no split '" + name + "' in the data (it has: " + split_names(data) + ")");
            return &it->second;
        };
        const std::vector<ojson>* eval_docs = split_named("test_split");
        std::string eval_split = eval_docs ? t["test_split"].get<std::string>() : "";
        if (!eval_docs) {
            eval_docs = split_named("validation_split");
            if (eval_docs) eval_split = t["validation_split"];
        }
        if (!eval_docs) y_.fail("test_split", "neither test_split nor validation_split names a split to evaluate");
        const int n_shot = t.value("num_fewshot", 0);
        if (rolling && n_shot > 0) y_.fail("num_fewshot", "must be 0 for perplexity (loglikelihood_rolling) tasks, as in lm-eval");
        Shots shots = few_shot_pool(data, split_named, n_shot);
        const std::string target_delimiter = t.value("target_delimiter", std::string(" ")), fewshot_delimiter = t.value("fewshot_delimiter", std::string("\n\n"));

        Suite s;
        s.path = y_.file;
        s.name = t["task"];
        s.kind = rolling ? TaskKind::Perplexity : generate ? TaskKind::Generation : TaskKind::MultipleChoice;
        if (generate) generation_settings(s, fewshot_delimiter);
        expect("repeats", t.value("repeats", ojson()).is_number_integer() && t["repeats"].get<long long>() >= 1 && t["repeats"].get<long long>() <= 1000,
               "a count from 1 to 1000");
        const int repeats = t.value("repeats", ojson(1)).is_number_integer() ? t.value("repeats", 1) : 1;
        if (repeats != 1 && !generate) y_.fail("repeats", "applies to generate_until tasks here (the other output types score once)");
        s.generation.repeats = repeats;
        // loglikelihood: the continuation is doc_to_target as it is (construct_requests adds no delimiter)
        s.target_delimiter = mc ? target_delimiter : "";
        if (t.contains("metadata") && t["metadata"].contains("version")) {
            const ojson& v = t["metadata"]["version"];
            s.version = v.is_string() ? v.get<std::string>() : v.dump();
        }
        s.lm_eval = Suite::LmEvalTask{s.name, s.version, n_shot, ""};
        s.metrics = metrics();
        s.description = "lm-evaluation-harness task " + s.name;
        std::string description;
        if (t.contains("description") && !t["description"].is_null()) {
            if (!t["description"].is_string()) y_.fail("description", "expected a string");
            description = t["description"];
        }
        for (std::size_t i = 0; i < eval_docs->size(); ++i) {
            const ojson& doc = (*eval_docs)[i];
            SuiteItem item;
            item.index = i;
            item.line = i + 1;
            item.id = std::to_string(i);
            std::string prefix = description.empty() ? "" : render("description", description, doc);
            for (const ojson* fs_doc : shots.draw(doc, static_cast<std::size_t>(n_shot), y_)) {
                const std::string q = text(*fs_doc), a = answer_text(*fs_doc);
                prefix += q + target_delimiter + a + fewshot_delimiter;
                item.shots.push_back({q, a});
            }
            if (rolling) {  // the document is doc_to_target, scored in rolling windows
                const ojson v = field_or_render("doc_to_target", doc);
                if (!v.is_string()) y_.fail("doc_to_target", "gives " + std::string(v.type_name()) + ", not the text to score");
                item.text = v;
            } else {
                item.question = text(doc);
                item.prompt = prefix + item.question;
                if (generate) {
                    item.references = references(doc);
                } else if (mc) {
                    item.choices = choices(doc);
                    item.answer = gold(doc, item.choices);
                } else {  // loglikelihood: one continuation; lm-eval's acc is whether it is the greedy one
                    const ojson v = field_or_render("doc_to_target", doc);
                    if (!v.is_string()) y_.fail("doc_to_target", "gives " + std::string(v.type_name()) + ", not the continuation");
                    item.choices = {v.get<std::string>()};
                    item.answer = 0;
                }
            }
            const nlohmann::json content = {{"id", item.id}, {"prompt", item.prompt}, {"choices", item.choices}, {"answer", item.answer},
                                            {"references", item.references}, {"text", item.text}, {"delimiter", s.target_delimiter}};
            item.content_hash = sha256_hex(content.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
            s.items.push_back(std::move(item));
        }
        if (s.items.empty()) y_.fail("test_split", "the split '" + eval_split + "' has no documents");
        s.sha256 = sha256_hex(read_text(y_.file, "the task") + data.hash_input);
        if (!generate) return {s};
        // One suite per filter pipeline (lm-eval reports "metric,pipeline"), all reading the same generations.
        const auto ps = pipelines(repeats);
        std::vector<Suite> out;
        for (const auto& [name, steps] : ps) {
            Suite p = s;
            p.response_filters = steps;
            p.lm_eval->filter = name;
            if (ps.size() > 1) p.name = s.name + "," + name;
            out.push_back(std::move(p));
        }
        return out;
    }

private:
    static std::string join(const std::vector<std::string>& v) {
        std::string out;
        for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
        return out;
    }
    static std::string split_names(const Data& d) {
        std::string out;
        for (const auto& [k, v] : d.splits) out += (out.empty() ? "" : ", ") + k;
        return out.empty() ? "none" : out;
    }

    // fewshot_docs(): fewshot_config.split or fewshot_split, else fewshot_config.samples, else the training split,
    // else the validation split, else the test split (api/task.py).
    template <class SplitNamed>
    Shots few_shot_pool(const Data& data, SplitNamed split_named, int n_shot) const {
        const ojson& t = y_.value;
        ojson fc = ojson::object();
        if (t.contains("fewshot_config") && !t["fewshot_config"].is_null()) fc = t["fewshot_config"];
        for (const auto& [k, v] : fc.items())
            if (k != "sampler" && k != "split" && k != "samples") y_.fail("fewshot_config", "'" + k + "' is not supported (sampler, split, samples)");
        const ojson sampler = fc.value("sampler", ojson("default"));
        if (sampler != "default" && sampler != "first_n") y_.fail("fewshot_config", "sampler " + sampler.dump() + ": lm-eval's samplers are default and first_n");
        Shots sh;
        sh.first_n = sampler == "first_n";
        if (!sh.first_n) sh.rng.emplace(1234);
        const ojson split = fc.contains("split") ? fc["split"] : t.value("fewshot_split", ojson());
        if (split.is_string()) {
            auto it = data.splits.find(split.get<std::string>());
            if (it == data.splits.end()) y_.fail(fc.contains("split") ? "fewshot_config" : "fewshot_split", "no split '" + split.get<std::string>() + "' in the data");
            sh.split = &it->second;
        } else if (!split.is_null()) {
            y_.fail("fewshot_config", "split: a split's name");
        } else if (fc.contains("samples")) {
            if (!fc["samples"].is_array()) y_.fail("fewshot_config", "samples: a list of documents");
            for (const auto& d : fc["samples"]) {
                if (!d.is_object()) y_.fail("fewshot_config", "samples: a list of documents (mappings)");
                sh.own.push_back(d);
            }
        } else {
            for (const char* k : {"training_split", "validation_split", "test_split"})
                if (t.contains(k) && !t[k].is_null()) {
                    sh.split = split_named(k);
                    break;
                }
        }
        sh.exclude = split == t.value("test_split", ojson());  // None == None too, as Python compares them
        if (n_shot > 0 && sh.docs().empty()) y_.fail("num_fewshot", "there are no few-shot documents to draw from");
        return sh;
    }

    // lm-eval's metric names (api/metrics.py, api/task.py process_results) to lmwb's, with the aggregation lm-eval
    // registers for each: the same names for multiple_choice and perplexity; a loglikelihood task's acc (is_greedy)
    // is lmwb's exact_match of its one continuation, brier_score lmwb's brier.
    std::vector<std::string> metrics() const {
        const ojson& t = y_.value;
        struct Known {
            const char *lmwb, *aggregation;
        };
        const std::map<std::string, std::map<std::string, Known>> known = {
            {"multiple_choice",
             {{"acc", {"acc", "mean"}}, {"acc_norm", {"acc_norm", "mean"}}, {"acc_bytes", {"acc_bytes", "mean"}},
              {"acc_mutual_info", {"acc_mutual_info", "mean"}}, {"exact_match", {"exact_match", "mean"}}, {"f1", {"f1", "f1"}},
              {"mcc", {"mcc", "matthews_corrcoef"}}, {"brier_score", {"brier", "brier_score"}}}},
            {"loglikelihood", {{"acc", {"exact_match", "mean"}}, {"perplexity", {"perplexity", "perplexity"}}}},
            {"loglikelihood_rolling",
             {{"word_perplexity", {"word_perplexity", "weighted_perplexity"}}, {"byte_perplexity", {"byte_perplexity", "weighted_perplexity"}},
              {"bits_per_byte", {"bits_per_byte", "bits_per_byte"}}}},
            {"generate_until", {{"exact_match", {"exact_match", "mean"}}, {"bleu", {"bleu", "bleu"}}, {"chrf", {"chrf", "chrf"}}, {"ter", {"ter", "ter"}}}}};
        const auto& names = known.at(output_type_);
        if (!t.contains("metric_list")) {  // api/registry.py DEFAULT_METRIC_REGISTRY
            if (output_type_ == "multiple_choice") return {"acc", "acc_norm"};
            if (output_type_ == "loglikelihood") return {"perplexity", "exact_match"};
            if (output_type_ == "generate_until") return {"exact_match"};
            return {"word_perplexity", "byte_perplexity", "bits_per_byte"};
        }
        std::vector<std::string> out;
        for (const auto& m : t["metric_list"]) {
            const std::string name = m.is_object() ? m.value("metric", std::string()) : "";
            if (!names.count(name)) {
                std::string supported;
                for (const auto& [k, v] : names) supported += (supported.empty() ? "" : ", ") + k;
                y_.fail("metric_list", "metric '" + name + "' is not supported for " + output_type_ + " here (" + supported + ")");
            }
            for (const auto& [k, v] : m.items()) {
                if (k == "metric" || k == "aggregation" || k == "higher_is_better") continue;
                // exact_match's options (lm-eval's exact_match_hf_evaluate)
                if (name == "exact_match" && output_type_ == "generate_until" &&
                    (((k == "ignore_case" || k == "ignore_punctuation" || k == "ignore_numbers") && v.is_boolean()) || k == "regexes_to_ignore"))
                    continue;
                y_.fail("metric_list", "'" + k + "' of metric " + name + " is not supported" +
                                           (name == "exact_match" && output_type_ == "generate_until"
                                                ? std::string(" (ignore_case, ignore_punctuation, ignore_numbers and regexes_to_ignore are)")
                                                : std::string()));
            }
            const Known& k = names.at(name);
            const std::string aggregation = m.value("aggregation", std::string(k.aggregation));
            if (aggregation != k.aggregation)
                y_.fail("metric_list", "aggregation '" + aggregation + "' of " + name + ": lmwb aggregates it as lm-eval registers it (" + k.aggregation + ")");
            if (std::find(out.begin(), out.end(), k.lmwb) == out.end()) out.push_back(k.lmwb);
        }
        return out;
    }

    std::string render(const std::string& key, const std::string& source, const ojson& doc) {
        auto it = templates_.find(source);
        if (it == templates_.end()) {
            try {
                it = templates_.emplace(source, std::make_unique<jinja::Template>(source, y_.file + ": " + key, jinja::Environment::lm_eval())).first;
            } catch (const jinja::Error& e) {
                y_.fail(key, e.message + " (line " + std::to_string(e.line) + " of the template)");
            }
        }
        try {
            return it->second->render(doc);
        } catch (const jinja::Error& e) {
            y_.fail(key, e.message);
        }
    }

    // doc_to_text / doc_to_target / doc_to_choice as lm-eval resolves them: a field of the document, else a template.
    ojson field_or_render(const char* key, const ojson& doc) {
        const ojson& spec = y_.value[key];
        if (spec.is_string()) {
            const std::string s = spec;
            if (doc.contains(s)) return doc[s];
            return render(key, s, doc);
        }
        return spec;
    }

    // generation_kwargs as lm-eval's TaskConfig defaults them (until: the few-shot delimiter; greedy) and HFLM reads
    // them (max_gen_toks 256); exact_match compares the text as generated, its options as the metric's.
    void generation_settings(Suite& s, const std::string& fewshot_delimiter) const {
        const ojson& t = y_.value;
        s.generation = GenerationSettings{};
        s.generation.max_new_tokens = 256;
        s.generation.stop = {fewshot_delimiter};
        if (t.contains("generation_kwargs") && !t["generation_kwargs"].is_null()) {
            const ojson& g = t["generation_kwargs"];
            if (!g.is_object()) y_.fail("generation_kwargs", "expected a mapping");
            bool sample = false;
            for (const auto& [k, v] : g.items()) {
                if (k == "until") {
                    s.generation.stop.clear();
                    if (v.is_string()) s.generation.stop.push_back(v);
                    else if (v.is_array())
                        for (const auto& u : v) {
                            if (!u.is_string()) y_.fail("generation_kwargs", "until: strings");
                            s.generation.stop.push_back(u);
                        }
                    else y_.fail("generation_kwargs", "until: a string or a list of strings");
                } else if (k == "max_gen_toks" && v.is_number_integer() && v.get<long long>() > 0) {
                    s.generation.max_new_tokens = static_cast<int>(std::min<long long>(v.get<long long>(), 1 << 20));
                } else if (k == "do_sample" && v.is_boolean()) {
                    sample = v;
                } else if (k == "temperature" && v.is_number()) {
                    s.generation.temperature = v.get<double>();
                } else {
                    y_.fail("generation_kwargs", "'" + k + "' is not supported (until, max_gen_toks, do_sample, temperature)");
                }
            }
            if (!sample) s.generation.temperature = 0;  // greedy
        }
        s.generation.stop.erase(std::remove(s.generation.stop.begin(), s.generation.stop.end(), std::string()), s.generation.stop.end());
        AnswerNormalization exact{false, false, false, false, {}, false};
        if (t.contains("metric_list"))
            for (const auto& m : t["metric_list"])
                if (m.is_object() && m.value("metric", std::string()) == "exact_match") {
                    exact.lowercase = m.value("ignore_case", false);
                    exact.strip_punctuation = m.value("ignore_punctuation", false);
                    exact.remove_digits = m.value("ignore_numbers", false);
                    if (m.contains("regexes_to_ignore") && !m["regexes_to_ignore"].is_null()) {
                        const ojson& r = m["regexes_to_ignore"];
                        if (!r.is_array()) y_.fail("metric_list", "regexes_to_ignore: a list of patterns");
                        for (const auto& x : r) {
                            if (!x.is_string()) y_.fail("metric_list", "regexes_to_ignore: a list of patterns");
                            try {
                                (void)remove_matches(x.get<std::string>(), "");
                            } catch (const SuiteError& e) {
                                y_.fail("metric_list", std::string("regexes_to_ignore: ") + e.what());
                            }
                            exact.remove_patterns.push_back(x);
                        }
                    }
                }
        s.normalization = exact;
    }

    // filter_list: each pipeline's steps, checked as lm-eval would run them on `repeats` responses per document (a
    // pipeline must leave one: its metrics read a string). Without one, lm-eval's default pipeline "none" takes the
    // first response.
    std::vector<std::pair<std::string, std::vector<Suite::ResponseFilter>>> pipelines(int repeats) const {
        const ojson& t = y_.value;
        std::vector<std::pair<std::string, std::vector<Suite::ResponseFilter>>> out;
        if (!t.contains("filter_list") || t["filter_list"].is_null()) return {{"none", {}}};
        if (!t["filter_list"].is_array() || t["filter_list"].empty()) y_.fail("filter_list", "expected a list of {name, filter: [{function, …}]}");
        for (const auto& p : t["filter_list"]) {
            if (!p.is_object() || !p.contains("filter") || !p["filter"].is_array() || !p.value("name", ojson()).is_string())
                y_.fail("filter_list", "expected a list of {name, filter: [{function, …}]}");
            const std::string name = p["name"];
            for (const auto& [k, v] : p.items())
                if (k != "name" && k != "filter") y_.fail("filter_list", "pipeline " + name + ": '" + k + "' is not supported (name, filter)");
            for (const auto& other : out)
                if (other.first == name) y_.fail("filter_list", "two pipelines are named " + name);
            std::vector<Suite::ResponseFilter> steps;
            std::size_t left = static_cast<std::size_t>(repeats);
            for (const auto& step : p["filter"]) {
                const std::string fn = step.is_object() ? step.value("function", std::string()) : "";
                Suite::ResponseFilter rf;
                rf.function = fn;
                for (const auto& [k, v] : step.items()) {
                    if (k == "function") continue;
                    if (fn == "regex" && k == "regex_pattern" && v.is_string()) rf.pattern = v;
                    else if (fn == "regex" && k == "group_select" && v.is_number_integer()) rf.group_select = v;
                    else if (fn == "regex" && k == "fallback" && v.is_string()) rf.fallback = v;
                    else if (fn == "take_first_k" && k == "k" && v.is_number_integer() && v.get<long long>() >= 1 && v.get<long long>() <= 1000000) rf.k = v;
                    else y_.fail("filter_list", "pipeline " + name + ": '" + k + "' of the " + fn + " filter is not supported");
                }
                if (fn == "regex") {
                    if (rf.pattern.empty()) rf.pattern = "#### (\\-?[0-9\\.\\,]+)";  // RegexFilter's default
                } else if (fn == "take_first" || fn == "majority_vote") {
                    left = std::min<std::size_t>(left, 1);
                } else if (fn == "take_first_k") {
                    if (!step.contains("k")) y_.fail("filter_list", "pipeline " + name + ": take_first_k needs k");
                    if (static_cast<std::size_t>(rf.k) > left)  // TakeKFilter asserts as much
                        y_.fail("filter_list", "pipeline " + name + ": take_first_k with k " + std::to_string(rf.k) + " of " + std::to_string(left) + " responses (repeats)");
                    left = static_cast<std::size_t>(rf.k);
                } else if (fn != "lowercase" && fn != "uppercase" && fn != "remove_whitespace") {
                    y_.fail("filter_list", "pipeline " + name + ": the " + fn +
                                               " filter is not supported (regex, take_first, take_first_k, majority_vote, lowercase, uppercase, remove_whitespace are)");
                }
                steps.push_back(rf);
            }
            if (left != 1)
                y_.fail("filter_list", "pipeline " + name + " leaves " + std::to_string(left) +
                                           " responses per document (repeats): end it with take_first or majority_vote, as lm-eval's metrics read one");
            Suite probe;
            probe.response_filters = steps;
            try {  // a pattern that does not compile is the task's error, not a run's
                (void)apply_response_filters(probe, std::vector<std::string>(static_cast<std::size_t>(repeats)));
            } catch (const SuiteError& e) {
                y_.fail("filter_list", e.what());
            }
            out.emplace_back(name, std::move(steps));
        }
        return out;
    }

    std::vector<std::string> references(const ojson& doc) {
        ojson g = target(doc);
        if (y_.value.contains("doc_to_choice")) {  // then the target is an index into the choices
            const auto c = choices(doc);
            if (!g.is_number_integer() || g.get<long long>() < 0 || g.get<long long>() >= static_cast<long long>(c.size()))
                y_.fail("doc_to_target", "with doc_to_choice, an index into the choices");
            return {c[static_cast<std::size_t>(g.get<long long>())]};
        }
        if (g.is_string()) return {g.get<std::string>()};
        if (g.is_number_integer()) return {std::to_string(g.get<long long>())};  // str(gold), as process_results casts it
        if (g.is_array() && !g.empty()) {  // several targets: any may match
            std::vector<std::string> out;
            for (const auto& x : g) {
                if (!x.is_string()) y_.fail("doc_to_target", "a target list of strings");
                out.push_back(x);
            }
            return out;
        }
        y_.fail("doc_to_target", "gives " + std::string(g.type_name()) + ", not a reference answer");
    }

    std::string text(const ojson& doc) {
        const ojson v = field_or_render("doc_to_text", doc);
        if (!v.is_string()) y_.fail("doc_to_text", "gives " + std::string(v.type_name()) + ", not text (multiple inputs, as Winogrande's, are not supported)");
        const std::string s = v;
        if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
            y_.fail("doc_to_text", "renders a number, which lm-eval reads as a choice index (multiple inputs): not supported");
        return s;
    }

    std::vector<std::string> choices(const ojson& doc) {
        const ojson& spec = y_.value["doc_to_choice"];
        ojson list;
        if (spec.is_string()) {
            const std::string s = spec;
            if (doc.contains(s)) list = doc[s];
            else {
                const std::string rendered = render("doc_to_choice", s, doc);
                try {
                    list = Literal(rendered).parse();
                } catch (const SuiteError& e) {
                    y_.fail("doc_to_choice", std::string(e.what()) + " (lm-eval reads the rendered text with ast.literal_eval)");
                }
            }
        } else if (spec.is_array()) {
            list = spec;
        } else if (spec.is_object()) {
            list = ojson::array();
            for (const auto& [k, v] : spec.items()) list.push_back(v);
        } else {
            y_.fail("doc_to_choice", "expected a field name, a template or a list");
        }
        if (!list.is_array() || list.empty()) y_.fail("doc_to_choice", "gives no list of choices");
        std::vector<std::string> out;
        for (const auto& c : list) {
            if (c.is_string()) out.push_back(c);
            else if (c.is_number_integer()) out.push_back(std::to_string(c.get<long long>()));
            else y_.fail("doc_to_choice", "a choice that is not text: " + c.dump());
        }
        return out;
    }

    // doc_to_target: an index, or a choice's text; a rendered number is an index (lm-eval's isdigit rule).
    ojson target(const ojson& doc) {
        const ojson& spec = y_.value["doc_to_target"];
        ojson v = field_or_render("doc_to_target", doc);
        if (!v.is_string() || (spec.is_string() && doc.contains(spec.get<std::string>()))) return v;  // a field as it is
        const std::string s = v;
        if (y_.value.contains("doc_to_choice") && !s.empty() &&
            std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
            if (s.size() > 18) y_.fail("doc_to_target", "renders the index " + s.substr(0, 40) + ", beyond any choice");
            return std::stoll(s);
        }
        if (s.size() >= 2 && s.front() == '[' && s.back() == ']') {  // a rendered list of targets
            try {
                return Literal(s).parse();
            } catch (const SuiteError&) {
                return v;
            }
        }
        return v;
    }

    int gold(const ojson& doc, const std::vector<std::string>& options) {
        const ojson t = target(doc);
        if (t.is_number_integer()) {
            const long long g = t;
            if (g < 0 || g >= static_cast<long long>(options.size()))
                y_.fail("doc_to_target", "index " + std::to_string(g) + " is not one of the " + std::to_string(options.size()) + " choices");
            return static_cast<int>(g);
        }
        if (t.is_string()) {
            auto it = std::find(options.begin(), options.end(), t.get<std::string>());
            if (it == options.end()) y_.fail("doc_to_target", "'" + t.get<std::string>() + "' is not one of the choices");
            return static_cast<int>(it - options.begin());
        }
        y_.fail("doc_to_target", "gives " + std::string(t.type_name()) + " (several gold answers are not supported)");
    }

    std::string answer_text(const ojson& doc) {
        const ojson t = target(doc);
        if (t.is_number_integer()) {
            const auto c = choices(doc);
            const long long g = t;
            if (g < 0 || g >= static_cast<long long>(c.size())) y_.fail("doc_to_target", "index " + std::to_string(g) + " out of the choices");
            return c[static_cast<std::size_t>(g)];
        }
        if (t.is_string()) return t;
        if (t.is_array() && !t.empty() && t[0].is_string()) return t[0];
        y_.fail("doc_to_target", "gives " + std::string(t.type_name()));
    }

    YamlDoc y_;
    std::string output_type_;
    std::map<std::string, std::unique_ptr<jinja::Template>> templates_;
};

}  // namespace

bool is_task_key(const std::string& key) { return std::find(kTaskKeys.begin(), kTaskKeys.end(), key) != kTaskKeys.end(); }

bool is_yaml(const fs::path& p) { return p.extension() == ".yaml" || p.extension() == ".yml"; }

std::vector<Suite> build_task(YamlDoc y) {
    const std::string file = y.file;
    try {
        return Task(std::move(y)).build();
    } catch (const nlohmann::json::exception& e) {  // a value of a type the checks above do not name
        throw SuiteError(file + ": a value of the wrong type (" + e.what() + ")");
    }
}

}  // namespace lmwb::datasets

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "lmwb/evaluation.h"
#include "lmwb/lm_eval_task.h"
#include "evaluation_internal.h"
#include "journal.h"
#include "chat_prompts.h"
#include "run_memory.h"
#include "unicode_text.h"
#include "lmwb/model.h"
#include "lmwb/text.h"
#include "lmwb/text_metrics.h"

namespace lmwb::eval {

namespace fs = std::filesystem;
using datasets::Suite;
using datasets::SuiteItem;
using datasets::TaskKind;
using nlohmann::json;

void to_json(json& j, const ModelIdentity& m);
void to_json(json& j, const RunSettings& s);
void to_json(json& j, const ItemRecord& r);
void from_json(const json& j, ItemRecord& r);

namespace {

// lm-evaluation-harness's word count: len(re.split(r"\s+", doc)), with Python's Unicode whitespace (str.isspace:
// U+3000, U+2028, U+2029, U+2000-U+200A, U+202F, U+205F, U+1680, U+0085, U+00A0 and the ASCII ones). The one
// whitespace rule of the metrics library (unicode_text.h), not a second copy.
std::size_t split_count(const std::string& doc) {
    std::size_t pieces = 1;
    bool in_space = false;
    for (char32_t c : metrics::text::decode(doc)) {
        const bool space = metrics::text::is_space(c);
        if (space && !in_space) ++pieces;
        in_space = space;
    }
    return pieces;
}

std::size_t argmax(const std::vector<double>& v) {
    return static_cast<std::size_t>(std::max_element(v.begin(), v.end()) - v.begin());  // first of ties, as numpy
}

// The suite's metrics from the registry, and what the runner must compute for them.
struct SuiteMetrics {
    std::vector<const MetricInfo*> list;
    MetricSettings settings;
    SuiteMetrics(const Suite& suite, const SuiteReport& sr) : settings(metric_settings(suite)) {
        for (const auto& name : sr.metrics) list.push_back(find_metric(suite.kind, name));
    }
    bool needs(ModelInput input) const {
        return std::any_of(list.begin(), list.end(), [&](const MetricInfo* m) { return m->needs == input; });
    }
    // Every per-item value the record defines.
    void score(ItemRecord& r) const {
        for (const MetricInfo* m : list)
            if (m->item)
                if (auto v = m->item(r, settings)) r.metrics[m->name] = *v;
    }
};

struct Runner {
    const LanguageModel& model;
    const LanguageModel& scorer;
    const EvalOptions& opt;
    Journal journal;
    Progress progress;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

    std::chrono::steady_clock::time_point suite_start = start;

    bool cancelled() const { return opt.cancel.requested(); }
    double since(std::chrono::steady_clock::time_point t) const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    }
    void begin_suite(std::size_t index, const std::string& name, std::size_t pending) {
        progress.suite = name;
        progress.suite_index = index;
        progress.suite_done = 0;
        progress.suite_total = pending;
        progress.suite_elapsed = 0;
        suite_start = std::chrono::steady_clock::now();
        progress.elapsed = since(start);
        if (opt.progress) opt.progress(progress);
    }
    void finished_item(std::size_t suite_index, SuiteReport& sr, ItemRecord r, std::size_t tokens) {
        journal.append(suite_index, r);
        sr.items.push_back(std::move(r));
        progress.items_done += 1;
        progress.suite_done += 1;
        progress.tokens += tokens;
        progress.elapsed = since(start);
        progress.suite_elapsed = since(suite_start);
        if (opt.progress) opt.progress(progress);
    }

    ItemRecord base_record(const SuiteItem& item) {
        ItemRecord r;
        r.index = item.index;
        r.id = item.id;
        r.content_hash = item.content_hash;
        r.prompt = item.prompt;
        r.slices = item.slices;
        return r;
    }

    // The suite's selected items in blocks (see RunSettings::batch_size), each block with the items still to do.
    struct Block {
        std::vector<const SuiteItem*> items;
        std::vector<bool> pending;
        bool any_pending() const { return std::find(pending.begin(), pending.end(), true) != pending.end(); }
    };

    void multiple_choice(std::size_t si, const Suite& s, SuiteReport& sr, const std::vector<Block>& blocks) {
        const SuiteMetrics metrics(s, sr);
        const bool mi = metrics.needs(ModelInput::Unconditional);
        // lm-evaluation-harness >= 0.4.9 (task.py): the unconditional request is ("", target_delimiter + choice). Keyed
        // by that continuation: the same for every item, each scored alone so that its value does not depend on which
        // block needed it first.
        std::map<std::string, ScoreResult> unconditional;
        for (const Block& block : blocks) {
            if (cancelled()) return;
            if (!block.any_pending()) continue;
            // The whole block, finished items too: its requests batch the same way in every run.
            std::vector<ScoreRequest> reqs;
            for (const SuiteItem* item : block.items)
                for (const auto& c : item->choices) reqs.push_back({item->prompt, s.target_delimiter + c});
            std::vector<ScoreResult> results;
            try {
                results = model.score(reqs, opt.settings.batch_size);
            } catch (const RequestError& e) {  // name the item and the choice, in the suite's file
                std::size_t k = 0, first = 0;
                while (k + 1 < block.items.size() && first + block.items[k]->choices.size() <= e.request) first += block.items[k++]->choices.size();
                throw ReportError(s.path + ": item '" + block.items[k]->id + "', choice " + std::to_string(e.request - first) + ": " + e.problem);
            }
            if (mi) {
                std::vector<ScoreRequest> ureqs;
                for (std::size_t k = 0; k < block.items.size(); ++k)
                    if (block.pending[k])
                        for (const auto& c : block.items[k]->choices)
                            if (unconditional.emplace(s.target_delimiter + c, ScoreResult{}).second) ureqs.push_back({"", s.target_delimiter + c});
                auto ures = model.score(ureqs, 1);
                for (std::size_t k = 0; k < ureqs.size(); ++k) unconditional[ureqs[k].continuation] = ures[k];
            }
            std::size_t q = 0;
            for (std::size_t k = 0; k < block.items.size(); ++k) {
                const SuiteItem& item = *block.items[k];
                if (!block.pending[k]) {
                    q += item.choices.size();
                    continue;
                }
                ItemRecord r = base_record(item);
                std::vector<double> ll;
                std::size_t tokens = 0;
                for (const auto& c : item.choices) {
                    const ScoreResult& res = results[q++];
                    ChoiceScore cs;
                    cs.text = c;
                    cs.logprob = res.logprob;
                    cs.is_greedy = res.is_greedy;
                    cs.tokens = res.tokens.size();
                    r.truncated = r.truncated || res.truncated;
                    tokens += res.tokens.size();
                    ll.push_back(res.logprob);
                    if (mi) cs.unconditional_logprob = unconditional[s.target_delimiter + c].logprob;
                    r.choices.push_back(std::move(cs));
                }
                r.answer = item.answer;
                r.predicted = static_cast<int>(argmax(ll));
                r.target = item.choices[static_cast<std::size_t>(item.answer)];
                r.response = item.choices[static_cast<std::size_t>(r.predicted)];
                r.metrics["confidence"] = metrics::softmax(ll)[static_cast<std::size_t>(r.predicted)];  // the reliability diagram's
                metrics.score(r);
                finished_item(si, sr, std::move(r), tokens);
            }
        }
    }

    // Generations of the lm-eval task being run, by what decides them: the suites of its filter pipelines read the
    // same responses, as lm-eval filters one set of responses per pipeline.
    std::string shared_task{};
    std::map<std::string, GenerationResult> shared{};

    void generation(std::size_t si, const Suite& s, SuiteReport& sr, const std::vector<Block>& blocks) {
        const SuiteMetrics metrics(s, sr);
        // The seed's name: an lm-eval task's, whichever pipeline's suite this is.
        const std::string seed_name = s.lm_eval ? s.lm_eval->task : s.name;
        if (!s.lm_eval || seed_name != shared_task) shared.clear();
        shared_task = s.lm_eval ? seed_name : "";
        // Greedy decoding gives every repeat the same text: it is generated once.
        const int repeats = std::max(1, s.generation.repeats), distinct = s.generation.temperature > 0 ? repeats : 1;
        // A block decodes together (rows finish independently; each keeps its own seed).
        for (const Block& block : blocks) {
            if (cancelled()) return;
            if (!block.any_pending()) continue;
            std::vector<std::string> prompts, keys;
            std::vector<GenerationOptions> options;
            std::vector<std::vector<std::string>> item_keys;
            for (const SuiteItem* item : block.items) {
                item_keys.emplace_back();
                for (int rep = 0; rep < distinct; ++rep) {
                    GenerationOptions g;
                    g.max_new_tokens = s.generation.max_new_tokens;
                    g.temperature = s.generation.temperature;
                    g.top_k = s.generation.top_k;
                    g.top_p = s.generation.top_p;
                    g.stop = s.generation.stop;
                    g.alternatives = 0;
                    // per item (and repeat): order-independent
                    g.seed = metrics::stable_hash(seed_name + "/" + item->id + (rep ? "#" + std::to_string(rep) : ""), opt.settings.seed);
                    json key = {item->prompt, g.max_new_tokens, g.temperature, g.top_k, g.top_p, g.stop, g.seed};
                    item_keys.back().push_back(key.dump(-1, ' ', false, json::error_handler_t::replace));
                    if (s.lm_eval && shared.count(item_keys.back().back())) continue;
                    keys.push_back(item_keys.back().back());
                    prompts.push_back(item->prompt);
                    options.push_back(std::move(g));
                }
            }
            std::map<std::string, GenerationResult> here;
            if (!prompts.empty()) {
                auto generated = model.generate_batch(prompts, options);
                for (std::size_t k = 0; k < keys.size(); ++k) here[keys[k]] = std::move(generated[k]);
            }
            for (std::size_t k = 0; k < block.items.size(); ++k) {
                std::vector<const GenerationResult*> gens;
                for (const auto& key : item_keys[k]) gens.push_back(here.count(key) ? &here.at(key) : &shared.at(key));
                while (static_cast<int>(gens.size()) < repeats) gens.push_back(gens.front());
                if (block.pending[k]) finish_generated(si, s, sr, *block.items[k], gens, metrics);
            }
            if (s.lm_eval)
                for (auto& [key, g] : here) shared[key] = std::move(g);
        }
    }

    void finish_generated(std::size_t si, const Suite& s, SuiteReport& sr, const SuiteItem& item, const std::vector<const GenerationResult*>& gens,
                          const SuiteMetrics& metrics) {
        const GenerationResult& gen = *gens.front();
        ItemRecord r = base_record(item);
        r.references = item.references;
        r.target = item.references.front();
        r.response = gen.text;
        std::vector<std::string> texts;
        for (const GenerationResult* g : gens) texts.push_back(g->text);
        if (texts.size() > 1) r.samples = texts;
        if (!s.response_filters.empty() || texts.size() > 1) {  // lm-eval's filter_list: the metrics read the filtered text
            if (texts.size() == 1) r.unfiltered = gen.text;
            try {
                r.response = datasets::apply_response_filters(s, texts);
            } catch (const datasets::SuiteError& e) {
                throw ReportError(s.path + ": item '" + item.id + "': " + e.what());
            }
        }
        r.stop_reason = gen.stop_reason;
        r.truncated = std::any_of(gens.begin(), gens.end(), [](const GenerationResult* g) { return g->truncated; });
        std::size_t tokens = 0;
        for (std::size_t k = 0; k < gens.size(); ++k)
            if (k == 0 || gens[k] != gens[k - 1]) tokens += gens[k]->tokens.size();
        try {  // a failure of the judge (scoring) model names it: the generating model is not at fault
            if (metrics.needs(ModelInput::ResponseScore) && !r.response.empty()) {
                // Fluency: the response as a continuation of the prompt, under the scoring model.
                auto sc = scorer.score({{item.prompt, r.response}}, 1).front();
                r.logprob = sc.logprob;
                r.tokens = sc.tokens.size();
                r.token_logprobs = sc.token_logprobs;
                tokens += r.tokens;
            }
            const bool to_prompt = metrics.needs(ModelInput::PromptRelevance), to_reference = metrics.needs(ModelInput::ReferenceRelevance);
            if (to_prompt || to_reference) {
                std::vector<float> resp;
                if (!r.response.empty()) resp = scorer.pooled_hidden_state(r.response);
                for (const MetricInfo* m : metrics.list) {
                    if (m->needs != ModelInput::PromptRelevance && m->needs != ModelInput::ReferenceRelevance) continue;
                    const std::string& other = m->needs == ModelInput::PromptRelevance ? item.prompt : r.target;
                    r.metrics[m->name] = resp.empty() ? 0.0 : metrics::cosine(resp, scorer.pooled_hidden_state(other));
                }
            }
        } catch (const ModelError& e) {
            if (&scorer == &model) throw;
            throw ModelError("judge model " + scorer.info().path + ": " + e.what());
        }
        metrics.score(r);
        finished_item(si, sr, std::move(r), tokens);
    }

    void perplexity(std::size_t si, const Suite& s, SuiteReport& sr, const std::vector<Block>& blocks) {
        const SuiteMetrics metrics(s, sr);
        for (const Block& block : blocks)
        for (std::size_t k = 0; k < block.items.size(); ++k) {
            if (cancelled()) return;
            if (!block.pending[k]) continue;  // a text scores alone: nothing else in the block changes it
            const SuiteItem* ip = block.items[k];
            ItemRecord r = base_record(*ip);
            r.prompt = ip->text;
            auto rolled = model.rolling_loglikelihood(ip->text);
            r.logprob = rolled.logprob;
            r.tokens = rolled.tokens;
            r.token_logprobs = rolled.token_logprobs;
            r.words = split_count(ip->text);
            r.bytes = ip->text.size();
            metrics.score(r);
            std::size_t tokens = r.tokens;
            finished_item(si, sr, std::move(r), tokens);
        }
    }
};

json run_key(const Report& r) {
    auto identity = [](const ModelIdentity& m) {
        json j = m;
        j.erase("path");  // a moved folder is the same model
        return j;
    };
    json suites = json::array();
    for (const auto& s : r.suites) suites.push_back({{"name", s.name}, {"sha256", s.sha256}, {"metrics", s.metrics}});
    return {{"model", identity(r.model)}, {"judge", r.judge ? identity(*r.judge) : json(nullptr)}, {"settings", r.settings},
            {"suites", suites}};
}

}  // namespace

namespace {

// Hashing a multi-gigabyte checkpoint takes seconds per run: each file's SHA-256 is kept in the user's cache folder
// ($XDG_CACHE_HOME/lmwb, else ~/.cache/lmwb), keyed by its absolute path, size and modification time, so it is
// computed once per version of the file. The cache is an optimisation only: unreadable or unwritable, it is ignored.
fs::path hash_cache_file() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    if (xdg && *xdg) return fs::path(xdg) / "lmwb" / "sha256.json";
    return home && *home ? fs::path(home) / ".cache" / "lmwb" / "sha256.json" : fs::path();
}

std::string cached_file_sha256(const std::string& path, const std::function<void(std::uint64_t)>& after_chunk) {
    std::error_code ec;
    const fs::path file = fs::absolute(path, ec);
    const auto size = fs::file_size(file, ec);
    const auto mtime = fs::last_write_time(file, ec).time_since_epoch().count();
    const fs::path cache = hash_cache_file();
    if (ec || cache.empty()) return datasets::file_sha256(path, after_chunk);
    json entries = json::object();
    if (std::ifstream in(cache); in) {
        entries = json::parse(in, nullptr, false);
        if (!entries.is_object()) entries = json::object();
    }
    const std::string key = file.string();
    if (entries.contains(key)) {
        const json& e = entries[key];
        if (e.value("size", std::uintmax_t{0}) == size && e.value("mtime", std::int64_t{0}) == static_cast<std::int64_t>(mtime) &&
            e.value("sha256", std::string()).size() == 64)
            return e["sha256"].get<std::string>();
    }
    const std::string sha = datasets::file_sha256(path, after_chunk);
    try {
        fs::create_directories(cache.parent_path());
        // Runs in parallel (shards on one machine) each add their files: read, add and replace under a lock, so that
        // none drops another's entries.
        struct Lock {
            int fd;
            ~Lock() {
                if (fd >= 0) ::close(fd);  // releases the lock
            }
        } lock{::open((cache.string() + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)};
        if (lock.fd >= 0 && ::flock(lock.fd, LOCK_EX) == 0) {
            entries = json::object();
            if (std::ifstream in(cache); in) {
                entries = json::parse(in, nullptr, false);
                if (!entries.is_object()) entries = json::object();
            }
        }
        entries[key] = {{"size", size}, {"mtime", static_cast<std::int64_t>(mtime)}, {"sha256", sha}};
        write_file_atomic(cache.string(), entries.dump(1));
    } catch (const std::exception&) {
        // a read-only home: hash again next time
    }
    return sha;
}

}  // namespace

ModelIdentity identify(const LanguageModel& model, const Control& control) {
    const auto& info = model.info();
    ModelIdentity id;
    id.path = info.path;
    id.format = info.format;
    id.architecture = info.architecture;
    id.compute_dtype = info.compute_dtype;
    id.parameters = info.parameters;
    id.repository = info.repository;
    id.revision = info.revision;
    std::uint64_t total = 0, before = 0;
    for (const auto& f : info.weight_files) {
        std::error_code ec;
        total += fs::file_size(f, ec);
    }
    control.check();
    control.report(0, total, "bytes", "weights");
    const auto hash = [&](const std::string& file) {
        const auto after_chunk = [&](std::uint64_t done) {
            control.check();
            control.report(static_cast<std::size_t>(before + done), total, "bytes", "weights");
        };
        std::string sha = cached_file_sha256(file, after_chunk);
        std::error_code ec;
        before += fs::file_size(file, ec);
        control.report(static_cast<std::size_t>(before), total, "bytes", "weights");
        return sha;
    };
    try {
        if (info.weight_files.size() == 1) {
            id.weights_sha256 = hash(info.weight_files.front());
        } else {
            std::string all;
            for (const auto& f : info.weight_files) all += hash(f) + "\n";
            id.weights_sha256 = datasets::sha256_hex(all);
        }
        if (!info.tokenizer_file.empty() && fs::exists(info.tokenizer_file)) id.tokenizer_sha256 = datasets::file_sha256(info.tokenizer_file);
    } catch (const datasets::SuiteError& e) {
        throw ReportError(e.what());
    }
    return id;
}

EvalOutcome evaluate(const LanguageModel& model, const LanguageModel* judge, const std::vector<Suite>& given, const EvalOptions& opt) {
    if (opt.settings.bootstrap_iterations < 0 || opt.settings.bootstrap_iterations > kMaxResamples)
        throw ReportError("bootstrap iterations " + std::to_string(opt.settings.bootstrap_iterations) + ": expected 0 (no intervals) to " +
                          std::to_string(kMaxResamples));
    if (opt.settings.batch_size < 1 || opt.settings.batch_size > kMaxBatchSize)
        throw ReportError("batch size " + std::to_string(opt.settings.batch_size) + ": expected 1 to " + std::to_string(kMaxBatchSize));
    if (opt.settings.shard_count < 1 || opt.settings.shard_index < 1 || opt.settings.shard_index > opt.settings.shard_count)
        throw ReportError("shard " + std::to_string(opt.settings.shard_index) + "/" + std::to_string(opt.settings.shard_count) +
                          " does not exist: use K/N with 1 <= K <= N");
    EvalOutcome out;
    Report& rep = out.report;
    rep.software_version = opt.software_version;
    rep.execution.started = utc_now();  // hashing the weights is part of the run
    Control hashing;
    hashing.cancel = opt.cancel;
    if (opt.model_identity && opt.model_identity->path == model.info().path) rep.model = *opt.model_identity;
    else rep.model = identify(model, hashing);
    if (judge) rep.judge = identify(*judge, hashing);
    rep.settings = opt.settings;
    rep.execution.threads = opt.threads;

    std::vector<Suite> chat_suites;  // the suites with prompts through the chat template, when a suite uses it
    std::vector<std::vector<const SuiteItem*>> selected(given.size());
    for (std::size_t si = 0; si < given.size(); ++si) {
        const Suite& s = given[si];
        SuiteReport sr;
        sr.name = s.name;
        sr.version = s.version;
        sr.kind = datasets::to_string(s.kind);
        sr.sha256 = s.sha256;
        sr.path = s.path;
        sr.suite_items = s.items.size();
        sr.metrics = resolve_metrics(s);
        sr.ascii_words = s.ascii_words;
        sr.rouge_stemmer = s.rouge_stemmer;
        sr.bleu_tokenizer = s.bleu_tokenizer;
        sr.slice_fields = s.slices;
        sr.rubric = s.rubric;
        sr.lm_eval = s.lm_eval;
        rep.suites.push_back(std::move(sr));
    }
    if (opt.settings.apply_chat_template || opt.settings.fewshot_as_multiturn || !opt.settings.system_instruction.empty() ||
        std::any_of(given.begin(), given.end(), [](const Suite& s) { return s.chat; })) {
        chat_suites = given;
        if (!apply_chat_templates(model, chat_suites, rep.settings, rep.suites)) chat_suites.clear();
    }
    const std::vector<Suite>& suites = chat_suites.empty() ? given : chat_suites;
    for (std::size_t si = 0; si < suites.size(); ++si)
        for (std::size_t i = 0; i < suites[si].items.size(); ++i) {
            if (opt.settings.limit && i >= opt.settings.limit) break;
            if (shard_of(i, opt.settings) == opt.settings.shard_index) selected[si].push_back(&suites[si].items[i]);
        }
    for (std::size_t a = 0; a < suites.size(); ++a)
        for (std::size_t b = a + 1; b < suites.size(); ++b)
            if (suites[a].name == suites[b].name) throw ReportError("suite '" + suites[a].name + "' is given twice");

    Runner run{model, judge ? *judge : model, opt, {}, {}};
    json key = run_key(rep);
    std::map<std::pair<std::size_t, std::size_t>, ItemRecord> done;
    if (!opt.journal_path.empty()) {
        if (opt.resume) {
            done = read_journal(opt.journal_path, key);
            run.journal.reopen(opt.journal_path);
            rep.execution.resumed = true;
        } else if (fs::exists(opt.journal_path)) {
            throw ReportError(opt.journal_path + ": a journal of an unfinished run is here; continue it with --resume, or "
                              "delete it to start over");
        }
    } else if (opt.resume) {
        throw ReportError("--resume needs a journal");
    }
    {
        std::vector<std::vector<const SuiteItem*>> to_do(suites.size());
        for (std::size_t si = 0; si < suites.size(); ++si)
            for (const SuiteItem* it : selected[si])
                if (!done.count({si, it->index})) to_do[si].push_back(it);
        check_run_memory(model, judge ? *judge : model, suites, to_do, opt.settings);
    }
    if (!opt.journal_path.empty() && !opt.resume) run.journal.create(opt.journal_path, key);
    for (auto& v : selected) run.progress.items_total += v.size();
    for (std::size_t si = 0; si < suites.size(); ++si) {
        std::vector<const SuiteItem*> pending;
        for (const SuiteItem* it : selected[si]) {
            auto f = done.find({si, it->index});
            if (f == done.end()) {
                pending.push_back(it);
            } else {
                if (f->second.content_hash != it->content_hash || f->second.id != it->id)
                    throw ReportError(opt.journal_path + ": item '" + it->id + "' of suite '" + suites[si].name + "' differs from the journal's");
                rep.suites[si].items.push_back(f->second);
                ++out.resumed_items;
            }
        }
        run.progress.items_done += rep.suites[si].items.size();
    }
    run.progress.suites = suites.size();
    bool stopped = false;  // a pass saw the cancel token; the items finished before it stay (journal and report)
    try {
        CancelScope cancel_scope(opt.cancel);
        for (std::size_t si = 0; si < suites.size() && !run.cancelled(); ++si) {
            std::vector<Runner::Block> blocks;
            std::size_t pending = 0;
            const auto block_size = static_cast<std::size_t>(opt.settings.batch_size);
            for (const SuiteItem* it : selected[si]) {
                if (blocks.empty() || blocks.back().items.front()->index / block_size != it->index / block_size) blocks.emplace_back();
                blocks.back().items.push_back(it);
                blocks.back().pending.push_back(!done.count({si, it->index}));
                pending += blocks.back().pending.back();
            }
            run.begin_suite(si, suites[si].name, pending);
            switch (suites[si].kind) {
            case TaskKind::MultipleChoice: run.multiple_choice(si, suites[si], rep.suites[si], blocks); break;
            case TaskKind::Generation: run.generation(si, suites[si], rep.suites[si], blocks); break;
            case TaskKind::Perplexity: run.perplexity(si, suites[si], rep.suites[si], blocks); break;
            }
        }
    } catch (const Cancelled&) {
        stopped = true;
    } catch (...) {
        // A run that fails before it finished any item leaves no journal of its own behind: it would only block the
        // corrected re-run ("a journal of an unfinished run is here").
        if (run.journal.fresh_and_empty()) {
            run.journal.close();
            std::error_code ec;
            fs::remove(opt.journal_path, ec);
        }
        throw;
    }
    std::size_t items = 0;
    for (auto& s : rep.suites) items += s.items.size();
    out.complete = items == run.progress.items_total && !run.cancelled() && !stopped;
    if (out.complete) {
        try {  // the bootstraps stop on the token too; the journal holds every item, so a resume only aggregates
            CancelScope cancel_scope(opt.cancel);
            for (auto& s : rep.suites) finalize_suite(s, rep.settings);
        } catch (const Cancelled&) {
            out.complete = false;
        }
    }
    auto& e = rep.execution;
    e.finished = utc_now();
    e.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - run.start).count();
    e.tokens = run.progress.tokens;
    e.tokens_per_second = e.wall_seconds > 0 ? static_cast<double>(e.tokens) / e.wall_seconds : 0;
    e.items_per_second = e.wall_seconds > 0 ? static_cast<double>(items - out.resumed_items) / e.wall_seconds : 0;
    return out;
}

double suite_eta(const Progress& p) {
    if (p.suite_done == 0 || p.suite_elapsed <= 0) return -1;
    return p.suite_elapsed / static_cast<double>(p.suite_done) * static_cast<double>(p.suite_total - std::min(p.suite_total, p.suite_done));
}

}  // namespace lmwb::eval

// The report's fields, declared once: docs/report-schema.md's table is generated from this list (`lmwb formats
// report`), and a test checks that every field a report holds is one of these.
#include "lmwb/report.h"

#include <string>
#include <utility>

namespace lmwb::eval {

const std::vector<ReportField>& report_fields() {
    static const std::vector<ReportField> fields = {
        {"/schema", "string", "`lmwb.report`"},
        {"/schema_version", "integer", "1; a newer version than the reader's is refused"},
        {"/software", "string", "`lmwb`"},
        {"/software_version", "string", "the version that wrote the report"},
        {"/model", "object", "what was evaluated: `path`, `format`, `architecture`, `compute_dtype`, `parameters`"},
        {"/model/path", "string", "the model folder (a cache snapshot for a repository name)"},
        {"/model/format", "string", "`huggingface` or `torchscript`"},
        {"/model/architecture", "string", "config.json's `model_type`"},
        {"/model/compute_dtype", "string", "`float32`, `bfloat16` or `float16`"},
        {"/model/parameters", "integer", "parameter count"},
        {"/model/weights_sha256", "string", "SHA-256 of the weights file (of the list of per-shard digests when sharded)"},
        {"/model/tokenizer_sha256", "string", "SHA-256 of `tokenizer.json`"},
        {"/model/repository", "string", "opened by a Hugging Face repository name: that name"},
        {"/model/revision", "string", "and the revision asked for"},
        {"/judge", "object or null", "the `--judge` model, as `model`; null without one"},
        {"/settings", "object", "what decides the results: a resume or a shard must match them"},
        {"/settings/seed", "integer", "`--seed`: sampling and bootstrap seeds derive from it"},
        {"/settings/limit", "integer", "`--limit` (0: every item)"},
        {"/settings/shard", "object", "`index` of `count` (`--shard K/N`; 1 of 1 unsharded)"},
        {"/settings/shard/index", "integer", "K"},
        {"/settings/shard/count", "integer", "N"},
        {"/settings/bootstrap_iterations", "integer", "resamples behind the intervals (0: none)"},
        {"/settings/batch_size", "integer", "items per block: the unit of scoring, resuming and sharding"},
        {"/settings/chat", "object", "present when prompts went through the model's chat template (lm-evaluation-harness's semantics)"},
        {"/settings/chat/apply_chat_template", "boolean", "`--apply-chat-template`: every multiple-choice and generation suite"},
        {"/settings/chat/fewshot_as_multiturn", "boolean", "`--fewshot-as-multiturn`: few-shot examples as alternating user/assistant turns"},
        {"/settings/chat/system_instruction", "string", "`--system`: the system message (empty: none)"},
        {"/settings/chat/template_sha256", "string", "SHA-256 of the chat template's text (empty: no suite used it)"},
        {"/suites", "list", "one per suite evaluated, in the order given"},
        {"/suites/*/name", "string", "the suite's name"},
        {"/suites/*/version", "string", "its version"},
        {"/suites/*/kind", "string", "`multiple_choice`, `generation` or `perplexity`"},
        {"/suites/*/sha256", "string", "of the definition, items and few-shot files"},
        {"/suites/*/path", "string", "the definition file"},
        {"/suites/*/suite_items", "integer", "items in the suite (the report holds those evaluated)"},
        {"/suites/*/metrics", "list of strings", "the metrics computed"},
        {"/suites/*/rouge_tokenizer", "string", "`ascii` or `unicode`"},
        {"/suites/*/rouge_stemmer", "boolean", "ROUGE's Porter stemmer (absent: false)"},
        {"/suites/*/bleu_tokenizer", "string", "BLEU's tokenizer (absent: `13a`)"},
        {"/suites/*/chat", "boolean", "its prompts went through the chat template (absent: false)"},
        {"/suites/*/lm_eval", "object", "an lm-evaluation-harness task YAML: `task`, `version` (its metadata.version) and `num_fewshot`"},
        {"/suites/*/lm_eval/task", "string", "the task's name"},
        {"/suites/*/lm_eval/version", "string", "its metadata.version"},
        {"/suites/*/lm_eval/num_fewshot", "integer", "few-shot examples per prompt"},
        {"/suites/*/lm_eval/filter", "string", "generate_until: the filter pipeline the metrics read (`none`: lm-eval's default, the first response)"},
        {"/suites/*/slice_fields", "list of strings", "the item fields slices group by"},
        {"/suites/*/rubric", "list", "human rating dimensions: `name`, `scale`, `values`"},
        {"/suites/*/rubric/*/name", "string", "the dimension"},
        {"/suites/*/rubric/*/scale", "string", "`nominal`, `ordinal` or `interval`"},
        {"/suites/*/rubric/*/values", "list of strings", "the values a rater picks from"},
        {"/suites/*/aggregates", "list", "one per metric over the items"},
        {"/suites/*/aggregates/*/metric", "string", "the metric"},
        {"/suites/*/aggregates/*/value", "number or null", "its value (null: undefined on these items)"},
        {"/suites/*/aggregates/*/stderr", "number or null", "standard error (null for one item)"},
        {"/suites/*/aggregates/*/ci95", "list of 2 numbers, or null", "95% interval"},
        {"/suites/*/aggregates/*/method", "string", "how the interval was found: `wilson`, `percentile bootstrap`, `bca bootstrap`"},
        {"/suites/*/aggregates/*/n", "integer", "items with a value"},
        {"/suites/*/aggregates/*/higher_is_better", "boolean", "the metric's direction"},
        {"/suites/*/aggregates/*/signature", "string", "BLEU and chrF: sacreBLEU's reproducibility string"},
        {"/suites/*/reliability", "list", "multiple choice: equal-mass confidence bins behind ECE"},
        {"/suites/*/reliability/*/confidence_low", "number", "the bin's lowest confidence"},
        {"/suites/*/reliability/*/confidence_high", "number", "its highest"},
        {"/suites/*/reliability/*/mean_confidence", "number", "mean confidence of its items"},
        {"/suites/*/reliability/*/accuracy", "number", "their accuracy"},
        {"/suites/*/reliability/*/count", "integer", "items in the bin"},
        {"/suites/*/slices", "list", "per slice field and value: its items' aggregates"},
        {"/suites/*/slices/*/field", "string", "the slice field"},
        {"/suites/*/slices/*/value", "string", "the value"},
        {"/suites/*/slices/*/n", "integer", "items in the slice"},
        {"/suites/*/slices/*/aggregates", "list", "as the suite's `aggregates`, over the slice's items"},
        {"/suites/*/items", "list", "one record per item evaluated"},
        {"/suites/*/items/*/index", "integer", "0-based position in the suite"},
        {"/suites/*/items/*/id", "string", "the item's id"},
        {"/suites/*/items/*/content_hash", "string", "SHA-256 of what was scored: comparisons pair items by id and this"},
        {"/suites/*/items/*/prompt", "string", "the rendered prompt (perplexity: the document)"},
        {"/suites/*/items/*/target", "string", "the gold answer (multiple choice) or first reference"},
        {"/suites/*/items/*/response", "string", "the model's answer: its top choice, or its generation"},
        {"/suites/*/items/*/choices", "list", "multiple choice: each choice scored"},
        {"/suites/*/items/*/choices/*/text", "string", "the choice"},
        {"/suites/*/items/*/choices/*/logprob", "number", "log p(choice | context), natural log"},
        {"/suites/*/items/*/choices/*/unconditional_logprob", "number", "log p(choice | the prefix token), for acc_mutual_info"},
        {"/suites/*/items/*/choices/*/is_greedy", "boolean", "every token of the choice is the argmax"},
        {"/suites/*/items/*/choices/*/tokens", "integer", "the choice's tokens"},
        {"/suites/*/items/*/answer", "integer", "multiple choice: the gold choice's index"},
        {"/suites/*/items/*/predicted", "integer", "the highest-scoring choice's index"},
        {"/suites/*/items/*/references", "list of strings", "generation: the references"},
        {"/suites/*/items/*/stop_reason", "string", "generation: `max_new_tokens`, `eos` or `stop`"},
        {"/suites/*/items/*/unfiltered", "string", "generation under an lm-eval task's filter_list: the text generated, `response` being what the filters left"},
        {"/suites/*/items/*/samples", "list of strings", "generation with an lm-eval task's `repeats`: every text generated, `response` being what the filters left"},
        {"/suites/*/items/*/logprob", "number", "generation: of the response; perplexity: of the document"},
        {"/suites/*/items/*/tokens", "integer", "tokens of the response or document"},
        {"/suites/*/items/*/token_logprobs", "list of numbers", "one per token"},
        {"/suites/*/items/*/words", "integer", "perplexity: the document's words"},
        {"/suites/*/items/*/bytes", "integer", "perplexity: its UTF-8 bytes"},
        {"/suites/*/items/*/truncated", "boolean", "a context was cut on the left to fit the model"},
        {"/suites/*/items/*/metrics", "object", "per-item values by metric name (and `confidence` for multiple choice)"},
        {"/suites/*/items/*/metrics/*", "number or null", "a metric's value for the item (null: undefined for it)"},
        {"/suites/*/items/*/slices", "object", "slice field -> the item's values (a list of strings)"},
        {"/suites/*/items/*/slices/*", "list of strings", "the item's values of a slice field"},
        {"/suites/*/items/*/attribution", "object", "`lmwb eval --explain` only: the `--explain-method` result, as `lmwb explain --json` prints it"},
        {"/execution", "object", "how the run went (not part of what a resume must match)"},
        {"/execution/started", "string", "UTC, ISO 8601"},
        {"/execution/finished", "string", "UTC, ISO 8601"},
        {"/execution/wall_seconds", "number", "seconds from start to end"},
        {"/execution/tokens", "integer", "tokens the model processed"},
        {"/execution/tokens_per_second", "number", "their rate"},
        {"/execution/items_per_second", "number", "items per second"},
        {"/execution/threads", "integer", "compute threads"},
        {"/execution/resumed", "boolean", "the run continued a journal"},
        {"/execution/merged_from", "list of strings", "`lmwb merge`: the shard reports it combined"},
        {"/ratings", "object", "after `lmwb ratings merge`: raters, per-dimension summaries, pairwise win rates (docs/human-evaluation.md)"},
    };
    return fields;
}

std::string report_fields_markdown() {
    std::string out = "| field | type | meaning |\n|---|---|---|\n";
    for (const auto& f : report_fields()) out += "| `" + f.path + "` | " + f.type + " | " + f.meaning + " |\n";
    return out;
}

const ReportField* find_report_field(const std::string& path) {
    // Paths whose fields are another's (a slice's aggregates are the suite's, the judge is a model), and subtrees
    // documented elsewhere (`ratings`, an item's `attribution`), each read as the path that declares them.
    static const std::pair<std::string, std::string> as[] = {{"/suites/*/slices/*/aggregates/*", "/suites/*/aggregates/*"},
                                                             {"/judge/", "/model/"}};
    static const std::string elsewhere[] = {"/ratings", "/suites/*/items/*/attribution"};
    std::string p = path;
    for (const auto& [prefix, declared] : as)
        if (p.rfind(prefix, 0) == 0) p = declared + p.substr(prefix.size());
    for (const auto& subtree : elsewhere)
        if (p.rfind(subtree + "/", 0) == 0) p = subtree;
    for (const auto& f : report_fields())
        if (f.path == p) return &f;
    return nullptr;
}

}  // namespace lmwb::eval

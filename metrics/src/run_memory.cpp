// A run's largest pass, checked before its first item: an evaluation that would be refused (or killed) at its longest
// item hours in is refused at the start instead, naming that item.
#include <algorithm>

#include "run_memory.h"

#include "lmwb/memory_estimate.h"
#include "lmwb/model.h"

namespace lmwb::eval {

using datasets::TaskKind;

namespace {

struct Largest {
    PassShape pass;
    std::size_t bytes = 0;
    std::string what;
    const LanguageModel* model = nullptr;
};

std::int64_t tokens_of(const LanguageModel& m, const std::string& text) {
    // With the special tokens the call adds: a count on the high side of what the engine will feed.
    const auto n = static_cast<std::int64_t>(m.tokenizer().encode(text, true).ids.size());
    return m.info().context_length > 0 ? std::min<std::int64_t>(n, m.info().context_length) : n;
}

void consider(Largest& largest, const LanguageModel& m, const PassShape& pass, const std::string& what) {
    const std::size_t bytes = estimate_activation_bytes(m.info(), pass);
    if (bytes <= largest.bytes) return;
    largest = {pass, bytes, what, &m};
}

}  // namespace

void check_run_memory(const LanguageModel& model, const LanguageModel& scorer, const std::vector<Suite>& suites,
                      const std::vector<std::vector<const SuiteItem*>>& pending, const RunSettings& settings) {
    Largest own, judged;
    const auto block_size = static_cast<std::size_t>(settings.batch_size);
    for (std::size_t si = 0; si < suites.size(); ++si) {
        const Suite& s = suites[si];
        // The items in the evaluator's blocks (consecutive indices / batch size), as the calls will see them.
        for (std::size_t a = 0; a < pending[si].size();) {
            std::size_t b = a;
            while (b < pending[si].size() && pending[si][b]->index / block_size == pending[si][a]->index / block_size) ++b;
            std::int64_t requests = 0, longest = 0;
            const SuiteItem* at = pending[si][a];
            for (std::size_t k = a; k < b; ++k) {
                const SuiteItem& item = *pending[si][k];
                std::int64_t n = 0;
                switch (s.kind) {
                case TaskKind::MultipleChoice:
                    for (const auto& c : item.choices) n = std::max(n, tokens_of(model, item.prompt + s.target_delimiter + c));
                    requests += static_cast<std::int64_t>(item.choices.size());
                    break;
                case TaskKind::Generation: {
                    n = tokens_of(model, item.prompt);
                    requests += s.generation.temperature > 0 ? std::max(1, s.generation.repeats) : 1;  // sampled repeats decode together
                    PassShape judge_pass;  // the response scored after the prompt: at most max_new_tokens more
                    judge_pass.tokens = tokens_of(scorer, item.prompt) + s.generation.max_new_tokens;
                    consider(judged, scorer, judge_pass, "suite '" + s.name + "', item '" + item.id + "': scoring the response");
                    break;
                }
                case TaskKind::Perplexity:
                    n = tokens_of(model, item.text);
                    PassShape window;
                    window.tokens = n;
                    consider(own, model, window, "suite '" + s.name + "', item '" + item.id + "': a window of " + std::to_string(n) + " tokens");
                    break;
                }
                if (n > longest) longest = n, at = &item;
            }
            PassShape pass;
            if (s.kind == TaskKind::MultipleChoice) {
                pass.rows = std::min<std::int64_t>(requests, settings.batch_size);
                pass.tokens = longest;
                consider(own, model, pass, "suite '" + s.name + "', item '" + at->id + "': scoring " + std::to_string(pass.rows) + " × " +
                                               std::to_string(longest) + " tokens at once");
            } else if (s.kind == TaskKind::Generation) {
                pass.rows = requests;
                pass.tokens = longest;
                pass.cached_tokens = longest + s.generation.max_new_tokens;
                consider(own, model, pass, "suite '" + s.name + "', item '" + at->id + "': generating " + std::to_string(requests) +
                                               " rows of up to " + std::to_string(longest) + " prompt tokens");
            }
            a = b;
        }
    }
    for (const Largest* l : {&own, &judged})
        if (l->model)
            l->model->check_memory(l->pass, "this run's largest pass (" + l->what + ")",
                                   "a smaller --batch-size, --limit, fewer --max-new-tokens in the suite, or --dtype auto for a 16-bit "
                                   "checkpoint; nothing was evaluated");
}

}  // namespace lmwb::eval

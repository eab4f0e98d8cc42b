#include "lmwb/side_by_side.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "lmwb/model.h"
#include "utf8.h"

namespace lmwb::attr {

std::vector<AlignedSegment> align_tokens(const std::vector<Token>& a, const std::vector<Token>& b, int length) {
    auto ends = [](const std::vector<Token>& t) {
        std::set<int> e;
        for (const auto& x : t) e.insert(x.end);
        return e;
    };
    const auto ea = ends(a), eb = ends(b);
    std::vector<int> cuts;
    for (int e : ea)
        if (e > 0 && eb.count(e)) cuts.push_back(e);
    if (cuts.empty() || cuts.back() != length) cuts.push_back(length);
    std::vector<AlignedSegment> out;
    int start = 0;
    for (int cut : cuts) {
        if (cut <= start) continue;
        AlignedSegment s;
        s.start = start;
        s.end = cut;
        out.push_back(s);
        start = cut;
    }
    auto place = [&](const std::vector<Token>& tokens, bool first) {
        std::size_t k = 0;
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            while (k + 1 < out.size() && tokens[i].end > out[k].end) ++k;
            (first ? out[k].a_tokens : out[k].b_tokens).push_back(static_cast<int>(i));
        }
    };
    if (out.empty()) return out;
    place(a, true);
    place(b, false);
    return out;
}

namespace {

// Per-token log-probabilities of the continuation's tokens after the prompt's, both tokenized on their own (as
// attribution does), so that the tokens carry their spans.
std::vector<double> token_logprobs(const LanguageModel& m, const std::vector<std::int32_t>& pid, const std::vector<std::int32_t>& cid) {
    auto r = m.score_tokens({TokenScoreRequest{pid, cid}}, 1).front();
    return {r.token_logprobs.begin(), r.token_logprobs.end()};
}

}  // namespace

SideBySide side_by_side(const LanguageModel& a, const LanguageModel& b, std::string_view prompt, std::string_view target,
                        const SideBySideOptions& o) {
    CancelScope cancel_scope(o.control.cancel);
    SideBySide s;
    s.prompt = std::string(prompt);
    const std::size_t steps = o.attribute ? 5 : 3;
    std::size_t done = 0;
    auto step = [&] { o.control.report(++done, steps, "steps", "side by side"); };
    GenerationOptions g;
    g.max_new_tokens = o.max_new_tokens;
    g.stop = o.stop;
    g.alternatives = 0;
    const auto a_generated = a.generate(prompt, g);
    s.a_response = a_generated.text;
    s.b_response = b.generate(prompt, g).text;
    step();
    s.continuation = target.empty() ? s.a_response : std::string(target);
    if (s.continuation.empty()) throw AttributionError("model A's response is empty; give a target to compare");
    std::vector<std::int32_t> pa, pb, ca, cb;
    prompt_tokens(a.tokenizer(), prompt, pa);
    prompt_tokens(b.tokenizer(), prompt, pb);
    if (target.empty() && a_generated.text == [&] {
            std::string joined;
            for (const auto& t : a_generated.tokens) joined += t.text;
            return joined;
        }()) {
        // A's own response: its tokens as A generated them (re-encoding the text may split it otherwise).
        int pos = 0;
        for (const auto& t : a_generated.tokens) {
            const int len = static_cast<int>(to_u32(t.text).size());
            s.a_tokens.push_back(Token{t.id, t.text, pos, pos + len});
            ca.push_back(t.id);
            pos += len;
        }
    } else {
        s.a_tokens = continuation_tokens(a.tokenizer(), prompt, s.continuation, ca);
    }
    s.b_tokens = continuation_tokens(b.tokenizer(), prompt, s.continuation, cb);
    if (ca.empty() || cb.empty()) throw AttributionError("the continuation has no tokens");
    s.same_tokens = pa == pb && ca == cb;
    s.a_logprobs = token_logprobs(a, pa, ca);
    step();
    s.b_logprobs = token_logprobs(b, pb, cb);
    step();
    for (double v : s.a_logprobs) s.a_total += v;
    for (double v : s.b_logprobs) s.b_total += v;
    s.segments = align_tokens(s.a_tokens, s.b_tokens, static_cast<int>(to_u32(s.continuation).size()));
    const auto chars = to_u32(s.continuation);
    for (auto& seg : s.segments) {
        seg.text = to_utf8(std::u32string_view(chars).substr(static_cast<std::size_t>(seg.start), static_cast<std::size_t>(seg.end - seg.start)));
        for (int i : seg.a_tokens) seg.a_logprob += s.a_logprobs[static_cast<std::size_t>(i)];
        for (int i : seg.b_tokens) seg.b_logprob += s.b_logprobs[static_cast<std::size_t>(i)];
    }
    if (o.attribute) {
        Options ao = o.attribution;
        ao.control = o.control;
        ao.control.progress = nullptr;  // this function counts steps
        ao.generated_target = false;
        s.a_attribution = explain(a, prompt, s.continuation, ao);
        step();
        s.b_attribution = explain(b, prompt, s.continuation, ao);
        step();
        s.attributed = true;
    }
    return s;
}

std::string to_json_text(const SideBySide& s, int indent) {
    using nlohmann::json;
    auto tokens = [](const std::vector<Token>& t) {
        json a = json::array();
        for (const auto& x : t) a.push_back({{"id", x.id}, {"text", x.text}, {"start", x.start}, {"end", x.end}});
        return a;
    };
    json segments = json::array();
    for (const auto& g : s.segments)
        segments.push_back({{"text", g.text}, {"start", g.start}, {"end", g.end}, {"a_tokens", g.a_tokens}, {"b_tokens", g.b_tokens},
                            {"a_logprob", g.a_logprob}, {"b_logprob", g.b_logprob}, {"difference", g.b_logprob - g.a_logprob}});
    json j = {{"schema", "lmwb.side_by_side"}, {"schema_version", 1}, {"prompt", s.prompt}, {"continuation", s.continuation},
              {"a", {{"response", s.a_response}, {"tokens", tokens(s.a_tokens)}, {"token_logprobs", s.a_logprobs}, {"logprob", s.a_total}}},
              {"b", {{"response", s.b_response}, {"tokens", tokens(s.b_tokens)}, {"token_logprobs", s.b_logprobs}, {"logprob", s.b_total}}},
              {"same_tokens", s.same_tokens}, {"segments", segments}};
    if (s.attributed) {
        j["a"]["attribution"] = json::parse(to_json_text(s.a_attribution, -1));
        j["b"]["attribution"] = json::parse(to_json_text(s.b_attribution, -1));
    }
    return j.dump(indent, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace lmwb::attr

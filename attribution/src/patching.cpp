#include <algorithm>
#include <cmath>
#include <limits>

#include "lmwb/circuits.h"
#include "lmwb/model.h"
#include "circuit_inputs.h"
#include "pass_size.h"
#include "utf8.h"

namespace lmwb::attr {

const PatchingGrid* PatchingResult::grid(Site site) const {
    for (const auto& g : grids)
        if (g.site == site) return &g;
    return nullptr;
}

namespace {

// Standard deviation of every entry of the token embedding matrix, read a block of tokens at a time.
double embedding_std(const LanguageModel& m) {
    const auto V = static_cast<std::int32_t>(m.info().vocab_size);
    double sum = 0, sq = 0, n = 0;
    constexpr std::int32_t block = 4096;
    for (std::int32_t first = 0; first < V; first += block) {
        std::vector<std::int32_t> ids;
        for (std::int32_t i = first; i < std::min(V, first + block); ++i) ids.push_back(i);
        for (float x : m.embeddings(ids)) sum += x, sq += static_cast<double>(x) * x, n += 1;
    }
    const double mean = sum / n;
    return std::sqrt(std::max(0.0, sq / n - mean * mean));
}

// Standard normal draws from a seeded splitmix64 stream (Box–Muller): the same seed gives the same noise everywhere.
class Gaussian {
public:
    explicit Gaussian(std::uint64_t seed) : state_(seed) {}
    double next() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        auto uniform = [&] { return (static_cast<double>(text::splitmix64(state_) >> 11) + 0.5) / 9007199254740992.0; };
        const double u = uniform(), v = uniform();
        const double r = std::sqrt(-2.0 * std::log(u)), a = 2.0 * M_PI * v;
        spare_ = r * std::sin(a);
        has_spare_ = true;
        return r * std::cos(a);
    }

private:
    std::uint64_t state_;
    double spare_ = 0;
    bool has_spare_ = false;
};

}  // namespace

CircuitInputs circuit_inputs(const LanguageModel& m, std::string_view prompt, std::string_view target, std::string_view foil) {
    CircuitInputs in;
    in.prompt_tokens = prompt_tokens(m.tokenizer(), prompt, in.pid);
    if (in.pid.empty()) throw AttributionError("the prompt has no tokens");
    if (target.empty()) {  // the token the model generates, as generated (its text alone may encode otherwise)
        const Token next = greedy_next_token(m, prompt);
        in.target = next.text;
        in.target_tokens = {next};
        in.tid = {next.id};
    } else {
        in.target = std::string(target);
        in.target_tokens = continuation_tokens(m.tokenizer(), prompt, in.target, in.tid);
    }
    if (in.tid.empty()) throw AttributionError("the target has no tokens");
    if (!foil.empty()) {
        in.foil_tokens = continuation_tokens(m.tokenizer(), prompt, foil, in.fid);
        if (in.fid.empty()) throw AttributionError("--contrast: the foil has no tokens");
        if (in.fid[0] == in.tid[0])
            throw AttributionError("--contrast: the foil starts with the target's first token ('" + in.target_tokens[0].text + "')");
    }
    return in;
}

CorruptedRun corrupted_run(const LanguageModel& m, const PatchingOptions& o, const std::vector<std::int32_t>& seq, int P, PatchingResult& r) {
    CorruptedRun out;
    out.seq = seq;
    const int T = static_cast<int>(seq.size());
    if (!o.corrupted.empty()) {
        std::vector<std::int32_t> cid;
        r.corrupted_prompt = o.corrupted;
        r.corrupted_tokens = prompt_tokens(m.tokenizer(), o.corrupted, cid);
        if (static_cast<int>(cid.size()) != P)
            throw AttributionError("--corrupted has " + std::to_string(cid.size()) + " tokens; it must have the prompt's " + std::to_string(P));
        std::copy(cid.begin(), cid.end(), out.seq.begin());
    } else {
        if (!(o.noise_scale > 0) || !std::isfinite(o.noise_scale)) throw AttributionError("--noise-scale must be a positive number");
        r.noise_positions = o.noise_positions;
        if (r.noise_positions.empty())
            for (int p = 0; p < P; ++p) r.noise_positions.push_back(p);
        for (int p : r.noise_positions)
            if (p < 0 || p >= P)
                throw AttributionError("--noise-positions: position " + std::to_string(p) + " is outside the prompt's " + std::to_string(P) + " tokens");
        r.noise_std = o.noise_scale * embedding_std(m);
        out.noisy = m.embeddings(seq);
        const std::size_t D = out.noisy.size() / static_cast<std::size_t>(T);
        Gaussian g(o.seed);
        for (int p : r.noise_positions)
            for (std::size_t d = 0; d < D; ++d) out.noisy[static_cast<std::size_t>(p) * D + d] += static_cast<float>(r.noise_std * g.next());
    }
    return out;
}

std::vector<MetricTerm> metric_terms(const CircuitInputs& in) {
    const int P = static_cast<int>(in.pid.size());
    std::vector<MetricTerm> terms;
    if (in.fid.empty()) {
        for (std::size_t k = 0; k < in.tid.size(); ++k) terms.push_back({P - 1 + static_cast<int>(k), in.tid[k], 1.0, false});
    } else {
        terms = {{P - 1, in.tid[0], 1.0, true}, {P - 1, in.fid[0], -1.0, true}};
    }
    return terms;
}

PatchingResult activation_patching(const LanguageModel& m, std::string_view prompt, std::string_view target, const PatchingOptions& o) {
    CancelScope cancel_scope(o.control.cancel);
    PatchingResult r;
    r.prompt = std::string(prompt);
    CircuitInputs in = circuit_inputs(m, prompt, target, o.contrast);
    r.target = in.target;
    r.contrast = o.contrast;
    r.metric = o.contrast.empty() ? "logprob" : "logit_diff";
    r.target_tokens = in.target_tokens;
    r.contrast_tokens = in.foil_tokens;
    const auto &pid = in.pid, &tid = in.tid, &fid = in.fid;
    if (o.batch_size < 0) throw AttributionError("--batch-size must be 0 (as many runs as fit in memory) or more");
    const int P = static_cast<int>(pid.size());
    std::vector<std::int32_t> seq = pid;
    seq.insert(seq.end(), tid.begin(), tid.end() - 1);
    const int T = static_cast<int>(seq.size());
    r.tokens = in.prompt_tokens;
    for (std::size_t k = 0; k + 1 < tid.size(); ++k) {
        Token t = r.target_tokens[k];
        t.start = t.end = -1;  // target tokens: offsets into the target, not the prompt
        r.tokens.push_back(t);
    }

    const CorruptedRun corrupted = corrupted_run(m, o, seq, P, r);
    const std::vector<float>* input = corrupted.input();
    const std::vector<std::int32_t>& corrupted_seq = corrupted.seq;

    r.positions = o.positions;
    if (r.positions.empty())
        for (int p = 0; p < T; ++p) r.positions.push_back(p);
    for (int p : r.positions)
        if (p < 0 || p >= T) throw AttributionError("--positions: position " + std::to_string(p) + " is outside the run's " + std::to_string(T) + " tokens");
    if (o.sites.empty()) throw AttributionError("--sites: no site to patch");

    std::vector<std::pair<int, std::int32_t>> at;
    if (fid.empty()) {
        for (std::size_t k = 0; k < tid.size(); ++k) at.emplace_back(P - 1 + static_cast<int>(k), tid[k]);
    } else {
        at = {{P - 1, tid[0]}, {P - 1, fid[0]}};
    }
    auto metric = [&](const TokenReadout& x) {
        if (!fid.empty()) return static_cast<double>(x.logits[0]) - x.logits[1];
        double s = 0;
        for (float v : x.log_probs) s += v;
        return s;
    };

    // The clean run's components; its output is the corrupted run with the whole last residual stream restored, and
    // the corrupted run's output a run with no patch: both come with the patched runs, from one unpatched pass.
    std::vector<Site> recorded = o.sites;
    if (std::find(recorded.begin(), recorded.end(), Site::Residual) == recorded.end()) recorded.push_back(Site::Residual);
    Activations clean = record_activations(m, seq, recorded);
    r.layers = clean.layers;
    r.heads = clean.heads;
    std::vector<std::vector<Patch>> runs = {{Patch{Site::Residual, r.layers - 1, -1, -1}}, {}};
    for (Site s : o.sites) {
        PatchingGrid g;
        g.site = s;
        g.rows = r.layers;
        g.columns = s == Site::Heads ? r.heads : static_cast<int>(r.positions.size());
        for (int l = 0; l < g.rows; ++l)
            for (int c = 0; c < g.columns; ++c)
                runs.push_back({s == Site::Heads ? Patch{s, l, -1, c} : Patch{s, l, r.positions[static_cast<std::size_t>(c)], -1}});
        r.grids.push_back(g);
    }
    // Residual layers below the last stay only where asked for.
    if (std::find(o.sites.begin(), o.sites.end(), Site::Residual) == o.sites.end())
        for (int l = 0; l + 1 < r.layers; ++l) std::vector<float>().swap(clean.residual[static_cast<std::size_t>(l)]);
    // Patched runs per pass: --batch-size, or as many as fit the memory the model may use (at most 64).
    const int batch = static_cast<int>(rows_per_pass(m, o.batch_size, PassShape{1, T}, 64));
    auto readouts = patched_readouts(m, corrupted_seq, input, clean, runs, at, batch, o.control);
    r.runs = runs.size();
    r.clean = metric(readouts[0]);
    r.corrupted = metric(readouts[1]);
    const double span = r.clean - r.corrupted;
    std::size_t k = 2;
    for (auto& g : r.grids)
        for (int i = 0; i < g.rows * g.columns; ++i) {
            const double v = metric(readouts[k++]);
            g.metric.push_back(v);
            g.recovered.push_back(span != 0 ? (v - r.corrupted) / span : std::numeric_limits<double>::quiet_NaN());
        }
    return r;
}

}  // namespace lmwb::attr

// Gradients of target log-probabilities with respect to input embeddings: integrated gradients, saliency and
// generated-text attribution read them.
#include <torch/torch.h>

#include "compute_threads.h"
#include "hf_model.h"

namespace lmwb {

std::vector<EmbeddingPoint> HfModel::target_logprob_gradients(const std::vector<std::int32_t>& prompt_ids, const std::vector<std::int32_t>& target_ids, const std::vector<std::vector<float>>& points, bool per_token, std::size_t gradient_points) const {
    return logprob_gradients(prompt_ids, target_ids, points, per_token, static_cast<std::int64_t>(prompt_ids.size()), gradient_points);
}

std::vector<EmbeddingPoint> HfModel::continuation_logprob_gradients(const std::vector<std::int32_t>& prompt_ids, const std::vector<std::int32_t>& continuation_ids, const std::vector<std::vector<float>>& points, bool per_token, std::size_t gradient_points) const {
    return logprob_gradients(prompt_ids, continuation_ids, points, per_token,
                             static_cast<std::int64_t>(prompt_ids.size() + continuation_ids.size()) - 1, gradient_points);
}

// log p(target | prompt) with the first `free` input embeddings replaced by each point, and gradients with respect
// to them: the prompt's (free = P), or every input position's (free = P + Tt - 1).
std::vector<EmbeddingPoint> HfModel::logprob_gradients(const std::vector<std::int32_t>& prompt_ids, const std::vector<std::int32_t>& target_ids, const std::vector<std::vector<float>>& points, bool per_token, std::int64_t free, std::size_t gradient_points) const {
    const ModelThreads threads(threads_);
    const auto P = static_cast<std::int64_t>(prompt_ids.size()), Tt = static_cast<std::int64_t>(target_ids.size());
    const std::int64_t N = static_cast<std::int64_t>(points.size());
    if (P == 0 || Tt == 0) throw ModelError("attribution needs at least one prompt and one target token");
    if (P + Tt > info_.context_length)
        throw ModelError(std::to_string(P + Tt) + " tokens exceed the model's context of " + std::to_string(info_.context_length));
    if (N == 0) return {};
    PassShape pass = pass_of(N, P + Tt);
    pass.gradients = true;
    pass.logit_positions = Tt;
    check_memory(pass, "gradients of " + std::to_string(N) + " points × " + std::to_string(P + Tt) + " tokens",
                 "a smaller --internal-batch (by default it is sized to fit), a shorter prompt, or --dtype auto for a 16-bit checkpoint");
    // Grad mode on whatever the caller's thread had (the weights never require gradients).
    c10::InferenceMode no_inference(false);
    torch::AutoGradMode grad_mode(true);
    std::vector<std::int64_t> all(prompt_ids.begin(), prompt_ids.end());
    all.insert(all.end(), target_ids.begin(), target_ids.end());
    auto ids = ids_tensor(all, 1);
    const auto T = P + Tt;
    torch::Tensor fixed_emb;  // the inputs after the free ones
    {
        torch::NoGradGuard no_grad;
        fixed_emb = net().embed(ids.narrow(1, free, T - free)).to(torch::kFloat32);
    }
    const std::int64_t D = fixed_emb.size(2);
    fixed_emb = fixed_emb.expand({N, T - free, D});
    std::vector<float> flat;
    flat.reserve(static_cast<std::size_t>(N * free * D));
    for (auto& p : points) {
        if (static_cast<std::int64_t>(p.size()) != free * D)
            throw ModelError("an embedding point has " + std::to_string(p.size()) + " values, expected " + std::to_string(free * D));
        flat.insert(flat.end(), p.begin(), p.end());
    }
    auto prompt = torch::from_blob(flat.data(), {N, free, D}, torch::kFloat32).to(device()).clone().set_requires_grad(true);
    auto input = torch::cat({prompt, fixed_emb}, 1);
    auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(device())).expand({N, T});
    auto hidden = net().forward(input, torch::ones({N, T}, torch::kLong).to(device()), pos, nullptr);
    // Position P-1+k predicts target k.
    auto logp = torch::log_softmax(net().logits(hidden.narrow(1, P - 1, Tt)), -1);
    auto tgt = long_tensor(std::vector<std::int64_t>(target_ids.begin(), target_ids.end())).to(device()).view({1, Tt, 1}).expand({N, Tt, 1});
    auto token_lp = logp.gather(2, tgt).squeeze(-1);  // [N, Tt]
    auto value = token_lp.sum(1);                       // [N]
    check_finite(value.detach(), "attributing");
    std::vector<EmbeddingPoint> out(static_cast<std::size_t>(N));
    const std::int64_t G = static_cast<std::int64_t>(std::min<std::size_t>(gradient_points, static_cast<std::size_t>(N)));
    auto tok_vals = token_lp.detach().to(torch::kFloat64).cpu().contiguous();
    if (G > 0 && per_token) {
        // One forward, a backward per target token (the rows of the attribution matrix).
        std::vector<torch::Tensor> grads;
        for (std::int64_t j = 0; j < Tt; ++j)
            grads.push_back(torch::autograd::grad({token_lp.select(1, j).sum()}, {prompt}, {}, j + 1 < Tt)[0].to(torch::kFloat32));
        auto g = torch::stack(grads, 1).cpu().contiguous();  // [N, Tt, free, D]
        check_finite_gradients(g.narrow(0, 0, G));
        const std::int64_t F = free * D;
        for (std::int64_t n = 0; n < G; ++n) {
            auto& o = out[static_cast<std::size_t>(n)];
            const float* p = g.data_ptr<float>() + n * Tt * F;
            o.token_gradients.assign(p, p + Tt * F);
            o.gradient.assign(static_cast<std::size_t>(F), 0.0f);
            for (std::int64_t j = 0; j < Tt; ++j)
                for (std::int64_t k = 0; k < F; ++k) o.gradient[static_cast<std::size_t>(k)] += p[j * F + k];
        }
    } else if (G > 0) {
        value.sum().backward();
        auto grad = prompt.grad().to(torch::kFloat32).cpu().contiguous();
        check_finite_gradients(grad.narrow(0, 0, G));
        for (std::int64_t n = 0; n < G; ++n) {
            const float* g = grad.data_ptr<float>() + n * free * D;
            out[static_cast<std::size_t>(n)].gradient.assign(g, g + free * D);
        }
    }
    for (std::int64_t n = 0; n < N; ++n) {
        auto& o = out[static_cast<std::size_t>(n)];
        const double* tv = tok_vals.data_ptr<double>() + n * Tt;
        o.token_logprobs.assign(tv, tv + Tt);
        o.logprob = 0;
        for (double v : o.token_logprobs) o.logprob += v;
    }
    return out;
}

}  // namespace lmwb

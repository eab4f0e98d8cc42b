// Gradients of a readout metric with respect to the values at hook points: attribution patching's first-order
// estimate and sparse-autoencoder feature attribution read them.
#include <torch/torch.h>

#include <algorithm>
#include <map>

#include "compute_threads.h"
#include "hf_model.h"
#include "hooked_passes.h"

namespace lmwb {

HookGradients HfModel::hook_gradients(const std::vector<std::int32_t>& ids32, const std::vector<float>* input, const std::vector<HookPoint>& points,
                                      const std::vector<Hook>& writes,
                                      const std::vector<MetricTerm>& metric, const Control& control) const {
    const ModelThreads threads(threads_);
    if (!net().runs_hooks())
        throw ModelError("gradients at hook points need the components of every layer, which a TorchScript bundle does not expose");
    auto ids = sequence_ids(ids32, "gradients at hook points");
    const std::int64_t T = ids.size(1);
    const auto layers = static_cast<int>(info_.layers);
    auto check_point = [&](const HookPoint& p) {
        if (p.layer < 0 || p.layer >= layers)
            throw ModelError(p.name() + ": layer " + std::to_string(p.layer) + " is outside the model's " + std::to_string(layers) + " layers");
    };
    for (const auto& p : points) check_point(p);
    for (const auto& h : writes) {
        check_point(h.point);
        if (!h.call) throw ModelError(h.point.name() + ": a hook without a function");
    }
    if (metric.empty()) throw ModelError("gradients at hook points need a metric: at least one (position, token) term");
    for (const auto& m : metric) {
        if (m.position < 0 || m.position >= T)
            throw ModelError("metric position " + std::to_string(m.position) + " is outside the " + std::to_string(T) + " tokens");
        ids_tensor({m.token}, 1);  // checks the id
    }
    PassShape pass = pass_of(1, T);
    pass.gradients = true;
    pass.logit_positions = static_cast<std::int64_t>(metric.size());
    check_memory(pass, "gradients at hook points over " + std::to_string(T) + " tokens", "a shorter prompt");

    c10::InferenceMode no_inference(false);
    torch::AutoGradMode grad_mode(true);
    const CancelScope cancel(control.cancel);
    control.report(0, 1, "passes");
    std::map<HookPoint, std::vector<const Hook*>> writers;
    for (const auto& h : writes) writers[h.point].push_back(&h);
    std::map<HookPoint, torch::Tensor> kept;
    auto wanted = [&](const HookPoint& p) { return std::find(points.begin(), points.end(), p) != points.end(); };
    TensorHooks hooks{[&](const HookPoint& p) { return writers.count(p) > 0 || wanted(p); },
                      [&](const HookPoint& p, torch::Tensor& value) {
                          if (auto w = writers.find(p); w != writers.end()) {
                              auto changed = value.detach().to(torch::kFloat32).contiguous().clone();
                              call_hooks_on_row(w->second, changed, 0, 0);
                              value = changed.to(value.scalar_type());
                          }
                          if (!wanted(p)) return;
                          if (value.requires_grad()) {
                              value.retain_grad();
                          } else {
                              value = value.detach().requires_grad_(true);  // nothing before it has a gradient
                          }
                          kept[p] = value;
                      },
                      {}};
    const auto mask = torch::ones({1, T}, torch::TensorOptions().dtype(torch::kLong).device(device()));
    const auto positions = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(device())).view({1, T});
    torch::Tensor entering;
    {
        torch::NoGradGuard no_grad;
        auto embeddings = net().embed(ids);
        if (input) {
            const std::int64_t D = embeddings.size(2);
            if (static_cast<std::int64_t>(input->size()) != T * D)
                throw ModelError("input embeddings have " + std::to_string(input->size()) + " values, expected " + std::to_string(T * D));
            embeddings = torch::from_blob(const_cast<float*>(input->data()), {1, T, D}, torch::kFloat32).to(device(), embeddings.scalar_type());
        }
        entering = net().input_states(embeddings, positions);
    }
    auto states = net().forward_from(entering, 0, mask, positions, &hooks, nullptr);
    std::vector<std::int64_t> rows, tokens;
    for (const auto& m : metric) rows.push_back(m.position), tokens.push_back(m.token);
    auto logits = net().logits(states.index_select(1, long_tensor(rows).to(device()))).to(torch::kFloat32)[0];  // [R, V]
    auto log_probs = torch::log_softmax(logits, -1);
    const auto token_index = long_tensor(tokens).to(device()).view({-1, 1});
    auto lg = logits.gather(1, token_index).squeeze(1), lp = log_probs.gather(1, token_index).squeeze(1);
    std::vector<double> w_logit(metric.size(), 0.0), w_logp(metric.size(), 0.0);
    for (std::size_t i = 0; i < metric.size(); ++i) (metric[i].logit ? w_logit : w_logp)[i] = metric[i].weight;
    auto value = (lg * torch::tensor(w_logit, torch::kFloat64).to(device(), torch::kFloat32)).sum() +
                 (lp * torch::tensor(w_logp, torch::kFloat64).to(device(), torch::kFloat32)).sum();
    check_finite(value.detach(), "the metric of gradients at hook points");
    value.backward();
    HookGradients out;
    out.metric = value.item<double>();
    for (const auto& p : points) {
        HookGradient g;
        g.point = p;
        auto it = kept.find(p);
        if (it == kept.end()) throw ModelError(p.name() + ": the pass did not compute this point");  // e.g. a pattern this model has not
        auto v = it->second.detach()[0].to(torch::kFloat32).cpu().contiguous();
        g.shape.assign(v.sizes().begin(), v.sizes().end());
        g.value.assign(v.data_ptr<float>(), v.data_ptr<float>() + v.numel());
        auto grad = it->second.grad();
        if (grad.defined()) {
            auto gr = grad[0].to(torch::kFloat32).cpu().contiguous();
            check_finite_gradients(gr);
            g.gradient.assign(gr.data_ptr<float>(), gr.data_ptr<float>() + gr.numel());
        } else {
            g.gradient.assign(g.value.size(), 0.0f);  // the metric does not depend on it (a position after every readout)
        }
        out.points.push_back(std::move(g));
    }
    control.report(1, 1, "passes");
    return out;
}

}  // namespace lmwb

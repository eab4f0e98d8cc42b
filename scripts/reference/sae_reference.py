#!/usr/bin/python3
"""Random-weight sparse autoencoders for the tiny GPT-2 and Llama fixtures, written as SAELens folders (cfg.json +
sae_weights.safetensors) and Gemma Scope params.npz files, with reference values computed here in plain PyTorch from
SAELens's definitions (sae_lens/saes/sae.py, standard_sae.py, jumprelu_sae.py, topk_sae.py; evals.py and the
trainer's explained variance), independently of the C++ engine:

  sae_in  = norm_in(x) - b_dec * apply_b_dec_to_input     (hook_z: [T, heads, head_dim] flattened head-major)
  standard: f = relu(sae_in W_enc + b_enc); jumprelu: f = relu(pre) * (pre > threshold); topk: the k largest of pre
  (times ||W_dec|| rows when rescale_acts_by_decoder_norm), ReLU after choosing, scattered
  x_hat   = norm_out(f W_dec + b_dec)                      (topk with rescaling: f / ||W_dec|| first)
  constant_norm_rescale: x * sqrt(d_in) / ||x|| in, undone out; layer_norm: (x - mean) / (std_{N-1} + 1e-5), undone out
  variance explained = 1 - mean_t ||x - x_hat||^2 / mean_t ||x - mean_t x||^2; mse = that mean over d_in too
  ce = mean over t of -log p(ids[t+1]) with x, with x_hat spliced in at the hook, with zeros there

Attribution (SAEs without normalisation): the sequence is prompt + target[:-1], F = sum_k log p(target_k) at P-1+k
(or with a foil logit(target_0) - logit(foil_0) at P-1); gradient x activation of feature i at t is
f_i(t) * (dF/dx_t . W_dec[i]) (W_dec[i] / ||W_dec[i]|| for a rescaling topk SAE), the error node's (dF/dx_t . (x_t - x_hat_t)); integrated gradients along
x(a) = b_dec + a (x - b_dec) with Gauss-Legendre nodes (numpy's leggauss on [0, 1]). Ablation: x' = x + (v - f_i) W_dec[i]. Steering: greedy generation
with c * W_dec[i] added at the hook at every position, and the steered tokens' log-probabilities without and with it.

Also the "hand" SAE (d_in 2, d_sae 3), whose values the C++ test computes by hand.
Usage: /usr/bin/python3 scripts/reference/sae_reference.py tests/fixtures"""
import json
import math
import os
import shutil
import sys

import numpy
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_reference  # noqa: E402
import safetensors_io  # noqa: E402

PROMPT = [319, 262, 276, 268, 258]  # "the cat sat on the"
TARGET = [301, 13]                  # " mat."
FOIL = [292]                        # " park"
STEPS = 16
D_SAE = 40

# name, model, hook, architecture, extra cfg, how it is stored
SAES = [
    ("gpt2-resid1-standard", "gpt2", "blocks.1.hook_resid_post", "standard", {"apply_b_dec_to_input": True}, "v6"),
    ("gpt2-mlp0-jumprelu", "gpt2", "blocks.0.hook_mlp_out", "jumprelu", {"apply_b_dec_to_input": False}, "v5"),
    ("gpt2-z1-topk", "gpt2", "blocks.1.attn.hook_z", "topk", {"k": 6, "apply_b_dec_to_input": True}, "v6"),
    ("gpt2-resid-pre1-layernorm", "gpt2", "blocks.1.hook_resid_pre", "standard", {"normalize_activations": "layer_norm"}, "v6"),
    ("llama-resid0-constnorm", "llama", "blocks.0.hook_resid_post", "standard", {"normalize_activations": "constant_norm_rescale"}, "v6"),
    ("llama-mlp1-topk-rescale", "llama", "blocks.1.hook_mlp_out", "topk", {"k": 4, "rescale_acts_by_decoder_norm": True}, "v6"),
    ("llama-z0-head1", "llama", "blocks.0.attn.hook_z", "standard", {"hook_head_index": 1}, "v6"),
    ("gpt2-resid1-gemmascope", "gpt2", "blocks.1.hook_resid_post", "jumprelu", {"apply_b_dec_to_input": False}, "npz"),
    ("gpt2-resid1-gemmascope-deflated", "gpt2", "blocks.1.hook_resid_post", "jumprelu", {"apply_b_dec_to_input": False}, "npz-compressed"),
]


def load_model(fixtures, name):
    folder = os.path.join(fixtures, "models", name)
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    w = {k: t.float() for k, t in safetensors_io.load(os.path.join(folder, "model.safetensors")).items()}
    prefix = "transformer." if any(k.startswith("transformer.") for k in w) else ""
    return cfg, w, prefix


def site_of(hook):
    """hf_reference's (site, layer) for a hook name; resid_pre of layer l is resid_post of l - 1."""
    parts = hook.split(".")
    layer = int(parts[1])
    kind = ".".join(parts[2:])
    if kind == "hook_resid_pre":
        assert layer > 0
        return "resid", layer - 1
    return {"hook_resid_post": "resid", "hook_mlp_out": "mlp", "hook_attn_out": "attn", "attn.hook_z": "z"}[kind], layer


class Sae:
    def __init__(self, cfg, w):
        self.cfg, self.w = cfg, w

    def rows(self, value):  # the hook value -> [T, d_in]
        head = self.cfg.get("hook_head_index")
        if value.dim() == 3:
            return value[:, head, :] if head is not None else value.reshape(value.shape[0], -1)
        return value

    def put(self, value, rows):
        head = self.cfg.get("hook_head_index")
        if value.dim() == 3:
            value = value.clone()
            if head is not None:
                value[:, head, :] = rows
                return value
            return rows.reshape(value.shape)
        return rows

    def norm_in(self, x):
        mode = self.cfg.get("normalize_activations", "none")
        if mode == "constant_norm_rescale":
            coeff = math.sqrt(self.cfg["d_in"]) / x.norm(dim=-1, keepdim=True)
            return x * coeff, lambda y: y / coeff
        if mode == "layer_norm":
            mu = x.mean(-1, keepdim=True)
            x = x - mu
            std = x.std(-1, keepdim=True)
            return x / (std + 1e-5), lambda y: y * (std + 1e-5) + mu
        return x, lambda y: y

    def encode(self, x):
        c, w = self.cfg, self.w
        xin, out = self.norm_in(x)
        sae_in = xin - w["b_dec"] * (1.0 if c.get("apply_b_dec_to_input", True) else 0.0)
        pre = sae_in @ w["W_enc"] + w["b_enc"]
        arch = c["architecture"]
        if arch == "jumprelu":
            f = torch.relu(pre) * (pre > w["threshold"]).float()
        elif arch == "topk":
            if c.get("rescale_acts_by_decoder_norm"):
                pre = pre * w["W_dec"].norm(dim=-1)
            values, idx = torch.topk(pre, c["k"], dim=-1, sorted=False)
            f = torch.zeros_like(pre).scatter(-1, idx, torch.relu(values))
        else:
            f = torch.relu(pre)
        return f, out

    def decode(self, f, out):
        c, w = self.cfg, self.w
        if c["architecture"] == "topk" and c.get("rescale_acts_by_decoder_norm"):
            f = f / w["W_dec"].norm(dim=-1)
        return out(f @ w["W_dec"] + w["b_dec"])

    def forward(self, x):
        f, out = self.encode(x)
        return f, self.decode(f, out)


def make_sae(name, model_cfg, hook, arch, extra, gen, acts):
    """Weights scaled to the activations at the hook, so that some features fire and some do not."""
    x = acts
    d_in = x.shape[1]
    W_enc = torch.randn(d_in, D_SAE, generator=gen) / math.sqrt(d_in)
    W_dec = torch.randn(D_SAE, d_in, generator=gen) / math.sqrt(D_SAE)
    scale = float(x.norm(dim=-1).mean()) / math.sqrt(d_in)
    W_dec = W_dec * scale
    W_enc = W_enc / max(scale, 1e-6)
    b_dec = torch.randn(d_in, generator=gen) * 0.1 * scale
    b_enc = -0.3 + 0.2 * torch.randn(D_SAE, generator=gen)
    w = {"W_enc": W_enc, "W_dec": W_dec, "b_enc": b_enc, "b_dec": b_dec}
    if arch == "jumprelu":
        w["threshold"] = 0.05 + 0.3 * torch.rand(D_SAE, generator=gen)
    cfg = {"d_in": d_in, "d_sae": D_SAE, "architecture": arch, "hook_name": hook}
    cfg.update(extra)
    return Sae(cfg, w)


def write_sae(folder, sae, style):
    os.makedirs(folder, exist_ok=True)
    c = sae.cfg
    if style.startswith("npz"):
        arrays = {k: v.numpy() for k, v in sae.w.items()}
        path = os.path.join(folder, "params.npz")
        (numpy.savez_compressed if style == "npz-compressed" else numpy.savez)(path, **arrays)
        return
    if style == "v6":
        cfg = {"d_in": c["d_in"], "d_sae": c["d_sae"], "dtype": "float32", "device": "cpu", "architecture": c["architecture"],
               "apply_b_dec_to_input": c.get("apply_b_dec_to_input", True), "normalize_activations": c.get("normalize_activations", "none"),
               "reshape_activations": "hook_z" if "hook_z" in c["hook_name"] else "none",
               "metadata": {"hook_name": c["hook_name"], "hook_head_index": c.get("hook_head_index"), "sae_lens_version": "6.0.0"}}
        if c["architecture"] == "topk":
            cfg["k"] = c["k"]
            cfg["rescale_acts_by_decoder_norm"] = c.get("rescale_acts_by_decoder_norm", False)
    else:  # before SAELens 6: hook_point, activation_fn_str
        cfg = {"d_in": c["d_in"], "d_sae": c["d_sae"], "dtype": "float32", "hook_point": c["hook_name"], "hook_point_layer": 0,
               "architecture": c["architecture"], "activation_fn_str": "relu", "apply_b_dec_to_input": c.get("apply_b_dec_to_input", True),
               "normalize_activations": False}
    with open(os.path.join(folder, "cfg.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    safetensors_io.save(sae.w, os.path.join(folder, "sae_weights.safetensors"))


def run(model, ids, hook=None):
    cfg, w, prefix = model
    return hf_reference.forward(cfg, w, torch.tensor(ids), prefix=prefix, hook=hook)


def activation(model, ids, site):
    kept = {}

    def keep(s, l, value):
        if (s, l) == site:
            kept["x"] = value.detach().clone()
        return value
    with torch.no_grad():
        run(model, ids, keep)
    return kept["x"]


def replaced(site, make):
    def hook(s, l, value):
        return make(value) if (s, l) == site else value
    return hook


def ce(logits, ids):
    lp = torch.log_softmax(logits.double(), -1)
    return [float(-lp[t, ids[t + 1]]) for t in range(len(ids) - 1)]


def metric(logits, foil):
    p = len(PROMPT)
    if foil:
        return logits[p - 1, TARGET[0]] - logits[p - 1, FOIL[0]]
    lp = torch.log_softmax(logits, -1)
    return sum(lp[p - 1 + k, t] for k, t in enumerate(TARGET))


def features_case(model, sae, site):
    ids = PROMPT + TARGET
    x = sae.rows(activation(model, ids, site))
    f, xh = sae.forward(x)
    with torch.no_grad():
        clean = ce(run(model, ids), ids)
        spliced = ce(run(model, ids, replaced(site, lambda v: sae.put(v, sae.forward(sae.rows(v))[1]))), ids)
        zero = ce(run(model, ids, replaced(site, lambda v: sae.put(v, torch.zeros_like(sae.rows(v))))), ids)
    x64, xh64 = x.double(), xh.double()
    l2 = ((x64 - xh64) ** 2).sum(-1).mean()
    total = ((x64 - x64.mean(0)) ** 2).sum(-1).mean()
    p = len(PROMPT)
    return {"features": f.tolist(), "reconstruction": xh.tolist(), "l0": (f > 0).sum(-1).tolist(),
            "variance_explained": float(1 - l2 / total), "mse": float(l2 / x.shape[1]),
            "ce_clean": sum(clean) / len(clean), "ce_spliced": sum(spliced) / len(spliced), "ce_zero": sum(zero) / len(zero),
            "target_logprob": -sum(clean[p - 1:]), "target_logprob_spliced": -sum(spliced[p - 1:])}


def gradient(model, ids, site, sae, rows, foil):
    leaf = {}

    def put(value):
        r = rows.clone().requires_grad_(True)
        leaf["r"] = r
        return sae.put(value.detach(), r)
    with torch.enable_grad():
        m = metric(run(model, ids, replaced(site, put)), foil)
        m.backward()
    return float(m), leaf["r"].grad.detach()


def attribution_case(model, sae, site, foil):
    ids = PROMPT + TARGET[:-1]
    x = sae.rows(activation(model, ids, site))
    f, xh = sae.forward(x)
    value, g1 = gradient(model, ids, site, sae, x, foil)
    base = sae.w["b_dec"].expand_as(x).clone()
    baseline, _ = gradient(model, ids, site, sae, base, foil)
    nodes, weights = numpy.polynomial.legendre.leggauss(STEPS)
    G = torch.zeros_like(x, dtype=torch.float64)
    for a, wt in zip((nodes + 1) / 2, weights / 2):
        _, g = gradient(model, ids, site, sae, base + float(a) * (x - base), foil)
        G += float(wt) * g.double()
    W = sae.w["W_dec"].double()
    if sae.cfg["architecture"] == "topk" and sae.cfg.get("rescale_acts_by_decoder_norm"):
        W = W / W.norm(dim=-1, keepdim=True)  # the direction f multiplies in decode
    parts = []
    for t in range(x.shape[0]):
        for i in range(D_SAE):
            if f[t, i] > 0:
                parts.append({"position": t, "feature": i, "activation": float(f[t, i]),
                              "gradient_x_activation": float(f[t, i] * (g1[t].double() @ W[i])),
                              "integrated_gradients": float(f[t, i] * (G[t] @ W[i]))})
        e = (x[t] - xh[t]).double()
        parts.append({"position": t, "feature": "error", "gradient_x_activation": float(g1[t].double() @ e),
                      "integrated_gradients": float(G[t] @ e)})
    return {"foil": bool(foil), "value": value, "baseline": baseline, "steps": STEPS, "contributions": parts}


def ablation_case(model, sae, site, feature, value, foil):
    ids = PROMPT + TARGET[:-1]

    def change(v):
        x = sae.rows(v)
        f, out = sae.encode(x)
        xh = sae.decode(f, out)
        g = f.clone()
        g[:, feature] = value
        return sae.put(v, x + sae.decode(g, out) - xh)
    with torch.no_grad():
        original = float(metric(run(model, ids), foil))
        changed = float(metric(run(model, ids, replaced(site, change)), foil))
    return {"feature": feature, "value": value, "foil": bool(foil), "original": original, "changed": changed}


def steering_case(model, sae, site, feature, coefficient, n):
    """Greedy generation from PROMPT with coefficient * W_dec[feature] added at the hook at every position, and the
    steered tokens' log-probabilities without and with the steering."""
    direction = sae.w["W_dec"][feature]

    def add(v):
        return sae.put(v, sae.rows(v) + coefficient * direction)
    hook = replaced(site, add)
    ids = list(PROMPT)
    with torch.no_grad():
        for _ in range(n):
            ids.append(int(torch.argmax(run(model, ids, hook)[-1])))
        steered = ids[len(PROMPT):]
        seq = ids[:-1]
        plain_lp = torch.log_softmax(run(model, seq).double(), -1)
        steer_lp = torch.log_softmax(run(model, seq, hook).double(), -1)
    p = len(PROMPT)
    return {"feature": feature, "coefficient": coefficient, "tokens": steered,
            "logprob_plain": [float(plain_lp[p - 1 + k, t]) for k, t in enumerate(steered)],
            "logprob_steered": [float(steer_lp[p - 1 + k, t]) for k, t in enumerate(steered)]}


def logit_effect(model, sae, hook, feature, k):
    """W_dec[feature] in the residual stream (hook_z: through the attention output projection), times the final
    norm's weight, against every unembedding row: the k largest and smallest."""
    cfg, w, prefix = model
    d = sae.w["W_dec"][feature].double()
    if hook.endswith("attn.hook_z"):
        layer = int(hook.split(".")[1])
        d = d @ w[prefix + "h.%d.attn.c_proj.weight" % layer].double()  # GPT-2's Conv1D: [in, out]
    d = d * w[prefix + "ln_f.weight"].double()
    effect = w[prefix + "wte.weight"].double() @ d
    order = torch.argsort(effect, descending=True)
    top, bottom = order[:k].tolist(), order.flip(0)[:k].tolist()
    return {"feature": feature, "promoted": [[i, float(effect[i])] for i in top], "suppressed": [[i, float(effect[i])] for i in bottom]}


def hand(folder):
    """d_in 2, d_sae 3: values the C++ test works out by hand."""
    w = {"W_enc": torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, -1.0]]), "b_enc": torch.tensor([0.0, -0.5, 0.0]),
         "W_dec": torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]), "b_dec": torch.tensor([0.5, -0.5]),
         "threshold": torch.tensor([0.5, 1.2, 0.0])}
    for arch, extra in (("standard", {}), ("jumprelu", {}), ("topk", {"k": 1})):
        sub = os.path.join(folder, "hand-" + arch)
        cfg = {"d_in": 2, "d_sae": 3, "architecture": arch, "hook_name": "blocks.0.hook_resid_post", "apply_b_dec_to_input": True}
        cfg.update(extra)
        weights = dict(w) if arch == "jumprelu" else {k: v for k, v in w.items() if k != "threshold"}
        write_sae(sub, Sae(cfg, weights), "v6")


def main():
    fixtures = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    out_dir = os.path.join(fixtures, "sae")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(20261208)
    models = {n: load_model(fixtures, n) for n in ("gpt2", "llama")}
    expected = {"prompt": PROMPT, "target": TARGET, "foil": FOIL, "saes": {}}
    for name, model_name, hook, arch, extra, style in SAES:
        model = models[model_name]
        site = site_of(hook)
        probe = Sae({"hook_head_index": extra.get("hook_head_index")}, {})
        acts = probe.rows(activation(model, PROMPT + TARGET, site))
        sae = make_sae(name, model[0], hook, arch, extra, gen, acts)
        write_sae(os.path.join(out_dir, name), sae, style)
        e = {"model": model_name, "hook": hook, "path": name + ("/params.npz" if style.startswith("npz") else ""),
             "features": features_case(model, sae, site)}
        if sae.cfg.get("normalize_activations", "none") == "none":
            e["attribution"] = attribution_case(model, sae, site, False)
            e["attribution_foil"] = attribution_case(model, sae, site, True)
            last = torch.tensor(e["features"]["features"][len(PROMPT) - 1])
            feature = int(torch.argmax(last))
            e["ablation"] = [ablation_case(model, sae, site, feature, 0.0, False), ablation_case(model, sae, site, feature, 5.0, True)]
        else:
            last = torch.tensor(e["features"]["features"][len(PROMPT) - 1])
            e["ablation"] = [ablation_case(model, sae, site, int(torch.argmax(last)), 0.0, False)]
        expected["saes"][name] = e
    for name, feature, coefficient in (("gpt2-resid1-standard", 9, 8.0), ("llama-z0-head1", 3, 5.0)):
        e = expected["saes"][name]
        sae = Sae(json.load(open(os.path.join(out_dir, name, "cfg.json"))), safetensors_io.load(os.path.join(out_dir, name, "sae_weights.safetensors")))
        sae.cfg["hook_head_index"] = sae.cfg.get("metadata", {}).get("hook_head_index")
        e["steering"] = steering_case(models[e["model"]], sae, site_of(e["hook"]), feature, coefficient, 6)
    for name, feature in (("gpt2-resid1-standard", 12), ("gpt2-z1-topk", 4)):
        e = expected["saes"][name]
        sae = Sae({}, safetensors_io.load(os.path.join(out_dir, name, "sae_weights.safetensors")))
        e["logit_effect"] = logit_effect(models["gpt2"], sae, e["hook"], feature, 5)
    hand(out_dir)
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print("wrote", out_dir)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Reference values for activation patching and direct logit attribution on the tiny GPT-2 and Llama fixtures, from
the plain-PyTorch forwards of hf_reference.py (their `hook` argument), written independently of the C++ engine.
Also writes tests/fixtures/models/gpt2-one-head: the GPT-2 fixture with every attention head's output projection
zeroed except layer 1's head 2, so that only that head carries earlier tokens to the last position.

Conventions (docs/interpretability.md): the sequence run is prompt + target[:-1]; the metric is the sum of
log p(target_k) at positions P-1+k, or with a foil logit(target[0]) - logit(foil[0]) at position P-1. Patching
replaces one component of the corrupted run by its value in the clean run. Direct logit attribution at position P-1
maps each component through the final norm with its scale frozen at the clean residual, then onto the unembedding
row of target[0] (minus foil[0]'s).
Usage: /usr/bin/python3 scripts/reference/circuits_reference.py tests/fixtures/models"""
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_reference  # noqa: E402
import safetensors_io  # noqa: E402

CLEAN = [319, 262, 276, 268, 258]    # "the cat sat on the"
CORRUPT = [319, 310, 282, 307, 258]  # "the dog ran in the"
TARGET = [301, 13]                   # " mat."
FOIL = [292]                         # " park"


def load(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    w = {k: t.float() for k, t in safetensors_io.load(os.path.join(folder, "model.safetensors")).items()}
    prefix = "transformer." if any(k.startswith("transformer.") for k in w) else ""
    return cfg, w, prefix


def metric(logits, foil):
    p = len(CLEAN)
    if foil:
        return float(logits[p - 1, TARGET[0]] - logits[p - 1, FOIL[0]])
    lp = torch.log_softmax(logits.double(), -1)
    return float(sum(lp[p - 1 + k, t] for k, t in enumerate(TARGET)))


def run(cfg, w, prefix, ids, hook=None):
    with torch.no_grad():
        return hf_reference.forward(cfg, w, torch.tensor(ids), prefix=prefix, hook=hook)


def record(cfg, w, prefix, ids):
    acts = {}

    def keep(site, layer, value):
        acts[(site, layer)] = value.clone()
        return value
    logits = run(cfg, w, prefix, ids, keep)
    return acts, logits


def patching(cfg, w, prefix, foil):
    seq_clean, seq_corrupt = CLEAN + TARGET[:-1], CORRUPT + TARGET[:-1]
    clean, clean_logits = record(cfg, w, prefix, seq_clean)
    layers = cfg.get("n_layer", cfg.get("num_hidden_layers"))
    heads = cfg.get("n_head", cfg.get("num_attention_heads"))
    out = {"clean": metric(clean_logits, foil), "corrupted": metric(run(cfg, w, prefix, seq_corrupt), foil)}
    for site, name in (("resid", "residual"), ("attn", "attention"), ("mlp", "mlp")):
        grid = []
        for layer in range(layers):
            row = []
            for pos in range(len(seq_clean)):
                def patch(s, l, value, site=site, layer=layer, pos=pos):
                    if s == site and l == layer:
                        value = value.clone()
                        value[pos] = clean[(site, layer)][pos]
                    return value
                row.append(metric(run(cfg, w, prefix, seq_corrupt, patch), foil))
            grid.append(row)
        out[name] = grid
    grid = []
    for layer in range(layers):
        row = []
        for head in range(heads):
            def patch(s, l, value, layer=layer, head=head):  # z [T, H, hd]
                if s == "z" and l == layer:
                    value = value.clone()
                    value[:, head] = clean[("z", layer)][:, head]
                return value
            row.append(metric(run(cfg, w, prefix, seq_corrupt, patch), foil))
        grid.append(row)
    out["heads"] = grid
    return out


def unembedding(cfg, w, prefix):
    if cfg["model_type"] == "gpt2":
        return w[prefix + "wte.weight"]
    return w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else w["lm_head.weight"]


def direct_logit_attribution(cfg, w, prefix, foil):
    seq = CLEAN + TARGET[:-1]
    pos = len(CLEAN) - 1
    acts, logits = record(cfg, w, prefix, seq)
    layers = cfg.get("n_layer", cfg.get("num_hidden_layers"))
    u = unembedding(cfg, w, prefix)
    direction = u[TARGET[0]] - (u[FOIL[0]] if foil else 0)
    resid = acts[("resid", layers - 1)][pos]
    if cfg["model_type"] == "gpt2":
        eps = cfg.get("layer_norm_epsilon", 1e-5)
        weight, bias = w[prefix + "ln_f.weight"], w[prefix + "ln_f.bias"]
        scale = torch.sqrt(resid.var(unbiased=False) + eps)
        frozen = lambda c: (c - c.mean()) / scale * weight
        d = cfg["n_embd"]
        hd = d // cfg["n_head"]
        embed = w[prefix + "wte.weight"][seq[pos]] + w[prefix + "wpe.weight"][pos]
        o_weight = lambda l: w[f"{prefix}h.{l}.attn.c_proj.weight"]  # [H*hd, D]
    else:
        eps = cfg.get("rms_norm_eps", 1e-6)
        weight, bias = w["model.norm.weight"], torch.zeros_like(resid)
        scale = torch.sqrt(resid.pow(2).mean() + eps)
        frozen = lambda c: c / scale * weight
        hd = cfg.get("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
        embed = w["model.embed_tokens.weight"][seq[pos]]
        o_weight = lambda l: w[f"model.layers.{l}.self_attn.o_proj.weight"].T
    dot = lambda c: float(frozen(c) @ direction)
    out = {"embed": dot(embed), "attention": [], "mlp": [], "heads": [], "attention_bias": [],
           "norm_bias": float(bias @ direction)}
    for l in range(layers):
        a = acts[("attn", l)][pos]
        out["attention"].append(dot(a))
        out["mlp"].append(dot(acts[("mlp", l)][pos]))
        z = acts[("z", l)][pos]  # [H, hd]
        per_head = [z[h] @ o_weight(l)[h * hd:(h + 1) * hd] for h in range(z.shape[0])]
        out["heads"].append([dot(c) for c in per_head])
        out["attention_bias"].append(dot(a - sum(per_head)))
    out["total"] = float(logits[pos, TARGET[0]] - (logits[pos, FOIL[0]] if foil else 0))
    return out


def one_head_model(folder, out):
    os.makedirs(out, exist_ok=True)
    for name in ("config.json", "tokenizer.json"):
        shutil.copy(os.path.join(folder, name), os.path.join(out, name))
    w = safetensors_io.load(os.path.join(folder, "model.safetensors"))
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    hd = cfg["n_embd"] // cfg["n_head"]
    for layer in range(cfg["n_layer"]):
        name = f"transformer.h.{layer}.attn.c_proj.weight"  # Conv1D [in = H*hd, out]
        keep = torch.zeros_like(w[name])
        if layer == 1:
            keep[2 * hd:3 * hd] = 1
        w[name] = w[name] * keep
    safetensors_io.save(w, os.path.join(out, "model.safetensors"), {"format": "pt"})


def main():
    root = sys.argv[1]
    one_head_model(os.path.join(root, "gpt2"), os.path.join(root, "gpt2-one-head"))
    result = {"clean": CLEAN, "corrupted": CORRUPT, "target": TARGET, "foil": FOIL, "models": {}}
    for name in ("gpt2", "llama", "gpt2-one-head"):
        cfg, w, prefix = load(os.path.join(root, name))
        entry = {"patching": patching(cfg, w, prefix, False), "patching_foil": patching(cfg, w, prefix, True)}
        if name != "gpt2-one-head":
            entry["dla"] = direct_logit_attribution(cfg, w, prefix, False)
            entry["dla_foil"] = direct_logit_attribution(cfg, w, prefix, True)
        result["models"][name] = entry
        p = entry["patching"]
        print(f"{name}: clean {p['clean']:.4f}, corrupted {p['corrupted']:.4f}")
    with open(os.path.join(root, "circuits_reference.json"), "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Attribution patching on the tiny GPT-2 and Llama fixtures from its definition (Nanda 2023; Syed, Rager & Conmy
2023), with the plain-PyTorch forwards of hf_reference.py and circuits_reference.py's prompts, independently of the
C++ engine: the corrupted run's activations a_corr and dF/da by autograd at every hook of a site, the clean run's a,
and per cell sum((a_clean - a_corr) * dF/da) over a position's entries (heads: over every position of the head's
output), as a recovered fraction of F(clean) - F(corrupted). F as for activation patching (circuits_reference.py).
Usage: /usr/bin/python3 scripts/reference/attribution_patching_reference.py tests/fixtures/models"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import circuits_reference as cr  # noqa: E402


def estimates(cfg, w, prefix, foil):
    seq_clean, seq_corrupt = cr.CLEAN + cr.TARGET[:-1], cr.CORRUPT + cr.TARGET[:-1]
    clean, clean_logits = cr.record(cfg, w, prefix, seq_clean)
    kept = {}

    def grad_hook(site, layer, value):
        value.retain_grad()  # dF/da through everything after it, later hooks included
        kept[(site, layer)] = value
        return value
    # Every activation needs a gradient: through the token embeddings (not a model parameter the metric reads).
    w = dict(w)
    table = prefix + "wte.weight" if cfg["model_type"] == "gpt2" else "model.embed_tokens.weight"
    w[table] = w[table].clone().requires_grad_(True)
    with torch.enable_grad():
        logits = cr.hf_reference.forward(cfg, w, torch.tensor(seq_corrupt), prefix=prefix, hook=grad_hook)
        p = len(cr.CLEAN)
        if foil:
            f = logits[p - 1, cr.TARGET[0]] - logits[p - 1, cr.FOIL[0]]
        else:
            f = sum(torch.log_softmax(logits, -1)[p - 1 + k, t] for k, t in enumerate(cr.TARGET))
        f.backward()
    clean_f, corrupt_f = cr.metric(clean_logits, foil), float(f)
    span = clean_f - corrupt_f
    layers = cfg.get("n_layer", cfg.get("num_hidden_layers"))
    out = {"clean": clean_f, "corrupted": corrupt_f}
    for site, name in (("resid", "residual"), ("attn", "attention"), ("mlp", "mlp"), ("z", "heads")):
        grid = []
        for layer in range(layers):
            a, leaf = clean[(site, layer)], kept[(site, layer)]
            prod = ((a - leaf.detach()).double() * leaf.grad.double())
            if site == "z":  # [T, H, hd]: per head, every position
                grid.append([float(x) / span for x in prod.sum(dim=(0, 2))])
            else:
                grid.append([float(x) / span for x in prod.sum(dim=1)])
        out[name] = grid
    return out


def main():
    root = sys.argv[1]
    result = {"clean": cr.CLEAN, "corrupted": cr.CORRUPT, "target": cr.TARGET, "foil": cr.FOIL, "models": {}}
    for name in ("gpt2", "llama"):
        cfg, w, prefix = cr.load(os.path.join(root, name))
        result["models"][name] = {"logprob": estimates(cfg, w, prefix, False), "logit_diff": estimates(cfg, w, prefix, True)}
    with open(os.path.join(root, "attribution_patching_reference.json"), "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", os.path.join(root, "attribution_patching_reference.json"))


if __name__ == "__main__":
    main()

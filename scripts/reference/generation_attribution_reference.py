#!/usr/bin/python3
"""Reference attributions of generated text on the tiny GPT-2 and Llama fixtures: for every token of a continuation,
the gradient of its log-probability with respect to every input embedding (prompt and the continuation before it),
from the plain-PyTorch forwards of hf_reference.py; grad-x-input and integrated gradients (Gauss-Legendre nodes from
numpy, zero baseline at every input) per (generated token, input token). Written independently of the C++ engine.
Usage: /usr/bin/python3 scripts/reference/generation_attribution_reference.py tests/fixtures/models"""
import json
import os
import sys

import numpy
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_reference  # noqa: E402
from circuits_reference import load  # noqa: E402

PROMPT = [319, 262, 276, 268]   # "the cat sat on"
CONTINUATION = [258, 301, 13]   # " the mat."
STEPS = 8


def rows_at(cfg, w, prefix, embeds):
    """log p of each continuation token and its gradient [N, F, D] with respect to the inputs `embeds` [F, D]."""
    e = embeds.clone().requires_grad_(True)
    last = hf_reference.embedding_table(cfg, w, prefix)[CONTINUATION[-1]][None]
    logits = hf_reference.forward(cfg, w, embeds=torch.cat((e, last)), prefix=prefix)
    lp = torch.log_softmax(logits.double(), -1)
    values, grads = [], []
    for j, tok in enumerate(CONTINUATION):
        v = lp[len(PROMPT) - 1 + j, tok]
        g, = torch.autograd.grad(v, e, retain_graph=True)
        values.append(float(v))
        grads.append(g.double())
    return values, torch.stack(grads)


def main():
    root = sys.argv[1]
    out = {"prompt": PROMPT, "continuation": CONTINUATION, "steps": STEPS, "models": {}}
    nodes, weights = numpy.polynomial.legendre.leggauss(STEPS)
    alphas, weights = (nodes + 1) / 2, weights / 2
    for name in ("gpt2", "llama"):
        cfg, w, prefix = load(os.path.join(root, name))
        table = hf_reference.embedding_table(cfg, w, prefix)
        x = table[torch.tensor(PROMPT + CONTINUATION[:-1])]
        values, grads = rows_at(cfg, w, prefix, x)
        baseline_values, _ = rows_at(cfg, w, prefix, torch.zeros_like(x))
        avg = torch.zeros_like(grads)
        for a, wt in zip(alphas, weights):
            avg += float(wt) * rows_at(cfg, w, prefix, float(a) * x)[1]
        xd = x.double()
        out["models"][name] = {
            "token_logprobs": values, "baseline_logprobs": baseline_values,
            "grad_x_input": (grads * xd).sum(-1).tolist(),   # [N][F]
            "grad_norm": grads.norm(dim=-1).tolist(),
            "ig": (avg * xd).sum(-1).tolist(),
        }
        print(name, values)
    with open(os.path.join(root, "generation_attribution_reference.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()

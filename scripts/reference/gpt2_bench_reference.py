#!/usr/bin/python3
"""The Python side of bench/bench_model: a GPT-2-small-sized checkpoint with random weights, and the way
lm-evaluation-harness scores with it (full logits and log-softmax at every position), timed on the same requests.
  gpt2_bench_reference.py make DIR            write config.json, model.safetensors, tokenizer.json
  gpt2_bench_reference.py score DIR REQS      REQS: JSON {"batches": [[[ctx ids], [cont ids]], ...]}
  gpt2_bench_reference.py rolling DIR IDS     IDS: JSON [ids] scored in windows of the context length
Prints one JSON line with the timings."""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

CFG = {"model_type": "gpt2", "n_embd": 768, "n_layer": 12, "n_head": 12, "n_positions": 1024, "vocab_size": 50257,
       "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new", "bos_token_id": 50256, "eos_token_id": 50256}


def make(folder):
    os.makedirs(folder, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    d, v, n, f = CFG["n_embd"], CFG["vocab_size"], CFG["n_positions"], 4 * CFG["n_embd"]
    r = lambda *s: torch.randn(*s, generator=g) * 0.02
    w = {"wte.weight": r(v, d), "wpe.weight": r(n, d), "ln_f.weight": torch.ones(d), "ln_f.bias": torch.zeros(d)}
    for i in range(CFG["n_layer"]):
        p = f"h.{i}."
        w.update({p + "ln_1.weight": torch.ones(d), p + "ln_1.bias": torch.zeros(d), p + "attn.c_attn.weight": r(d, 3 * d),
                  p + "attn.c_attn.bias": torch.zeros(3 * d), p + "attn.c_proj.weight": r(d, d), p + "attn.c_proj.bias": torch.zeros(d),
                  p + "ln_2.weight": torch.ones(d), p + "ln_2.bias": torch.zeros(d), p + "mlp.c_fc.weight": r(d, f),
                  p + "mlp.c_fc.bias": torch.zeros(f), p + "mlp.c_proj.weight": r(f, d), p + "mlp.c_proj.bias": torch.zeros(d)})
    safetensors_io.save(w, os.path.join(folder, "model.safetensors"), {"format": "pt"})
    with open(os.path.join(folder, "config.json"), "w") as fh:
        json.dump(CFG, fh)
    # A word-level vocabulary "w0" ... "w50256" so that benchmark texts map to chosen ids.
    vocab = {f"w{i}": i for i in range(v)}
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
           "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": None, "decoder": None,
           "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "w0"}}
    with open(os.path.join(folder, "tokenizer.json"), "w") as fh:
        json.dump(tok, fh)


class Gpt2:
    """GPT-2 in batched form with a padding mask, as Hugging Face runs it under lm-eval."""

    def __init__(self, folder):
        self.w = safetensors_io.load(os.path.join(folder, "model.safetensors"))

    def logits(self, ids, mask):
        return self.logits_from_embeddings(self.w["wte.weight"][ids], mask)

    def logits_from_embeddings(self, emb, mask):
        w, c = self.w, CFG
        b, t = emb.shape[:2]
        d, nh = c["n_embd"], c["n_head"]
        hd = d // nh
        h = emb + w["wpe.weight"][torch.arange(t)][None]
        allowed = torch.tril(torch.ones(t, t, dtype=torch.bool))[None, None] & mask[:, None, None, :].bool()
        for i in range(c["n_layer"]):
            p = f"h.{i}."
            x = torch.nn.functional.layer_norm(h, (d,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], 1e-5)
            q, k, v = torch.addmm(w[p + "attn.c_attn.bias"], x.view(b * t, d), w[p + "attn.c_attn.weight"]).view(b, t, 3 * d).split(d, -1)
            q, k, v = (z.view(b, t, nh, hd).transpose(1, 2) for z in (q, k, v))
            s = (q @ k.transpose(-1, -2)) / hd ** 0.5
            a = (torch.softmax(s.masked_fill(~allowed, torch.finfo(s.dtype).min), -1) @ v).transpose(1, 2).reshape(b * t, d)
            h = h + torch.addmm(w[p + "attn.c_proj.bias"], a, w[p + "attn.c_proj.weight"]).view(b, t, d)
            x = torch.nn.functional.layer_norm(h, (d,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], 1e-5)
            f = torch.nn.functional.gelu(torch.addmm(w[p + "mlp.c_fc.bias"], x.view(b * t, d), w[p + "mlp.c_fc.weight"]), approximate="tanh")
            h = h + torch.addmm(w[p + "mlp.c_proj.bias"], f, w[p + "mlp.c_proj.weight"]).view(b, t, d)
        h = torch.nn.functional.layer_norm(h, (d,), w["ln_f.weight"], w["ln_f.bias"], 1e-5)
        return h @ w["wte.weight"].T


def score(folder, reqs_path):
    m = Gpt2(folder)
    batches = json.load(open(reqs_path))["batches"]

    def run(batches):
        tokens, total = 0, 0.0
        with torch.no_grad():
            for batch in batches:
                inps = [(c + x)[:-1] for c, x in batch]
                t = max(len(i) for i in inps)
                ids = torch.zeros(len(inps), t, dtype=torch.long)
                mask = torch.zeros(len(inps), t, dtype=torch.long)
                for r, i in enumerate(inps):
                    ids[r, :len(i)] = torch.tensor(i)
                    mask[r, :len(i)] = 1
                logp = torch.log_softmax(m.logits(ids, mask), dim=-1)  # every position, as lm-eval does
                for r, (c, x) in enumerate(batch):
                    n = len(inps[r])
                    sel = logp[r, n - len(x):n].gather(1, torch.tensor(x)[:, None])
                    total += float(sel.sum())
                tokens += sum(len(i) for i in inps)
        return tokens, total

    run(batches[:1])  # warm-up, as the C++ side does
    start = time.perf_counter()
    tokens, total = run(batches)
    elapsed = time.perf_counter() - start
    print(json.dumps({"tokens": tokens, "seconds": elapsed, "tokens_per_second": tokens / elapsed, "logprob_sum": total}))


def rolling(folder, ids_path):
    m = Gpt2(folder)
    ids = json.load(open(ids_path))
    n = CFG["n_positions"]
    start, total, tokens = time.perf_counter(), 0.0, 0
    with torch.no_grad():
        for b in range(0, len(ids), n):
            window = torch.tensor([ids[b:b + n]])
            logp = torch.log_softmax(m.logits(window, torch.ones_like(window)), -1)
            total += float(logp[0, :-1].gather(1, window[0, 1:, None]).sum())
            tokens += window.shape[1]
    elapsed = time.perf_counter() - start
    print(json.dumps({"tokens": tokens, "seconds": elapsed, "tokens_per_second": tokens / elapsed, "logprob_sum": total}))


def ig(folder, spec_path):
    """Integrated gradients the way Captum's LayerIntegratedGradients runs on a causal LM: Gauss-Legendre nodes,
    internal batches, a forward with logits and log-softmax at every position, one backward per batch."""
    import numpy as np
    m = Gpt2(folder)
    spec = json.load(open(spec_path))
    prompt, target, steps, batch = spec["prompt"], spec["target"], spec["steps"], spec["batch"]
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    alphas = torch.tensor((nodes + 1) / 2, dtype=torch.float32)
    wts = torch.tensor(weights / 2, dtype=torch.float32)
    wte = m.w["wte.weight"]
    P, T = len(prompt), len(target)
    emb = wte[torch.tensor(prompt)]
    base = torch.zeros_like(emb)
    tgt = torch.tensor(target)
    start = time.perf_counter()
    total = torch.zeros_like(emb)
    for s in range(0, steps, batch):
        a = alphas[s:s + batch]
        pts = (base[None] + a[:, None, None] * (emb - base)[None]).requires_grad_(True)
        inp = torch.cat([pts, wte[tgt][None].expand(len(a), T, -1)], 1)
        mask = torch.ones(len(a), P + T, dtype=torch.long)
        logp = torch.log_softmax(m.logits_from_embeddings(inp, mask), -1)  # every position
        val = logp[:, P - 1:P - 1 + T].gather(2, tgt[None, :, None].expand(len(a), T, 1)).sum()
        grad, = torch.autograd.grad(val, pts)
        total += (wts[s:s + batch, None, None] * grad).sum(0)
    attr = ((emb - base) * total).sum(-1)
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, "attributions": attr.tolist()}))


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("LMWB_BENCH_THREADS", "0")) or torch.get_num_threads())
    {"make": lambda: make(sys.argv[2]), "score": lambda: score(sys.argv[2], sys.argv[3]),
     "rolling": lambda: rolling(sys.argv[2], sys.argv[3]), "ig": lambda: ig(sys.argv[2], sys.argv[3])}[sys.argv[1]]()

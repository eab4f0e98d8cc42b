#!/usr/bin/python3
"""Trains the two bundled models (models/tiny-a, models/tiny-b) from scratch on the generated corpus: a byte-level
BPE tokenizer, then two Llama-architecture causal LMs of different size and training length, saved as Hugging Face
checkpoint folders. tiny-b is the stronger one. Needs Debian's python3-torch and a built lmwb (for tokenizing).
Usage: /usr/bin/python3 scripts/bundled/train_tiny_models.py [--lmwb build/cli/lmwb] [--out models]"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import bpe_train  # noqa: E402
import make_corpus  # noqa: E402
import safetensors_io  # noqa: E402

MODELS = {
    # name: architecture, training steps, learning rate
    "tiny-a": (dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                    intermediate_size=176), 250, 3e-3),
    "tiny-b": (dict(hidden_size=128, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                    intermediate_size=352), 900, 2e-3),
}
SEQ, BATCH, CONTEXT = 64, 16, 256


class TinyLlama(torch.nn.Module):
    """Llama in batched form with Hugging Face parameter names (tied embeddings)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
        nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        hd = d // nh
        p = {"model.embed_tokens.weight": torch.randn(v, d) * 0.02, "model.norm.weight": torch.ones(d)}
        for i in range(cfg["num_hidden_layers"]):
            q = f"model.layers.{i}."
            p.update({q + "input_layernorm.weight": torch.ones(d), q + "post_attention_layernorm.weight": torch.ones(d),
                      q + "self_attn.q_proj.weight": torch.randn(nh * hd, d) * 0.02,
                      q + "self_attn.k_proj.weight": torch.randn(nkv * hd, d) * 0.02,
                      q + "self_attn.v_proj.weight": torch.randn(nkv * hd, d) * 0.02,
                      q + "self_attn.o_proj.weight": torch.randn(d, nh * hd) * 0.02 / math.sqrt(2 * cfg["num_hidden_layers"]),
                      q + "mlp.gate_proj.weight": torch.randn(f, d) * 0.02, q + "mlp.up_proj.weight": torch.randn(f, d) * 0.02,
                      q + "mlp.down_proj.weight": torch.randn(d, f) * 0.02 / math.sqrt(2 * cfg["num_hidden_layers"])})
        self.names = sorted(p)
        self.params = torch.nn.ParameterList([torch.nn.Parameter(p[n]) for n in self.names])

    def weights(self):
        return dict(zip(self.names, self.params))

    def forward(self, ids):
        w, c = self.weights(), self.cfg
        b, t = ids.shape
        d, nh, nkv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        hd = d // nh
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2).float() / hd))
        freqs = torch.arange(t).float()[:, None] * inv[None]
        emb = torch.cat((freqs, freqs), -1)
        cos, sin = emb.cos(), emb.sin()
        rot = lambda x: torch.cat((-x[..., hd // 2:], x[..., :hd // 2]), -1)
        norm = lambda x, g: g * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + c["rms_norm_eps"])
        h = w["model.embed_tokens.weight"][ids]
        for i in range(c["num_hidden_layers"]):
            q_ = f"model.layers.{i}."
            x = norm(h, w[q_ + "input_layernorm.weight"])
            q = (x @ w[q_ + "self_attn.q_proj.weight"].T).view(b, t, nh, hd).transpose(1, 2)
            k = (x @ w[q_ + "self_attn.k_proj.weight"].T).view(b, t, nkv, hd).transpose(1, 2)
            v = (x @ w[q_ + "self_attn.v_proj.weight"].T).view(b, t, nkv, hd).transpose(1, 2)
            q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
            k, v = k.repeat_interleave(nh // nkv, 1), v.repeat_interleave(nh // nkv, 1)
            s_ = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
            s_ = s_.masked_fill(~torch.ones(t, t, dtype=torch.bool).tril(), float("-inf"))
            a = torch.softmax(s_, -1) @ v
            h = h + a.transpose(1, 2).reshape(b, t, d) @ w[q_ + "self_attn.o_proj.weight"].T
            x = norm(h, w[q_ + "post_attention_layernorm.weight"])
            h = h + (torch.nn.functional.silu(x @ w[q_ + "mlp.gate_proj.weight"].T) * (x @ w[q_ + "mlp.up_proj.weight"].T)) @ w[q_ + "mlp.down_proj.weight"].T
        return norm(h, w["model.norm.weight"]) @ w["model.embed_tokens.weight"].T


def tokenize(lmwb, tokenizer_path, docs):
    text = "\n".join(json.dumps(d) for d in docs) + "\n"
    out = subprocess.run([lmwb, "tokenize", "--tokenizer", tokenizer_path, "--jsonl"], input=text.encode(),
                         capture_output=True, check=True).stdout.decode().splitlines()
    return [json.loads(line)["ids"] for line in out]


def train(name, arch, steps, lr, stream, vocab, eot, out_dir, tok):
    torch.manual_seed(1234)
    cfg = dict(arch, model_type="llama", vocab_size=vocab, max_position_embeddings=CONTEXT, rms_norm_eps=1e-5,
               rope_theta=10000.0, hidden_act="silu", tie_word_embeddings=True, bos_token_id=eot, eos_token_id=eot,
               torch_dtype="float32", architectures=["LlamaForCausalLM"])
    model = TinyLlama(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.95))
    data = torch.tensor(stream)
    gen = torch.Generator().manual_seed(99)
    start = time.time()
    for step in range(steps):
        for group in opt.param_groups:  # warm-up then cosine decay
            group["lr"] = lr * min(1.0, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * step / steps))
        starts = torch.randint(0, len(data) - SEQ - 1, (BATCH,), generator=gen)
        batch = torch.stack([data[s:s + SEQ + 1] for s in starts])
        logits = model(batch[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), batch[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"{name} step {step:4d} loss {loss.item():.3f} ({time.time() - start:.0f} s)", flush=True)
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    weights = {n: p.detach().clone() for n, p in model.weights().items()}
    safetensors_io.save(weights, os.path.join(folder, "model.safetensors"), {"format": "pt"})
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1, sort_keys=True)
    with open(os.path.join(folder, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": eot, "eos_token_id": eot, "do_sample": False}, f, indent=1)
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        json.dump(tok, f, ensure_ascii=False)
    n = sum(p.numel() for p in weights.values())
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write(f"# {name}\n\nA {n:,}-parameter Llama-architecture causal LM bundled with LM Workbench as a demo and "
                f"test model. Trained from scratch for {steps} steps (batch {BATCH} x {SEQ} tokens, AdamW, lr {lr}) on "
                "a corpus that `scripts/bundled/make_corpus.py` generates from the small made-up world in "
                "`scripts/bundled/world.py` (colors, animal sounds, opposites, capitals, days, small sums, short "
                "stories). No third-party text or weights. Rebuild with `scripts/bundled/train_tiny_models.py`.\n"
                f"\nFinal training loss: {loss.item():.3f}. Licence: as the project.\n")
    print(f"{name}: {n} parameters, saved to {folder}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lmwb", default="build/cli/lmwb")
    p.add_argument("--out", default="models")
    p.add_argument("--only", default="")
    a = p.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    docs = make_corpus.lines(40000, 7)
    corpus = "\n\n".join(docs)
    tok, vocab = bpe_train.byte_level_bpe(corpus, 700)
    eot = vocab - 1
    os.makedirs(a.out, exist_ok=True)
    tok_path = os.path.join(a.out, ".tokenizer.json")
    with open(tok_path, "w") as f:
        json.dump(tok, f, ensure_ascii=False)
    stream = []
    for ids in tokenize(a.lmwb, tok_path, docs):
        stream.extend(ids + [eot])
    os.remove(tok_path)
    print(f"corpus: {len(docs)} documents, {len(stream)} tokens, vocabulary {vocab}")
    for name, (arch, steps, lr) in MODELS.items():
        if not a.only or a.only == name:
            train(name, arch, steps, lr, stream, vocab, eot, a.out, tok)


if __name__ == "__main__":
    main()

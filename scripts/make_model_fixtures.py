#!/usr/bin/python3
"""Writes the tiny random-weight checkpoints the engine tests load (tests/fixtures/models/), each a Hugging Face
folder (config.json, model.safetensors, tokenizer.json) plus expected.json: what the reference
implementation (scripts/reference/hf_reference.py) computes for a fixed token sequence: logits, attentions, a greedy
continuation and the gradient of log p(target | prompt) with respect to the prompt embeddings. Deterministic.
Usage: /usr/bin/python3 scripts/make_model_fixtures.py tests/fixtures/models [NAME ...]"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference"))
import bpe_train  # noqa: E402
import hf_reference  # noqa: E402
import safetensors_io  # noqa: E402

CORPUS = ("the cat sat on the mat. the dog ran in the park. a bird sang on the tree. "
          "numbers like 12 and 345 appear, and words repeat: the the cat cat. ") * 20


def rounded(t):
    return [rounded(x) for x in t] if isinstance(t, torch.Tensor) and t.dim() > 1 else [float(f"{x:.7g}") for x in t.tolist()]


def randn(gen, *shape, scale=0.2):
    return torch.randn(*shape, generator=gen) * scale


def gpt2_weights(cfg, gen, prefix, attn_bias_buffers):
    d, f, v, n = cfg["n_embd"], 4 * cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
    w = {prefix + "wte.weight": randn(gen, v, d), prefix + "wpe.weight": randn(gen, n, d, scale=0.05)}
    for i in range(cfg["n_layer"]):
        p = f"{prefix}h.{i}."
        w.update({p + "ln_1.weight": 1 + randn(gen, d, scale=0.1), p + "ln_1.bias": randn(gen, d, scale=0.1),
                  p + "attn.c_attn.weight": randn(gen, d, 3 * d), p + "attn.c_attn.bias": randn(gen, 3 * d, scale=0.05),
                  p + "attn.c_proj.weight": randn(gen, d, d), p + "attn.c_proj.bias": randn(gen, d, scale=0.05),
                  p + "ln_2.weight": 1 + randn(gen, d, scale=0.1), p + "ln_2.bias": randn(gen, d, scale=0.1),
                  p + "mlp.c_fc.weight": randn(gen, d, f), p + "mlp.c_fc.bias": randn(gen, f, scale=0.05),
                  p + "mlp.c_proj.weight": randn(gen, f, d), p + "mlp.c_proj.bias": randn(gen, d, scale=0.05)})
        if attn_bias_buffers:
            w[p + "attn.bias"] = torch.tril(torch.ones(1, 1, n, n))
    w.update({prefix + "ln_f.weight": 1 + randn(gen, d, scale=0.1), prefix + "ln_f.bias": randn(gen, d, scale=0.1)})
    return w


def llama_weights(cfg, gen):
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim", d // nh)
    bias = cfg["model_type"] == "qwen2"
    w = {"model.embed_tokens.weight": randn(gen, v, d), "model.norm.weight": 1 + randn(gen, d, scale=0.1)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w.update({p + "input_layernorm.weight": 1 + randn(gen, d, scale=0.1),
                  p + "self_attn.q_proj.weight": randn(gen, nh * hd, d), p + "self_attn.k_proj.weight": randn(gen, nkv * hd, d),
                  p + "self_attn.v_proj.weight": randn(gen, nkv * hd, d), p + "self_attn.o_proj.weight": randn(gen, d, nh * hd),
                  p + "post_attention_layernorm.weight": 1 + randn(gen, d, scale=0.1),
                  p + "mlp.gate_proj.weight": randn(gen, f, d), p + "mlp.up_proj.weight": randn(gen, f, d),
                  p + "mlp.down_proj.weight": randn(gen, d, f)})
        if cfg["model_type"] == "qwen3":
            w.update({p + "self_attn.q_norm.weight": 1 + randn(gen, hd, scale=0.1),
                      p + "self_attn.k_norm.weight": 1 + randn(gen, hd, scale=0.1)})
        if bias:
            w.update({p + "self_attn.q_proj.bias": randn(gen, nh * hd, scale=0.1),
                      p + "self_attn.k_proj.bias": randn(gen, nkv * hd, scale=0.1),
                      p + "self_attn.v_proj.bias": randn(gen, nkv * hd, scale=0.1)})
    if not cfg.get("tie_word_embeddings", False):
        w["lm_head.weight"] = randn(gen, v, d)
    return w


def neox_weights(cfg, gen):
    d, f, v, nh = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["num_attention_heads"]
    w = {"gpt_neox.embed_in.weight": randn(gen, v, d), "embed_out.weight": randn(gen, v, d),
         "gpt_neox.final_layer_norm.weight": 1 + randn(gen, d, scale=0.1), "gpt_neox.final_layer_norm.bias": randn(gen, d, scale=0.1)}
    hd = d // nh
    rd = int(hd * cfg["rotary_pct"])
    for i in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        for n in ("input_layernorm", "post_attention_layernorm"):
            w.update({p + n + ".weight": 1 + randn(gen, d, scale=0.1), p + n + ".bias": randn(gen, d, scale=0.1)})
        w.update({p + "attention.query_key_value.weight": randn(gen, 3 * d, d),
                  p + "attention.query_key_value.bias": randn(gen, 3 * d, scale=0.1),
                  p + "attention.dense.weight": randn(gen, d, d), p + "attention.dense.bias": randn(gen, d, scale=0.05),
                  p + "mlp.dense_h_to_4h.weight": randn(gen, f, d), p + "mlp.dense_h_to_4h.bias": randn(gen, f, scale=0.05),
                  p + "mlp.dense_4h_to_h.weight": randn(gen, d, f), p + "mlp.dense_4h_to_h.bias": randn(gen, d, scale=0.05),
                  # buffers real Pythia checkpoints carry, which the engine ignores
                  p + "attention.rotary_emb.inv_freq": 1.0 / (10000 ** (torch.arange(0, rd, 2).float() / rd)),
                  p + "attention.masked_bias": torch.tensor(-1e9)})
    return w


def phi3_weights(cfg, gen):
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = d // nh
    w = {"model.embed_tokens.weight": randn(gen, v, d), "model.norm.weight": 1 + randn(gen, d, scale=0.1),
         "lm_head.weight": randn(gen, v, d)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w.update({p + "input_layernorm.weight": 1 + randn(gen, d, scale=0.1),
                  p + "self_attn.qkv_proj.weight": randn(gen, (nh + 2 * nkv) * hd, d),
                  p + "self_attn.o_proj.weight": randn(gen, d, nh * hd),
                  p + "post_attention_layernorm.weight": 1 + randn(gen, d, scale=0.1),
                  p + "mlp.gate_up_proj.weight": randn(gen, 2 * f, d), p + "mlp.down_proj.weight": randn(gen, d, f)})
    return w


def gemma_weights(cfg, gen):
    """Gemma, Gemma 2 and OLMo 2: Llama's projections with the family's own norms (Gemma's weights near 0: it
    scales by 1 + w)."""
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim", d // nh)
    kind = cfg["model_type"]
    one = 0.0 if kind.startswith("gemma") else 1.0
    norm = lambda n: one + randn(gen, n, scale=0.1)
    w = {"model.embed_tokens.weight": randn(gen, v, d), "model.norm.weight": norm(d)}
    if not cfg.get("tie_word_embeddings", True):
        w["lm_head.weight"] = randn(gen, v, d)
    layer_norms = {"gemma": ["input_layernorm", "post_attention_layernorm"],
                   "gemma2": ["input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm"],
                   "olmo2": ["post_attention_layernorm", "post_feedforward_layernorm"]}[kind]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w.update({p + n + ".weight": norm(d) for n in layer_norms})
        w.update({p + "self_attn.q_proj.weight": randn(gen, nh * hd, d), p + "self_attn.k_proj.weight": randn(gen, nkv * hd, d),
                  p + "self_attn.v_proj.weight": randn(gen, nkv * hd, d), p + "self_attn.o_proj.weight": randn(gen, d, nh * hd),
                  p + "mlp.gate_proj.weight": randn(gen, f, d), p + "mlp.up_proj.weight": randn(gen, f, d),
                  p + "mlp.down_proj.weight": randn(gen, d, f)})
        if kind == "olmo2":
            w.update({p + "self_attn.q_norm.weight": norm(nh * hd), p + "self_attn.k_norm.weight": norm(nkv * hd)})
    return w


WEIGHTS = {"gpt_neox": neox_weights, "phi3": phi3_weights, "gemma": gemma_weights, "gemma2": gemma_weights,
           "olmo2": gemma_weights}


def main():
    out = sys.argv[1]
    tok, vocab = bpe_train.byte_level_bpe(CORPUS, 100)
    eot = vocab - 1
    llama = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "vocab_size": vocab,
             "bos_token_id": eot, "eos_token_id": eot, "hidden_act": "silu"}
    neox = {"model_type": "gpt_neox", "hidden_size": 32, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "max_position_embeddings": 64, "layer_norm_eps": 1e-5, "vocab_size": vocab + 12,
            "rotary_emb_base": 10000, "hidden_act": "gelu", "tie_word_embeddings": False, "bos_token_id": eot, "eos_token_id": eot}
    gpt2 = {"model_type": "gpt2", "n_embd": 32, "n_layer": 2, "n_head": 4, "n_positions": 64, "vocab_size": vocab,
            "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new", "bos_token_id": eot, "eos_token_id": eot}
    cases = [
        ("gpt2", dict(gpt2), "transformer.", True, torch.float32),
        ("gpt2-noprefix-f16", dict(gpt2), "", False, torch.float16),
        ("llama", dict(llama, model_type="llama", rope_theta=10000.0), None, False, torch.float32),
        ("llama3-bf16", dict(llama, model_type="llama", rope_theta=500000.0, tie_word_embeddings=True,
                             rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                           "high_freq_factor": 4.0, "original_max_position_embeddings": 16}),
         None, False, torch.bfloat16),
        ("mistral", dict(llama, model_type="mistral", sliding_window=5, rope_theta=1000000.0), None, False, torch.float32),
        ("qwen2", dict(llama, model_type="qwen2", num_key_value_heads=1, rope_theta=1000000.0), None, False, torch.float32),
        # head_dim 16, not hidden / heads = 8: Qwen3 sets it on its own
        ("qwen3", dict(llama, model_type="qwen3", head_dim=16, tie_word_embeddings=True, rope_theta=1000000.0), None, False,
         torch.float32),
        # Pythia's layout: 8 dims per head, 2 of them rotated; vocabulary padded past the tokenizer's
        ("pythia", dict(neox, use_parallel_residual=True, rotary_pct=0.25), None, False, torch.float32),
        ("neox-sequential", dict(neox, use_parallel_residual=False, rotary_pct=0.5, hidden_act="gelu_new"), None, False,
         torch.float32),
        # LongRoPE with a 16-token original context (the 20-token fixture sequence takes the long factors), half the
        # head rotated, a sliding window of 12
        ("phi3", dict(llama, model_type="phi3", partial_rotary_factor=0.5, original_max_position_embeddings=16,
                      sliding_window=12, rope_scaling={"type": "longrope", "short_factor": [1.0, 1.7],
                                                       "long_factor": [2.5, 6.0]}), None, False, torch.float32),
        # multi-query attention, head_dim 16 independent of hidden / heads
        ("gemma", dict(llama, model_type="gemma", num_key_value_heads=1, head_dim=16, hidden_act="gelu",
                       hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True), None, False, torch.float32),
        # three layers (windowed, full, windowed), soft-caps small enough to bend random-weight scores
        ("gemma2", dict(llama, model_type="gemma2", num_hidden_layers=3, head_dim=16, query_pre_attn_scalar=12,
                        attn_logit_softcapping=2.0, final_logit_softcapping=3.0, sliding_window=5,
                        hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True), None, False, torch.float32),
        ("olmo2", dict(llama, model_type="olmo2", rope_theta=500000.0, tie_word_embeddings=False), None, False, torch.float32),
    ]
    # "the cat sat on" in the fixtures' tokenizer (the test checks that it encodes so)
    prompt = [tok["model"]["vocab"][t] for t in ("the", "\u0120cat", "\u0120sat", "\u0120on")]
    only = set(sys.argv[2:])  # names to (re)write; none: all
    for seed, (name, cfg, prefix, buffers, dtype) in enumerate(cases):
        if only and name not in only:
            continue
        gen = torch.Generator().manual_seed(1000 + seed)
        kind = cfg["model_type"]
        w = gpt2_weights(cfg, gen, prefix, buffers) if kind == "gpt2" else WEIGHTS.get(kind, llama_weights)(cfg, gen)
        stored = {k: (t.to(dtype) if t.is_floating_point() else t) for k, t in w.items()}
        ref_w = {k: t.float() for k, t in stored.items()}
        ids = torch.randint(0, vocab, (20,), generator=gen)
        attentions = []
        lens = [] if hf_reference.FORWARD[kind] in (hf_reference.gpt2_forward, hf_reference.llama_forward) else None
        with torch.no_grad():
            logits = hf_reference.forward(cfg, ref_w, ids, attentions=attentions, prefix=prefix, lens=lens)
            continuation = hf_reference.greedy(cfg, ref_w, prompt, 10, prefix=prefix)
        logprob, grad = hf_reference.target_gradient(cfg, ref_w, ids[:5].tolist(), ids[5:7].tolist(), prefix=prefix)
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        cfg = dict(cfg, torch_dtype={torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}[dtype])
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1, sort_keys=True)
        with open(os.path.join(folder, "tokenizer.json"), "w") as f:
            json.dump(tok, f, ensure_ascii=False)
        safetensors_io.save(stored, os.path.join(folder, "model.safetensors"), {"format": "pt"})
        with open(os.path.join(folder, "expected.json"), "w") as f:
            json.dump({"ids": ids.tolist(), "logits": rounded(logits),
                       "attentions": [rounded(a) for a in attentions],  # [layer][head][query][key]
                       "greedy": {"prompt": prompt, "tokens": continuation},
                       # logit lens: per residual stream (embeddings, then each layer), log p(next token) per position
                       **({"lens": [rounded(torch.log_softmax(z, -1)[torch.arange(len(ids) - 1), ids[1:]]) for z in lens]} if lens else {}),
                       "gradient": {"prompt": ids[:5].tolist(), "target": ids[5:7].tolist(), "logprob": logprob,
                                    "gradient": rounded(grad)}}, f)
        print(f"{name}: {sum(t.numel() for t in stored.values())} parameters, {dtype}")


if __name__ == "__main__":
    main()

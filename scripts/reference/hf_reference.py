"""Reference forward passes of the causal LMs LM Workbench runs, written from the Hugging Face `transformers`
modeling code's definitions (GPT-2, Llama 2/3 with rope scaling, Mistral with sliding window, Qwen2 with q/k/v
biases) in plain PyTorch, for test fixtures and benchmarks. Run with Debian's python3-torch (/usr/bin/python3)."""
import math

import torch


def gpt2_forward(cfg, w, ids, prefix="transformer."):
    """Logits [T, V] for one sequence of ids, float32 throughout."""
    d, nh = cfg["n_embd"], cfg["n_head"]
    hd = d // nh
    t = ids.shape[0]
    g = lambda n: w[prefix + n].float()
    h = g("wte.weight")[ids] + g("wpe.weight")[torch.arange(t)]
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    for i in range(cfg["n_layer"]):
        p = f"h.{i}."
        x = torch.nn.functional.layer_norm(h, (d,), g(p + "ln_1.weight"), g(p + "ln_1.bias"), cfg.get("layer_norm_epsilon", 1e-5))
        qkv = x @ g(p + "attn.c_attn.weight") + g(p + "attn.c_attn.bias")
        q, k, v = qkv.split(d, dim=-1)
        q, k, v = (z.view(t, nh, hd).transpose(0, 1) for z in (q, k, v))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(~causal, torch.finfo(s.dtype).min)
        a = torch.softmax(s, dim=-1) @ v
        a = a.transpose(0, 1).reshape(t, d)
        h = h + a @ g(p + "attn.c_proj.weight") + g(p + "attn.c_proj.bias")
        x = torch.nn.functional.layer_norm(h, (d,), g(p + "ln_2.weight"), g(p + "ln_2.bias"), cfg.get("layer_norm_epsilon", 1e-5))
        f = x @ g(p + "mlp.c_fc.weight") + g(p + "mlp.c_fc.bias")
        f = torch.nn.functional.gelu(f, approximate="tanh")
        h = h + f @ g(p + "mlp.c_proj.weight") + g(p + "mlp.c_proj.bias")
    h = torch.nn.functional.layer_norm(h, (d,), g("ln_f.weight"), g("ln_f.bias"), cfg.get("layer_norm_epsilon", 1e-5))
    head = w["lm_head.weight"].float() if "lm_head.weight" in w and not cfg.get("tie_word_embeddings", True) else g("wte.weight")
    return h @ head.T


def rope_inv_freq(cfg, hd):
    inv = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "linear":
        inv = inv / rs["factor"]
    elif kind == "llama3":
        factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old / low, old / high
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > low_wavelen, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
        inv = torch.where(medium, smoothed, scaled)
    return inv


def rms_norm(x, weight, eps):
    var = x.float().pow(2).mean(-1, keepdim=True)
    return weight * (x.float() * torch.rsqrt(var + eps)).to(x.dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def llama_forward(cfg, w, ids):
    """Llama / Mistral / Qwen2 / Qwen3 logits [T, V] for one sequence, float32."""
    d, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = cfg.get("head_dim", d // nh)
    eps = cfg.get("rms_norm_eps", 1e-6)
    t = ids.shape[0]
    g = lambda n: w[n].float()
    bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    window = cfg.get("sliding_window") if cfg["model_type"] == "mistral" or cfg.get("use_sliding_window") else None
    pos = torch.arange(t)
    freqs = pos[:, None].float() * rope_inv_freq(cfg, hd)[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    allowed = torch.tril(torch.ones(t, t, dtype=torch.bool))
    if window:
        allowed &= (pos[:, None] - pos[None, :]) < window
    h = g("model.embed_tokens.weight")[ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = rms_norm(h, g(p + "input_layernorm.weight"), eps)
        lin = lambda n, z: z @ g(p + n + ".weight").T + (g(p + n + ".bias") if bias and n[-6:] in ("q_proj", "k_proj", "v_proj") else 0)
        q = lin("self_attn.q_proj", x).view(t, nh, hd)
        k = lin("self_attn.k_proj", x).view(t, nkv, hd)
        if cfg["model_type"] == "qwen3":  # Qwen3Attention: q_norm / k_norm over head_dim, before RoPE
            q = rms_norm(q, g(p + "self_attn.q_norm.weight"), eps)
            k = rms_norm(k, g(p + "self_attn.k_norm.weight"), eps)
        q, k = q.transpose(0, 1), k.transpose(0, 1)
        v = lin("self_attn.v_proj", x).view(t, nkv, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=0)
        v = v.repeat_interleave(nh // nkv, dim=0)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(~allowed, torch.finfo(s.dtype).min)
        a = (torch.softmax(s.float(), dim=-1) @ v).transpose(0, 1).reshape(t, nh * hd)
        h = h + a @ g(p + "self_attn.o_proj.weight").T
        x = rms_norm(h, g(p + "post_attention_layernorm.weight"), eps)
        m = torch.nn.functional.silu(x @ g(p + "mlp.gate_proj.weight").T) * (x @ g(p + "mlp.up_proj.weight").T)
        h = h + m @ g(p + "mlp.down_proj.weight").T
    h = rms_norm(h, g("model.norm.weight"), eps)
    head = g("model.embed_tokens.weight") if cfg.get("tie_word_embeddings", False) else g("lm_head.weight")
    return h @ head.T

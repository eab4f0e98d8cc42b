"""Reference forward passes of the causal LMs LM Workbench runs, written from the Hugging Face `transformers`
modeling code's definitions (GPT-2; Llama 2/3 with rope scaling, Mistral with sliding window, Qwen2 with q/k/v biases,
Qwen3; GPT-NeoX / Pythia; Phi-3 with LongRoPE; Gemma and Gemma 2; OLMo 2), each family written out on its own in plain
PyTorch, for test fixtures and benchmarks. Run with Debian's python3-torch (/usr/bin/python3)."""
import math

import torch


def gpt2_forward(cfg, w, ids, prefix="transformer.", embeds=None, attentions=None, lens=None, hook=None):
    """Logits [T, V] for one sequence of ids (or its token embeddings), float32 throughout; each layer's attention
    probabilities [heads, T, T] are appended to `attentions` when given. hook(site, layer, value) may read or replace
    each component: "z" (heads before the output projection, [T, H, hd]), "attn" and "mlp" (what each branch adds to
    the residual stream) and "resid" (the layer's output), [T, D]."""
    hook = hook or (lambda site, layer, value: value)
    d, nh = cfg["n_embd"], cfg["n_head"]
    hd = d // nh
    g = lambda n: w[prefix + n].float()
    if embeds is None:
        embeds = g("wte.weight")[ids]
    t = embeds.shape[0]
    h = embeds + g("wpe.weight")[torch.arange(t)]
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    final = lambda z: torch.nn.functional.layer_norm(z, (d,), g("ln_f.weight"), g("ln_f.bias"), cfg.get("layer_norm_epsilon", 1e-5))
    head = w["lm_head.weight"].float() if "lm_head.weight" in w and not cfg.get("tie_word_embeddings", True) else g("wte.weight")
    if lens is not None:  # the logit lens: every residual stream through the final norm and the head
        lens.append(final(h) @ head.T)
    for i in range(cfg["n_layer"]):
        p = f"h.{i}."
        x = torch.nn.functional.layer_norm(h, (d,), g(p + "ln_1.weight"), g(p + "ln_1.bias"), cfg.get("layer_norm_epsilon", 1e-5))
        qkv = x @ g(p + "attn.c_attn.weight") + g(p + "attn.c_attn.bias")
        q, k, v = qkv.split(d, dim=-1)
        q, k, v = (z.view(t, nh, hd).transpose(0, 1) for z in (q, k, v))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(~causal, torch.finfo(s.dtype).min)
        probs = torch.softmax(s, dim=-1)
        if attentions is not None:
            attentions.append(probs)
        z = hook("z", i, (probs @ v).transpose(0, 1))
        a = z.reshape(t, d)
        h = h + hook("attn", i, a @ g(p + "attn.c_proj.weight") + g(p + "attn.c_proj.bias"))
        x = torch.nn.functional.layer_norm(h, (d,), g(p + "ln_2.weight"), g(p + "ln_2.bias"), cfg.get("layer_norm_epsilon", 1e-5))
        f = x @ g(p + "mlp.c_fc.weight") + g(p + "mlp.c_fc.bias")
        f = torch.nn.functional.gelu(f, approximate="tanh")
        h = hook("resid", i, h + hook("mlp", i, f @ g(p + "mlp.c_proj.weight") + g(p + "mlp.c_proj.bias")))
        if lens is not None:
            lens.append(final(h) @ head.T)
    return final(h) @ head.T


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


def llama_forward(cfg, w, ids, embeds=None, attentions=None, lens=None, hook=None):
    """Llama / Mistral / Qwen2 / Qwen3 logits [T, V] for one sequence, float32; `hook` as for gpt2_forward."""
    hook = hook or (lambda site, layer, value: value)
    d, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = cfg.get("head_dim", d // nh)
    eps = cfg.get("rms_norm_eps", 1e-6)
    g = lambda n: w[n].float()
    h = g("model.embed_tokens.weight")[ids] if embeds is None else embeds
    t = h.shape[0]
    head = g("model.embed_tokens.weight") if cfg.get("tie_word_embeddings", False) else g("lm_head.weight")
    final = lambda z: rms_norm(z, g("model.norm.weight"), eps) @ head.T
    if lens is not None:  # the logit lens: every residual stream through the final norm and the head
        lens.append(final(h))
    bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    window = cfg.get("sliding_window", 4096) if cfg["model_type"] == "mistral" else None
    pos = torch.arange(t)
    freqs = pos[:, None].float() * rope_inv_freq(cfg, hd)[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    allowed = torch.tril(torch.ones(t, t, dtype=torch.bool))
    if window:
        allowed &= (pos[:, None] - pos[None, :]) < window
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
        probs = torch.softmax(s.float(), dim=-1)
        if attentions is not None:
            attentions.append(probs)
        a = hook("z", i, (probs @ v).transpose(0, 1)).reshape(t, nh * hd)
        h = h + hook("attn", i, a @ g(p + "self_attn.o_proj.weight").T)
        x = rms_norm(h, g(p + "post_attention_layernorm.weight"), eps)
        m = torch.nn.functional.silu(x @ g(p + "mlp.gate_proj.weight").T) * (x @ g(p + "mlp.up_proj.weight").T)
        h = hook("resid", i, h + hook("mlp", i, m @ g(p + "mlp.down_proj.weight").T))
        if lens is not None:
            lens.append(final(h))
    return final(h)


def attend(q, k, v, allowed, scale, softcap=None, attentions=None):
    """Eager attention of q [H, T, hd] over k, v [KV, T, hd] (grouped heads repeated), as transformers'
    eager_attention_forward: scores · scale, optional tanh soft-capping, mask, float32 softmax. Returns [T, H·hd]."""
    nh, t = q.shape[0], q.shape[1]
    k = k.repeat_interleave(nh // k.shape[0], dim=0)
    v = v.repeat_interleave(nh // v.shape[0], dim=0)
    s = (q @ k.transpose(-1, -2)) * scale
    if softcap:
        s = torch.tanh(s / softcap) * softcap
    s = s.masked_fill(~allowed, torch.finfo(s.dtype).min)
    probs = torch.softmax(s.float(), dim=-1)
    if attentions is not None:
        attentions.append(probs)
    return (probs @ v).transpose(0, 1).reshape(t, -1)


def causal(t, window=None):
    pos = torch.arange(t)
    allowed = pos[None, :] <= pos[:, None]
    if window:
        allowed &= (pos[:, None] - pos[None, :]) < window
    return allowed


def partial_rope(x, cos, sin):
    """Rotates the first cos.shape[-1] dimensions of x [H, T, hd] (rotate-half within them); the rest pass."""
    rd = cos.shape[-1]
    rot, rest = x[..., :rd], x[..., rd:]
    return torch.cat((rot * cos + rotate_half(rot) * sin, rest), dim=-1)


def neox_forward(cfg, w, ids, embeds=None, attentions=None):
    """GPT-NeoX / Pythia (GPTNeoXForCausalLM): fused query_key_value viewed as [T, H, 3·hd], rotary on the first
    int(hd · rotary_pct) dimensions, LayerNorm, exact GELU MLP, parallel or sequential residual, untied embed_out."""
    d, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = d // nh
    rd = int(hd * cfg.get("rotary_pct", 0.25))
    eps = cfg.get("layer_norm_eps", 1e-5)
    g = lambda n: w[n].float()
    h = g("gpt_neox.embed_in.weight")[ids] if embeds is None else embeds
    t = h.shape[0]
    inv = 1.0 / (cfg.get("rotary_emb_base", 10000) ** (torch.arange(0, rd, 2, dtype=torch.int64).float() / rd))
    freqs = torch.arange(t).float()[:, None] * inv[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    allowed = causal(t)
    act = {"gelu": lambda z: torch.nn.functional.gelu(z), "gelu_new": lambda z: torch.nn.functional.gelu(z, approximate="tanh"),
           "relu": torch.relu}[cfg.get("hidden_act", "gelu")]
    for i in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        ln = lambda n, z: torch.nn.functional.layer_norm(z, (d,), g(p + n + ".weight"), g(p + n + ".bias"), eps)
        lin = lambda n, z: z @ g(p + n + ".weight").T + g(p + n + ".bias")
        qkv = lin("attention.query_key_value", ln("input_layernorm", h)).view(t, nh, 3 * hd).transpose(0, 1)
        q, k, v = qkv[..., :hd], qkv[..., hd:2 * hd], qkv[..., 2 * hd:]
        q, k = partial_rope(q, cos, sin), partial_rope(k, cos, sin)
        attn = lin("attention.dense", attend(q, k, v, allowed, hd ** -0.5, attentions=attentions))
        mlp = lambda z: lin("mlp.dense_4h_to_h", act(lin("mlp.dense_h_to_4h", z)))
        if cfg.get("use_parallel_residual", True):
            h = mlp(ln("post_attention_layernorm", h)) + attn + h
        else:
            attn = attn + h
            h = mlp(ln("post_attention_layernorm", attn)) + attn
    h = torch.nn.functional.layer_norm(h, (d,), g("gpt_neox.final_layer_norm.weight"), g("gpt_neox.final_layer_norm.bias"), eps)
    head = g("gpt_neox.embed_in.weight") if cfg.get("tie_word_embeddings", False) else g("embed_out.weight")
    return h @ head.T


def phi3_forward(cfg, w, ids, embeds=None, attentions=None):
    """Phi-3 (Phi3ForCausalLM): qkv_proj rows [q; k; v], gate_up_proj rows [gate; up] with up · silu(gate), partial
    rotary, LongRoPE (short factors unless the sequence is longer than original_max_position_embeddings; cos and sin
    times the attention factor), sliding-window mask on every layer."""
    d, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = cfg.get("head_dim", d // nh)
    rd = int(hd * cfg.get("partial_rotary_factor", 1.0))
    eps = cfg.get("rms_norm_eps", 1e-5)
    g = lambda n: w[n].float()
    h = g("model.embed_tokens.weight")[ids] if embeds is None else embeds
    t = h.shape[0]
    base = cfg.get("rope_theta", 10000.0)
    rs = cfg.get("rope_scaling") or {}
    inv_shape = torch.arange(0, rd, 2, dtype=torch.int64).float() / rd
    scale = 1.0
    if rs.get("type", rs.get("rope_type")) in ("longrope", "su"):
        orig = cfg.get("original_max_position_embeddings", cfg["max_position_embeddings"])
        factor = cfg["max_position_embeddings"] / orig
        scale = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(orig))
        ext = torch.tensor(rs["long_factor"] if t > orig else rs["short_factor"], dtype=torch.float32)
        inv = 1.0 / (ext * base ** inv_shape)
    else:
        inv = 1.0 / (base ** inv_shape)
    freqs = torch.arange(t).float()[:, None] * inv[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos() * scale, emb.sin() * scale
    allowed = causal(t, cfg.get("sliding_window"))
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        qkv = rms_norm(h, g(p + "input_layernorm.weight"), eps) @ g(p + "self_attn.qkv_proj.weight").T
        q = qkv[:, :nh * hd].view(t, nh, hd).transpose(0, 1)
        k = qkv[:, nh * hd:(nh + nkv) * hd].view(t, nkv, hd).transpose(0, 1)
        v = qkv[:, (nh + nkv) * hd:].view(t, nkv, hd).transpose(0, 1)
        q, k = partial_rope(q, cos, sin), partial_rope(k, cos, sin)
        h = h + attend(q, k, v, allowed, hd ** -0.5, attentions=attentions) @ g(p + "self_attn.o_proj.weight").T
        gate, up = (rms_norm(h, g(p + "post_attention_layernorm.weight"), eps) @ g(p + "mlp.gate_up_proj.weight").T).chunk(2, dim=-1)
        h = h + (up * torch.nn.functional.silu(gate)) @ g(p + "mlp.down_proj.weight").T
    h = rms_norm(h, g("model.norm.weight"), eps)
    head = g("model.embed_tokens.weight") if cfg.get("tie_word_embeddings", False) else g("lm_head.weight")
    return h @ head.T


def gemma_rms_norm(x, weight, eps):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * (1.0 + weight.float())).type_as(x)


def gemma_forward(cfg, w, ids, embeds=None, attentions=None):
    """Gemma and Gemma 2 (GemmaForCausalLM, Gemma2ForCausalLM): embeddings times √hidden, RMSNorm with (1 + w), MLP
    down(gelu_tanh(gate) · up); Gemma 2 adds post-attention / pre- and post-feedforward norms, query_pre_attn_scalar,
    attention and final logit soft-capping and a sliding window on layers 0, 2, 4 …"""
    two = cfg["model_type"] == "gemma2"
    d, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = cfg.get("head_dim", 256)
    eps = cfg.get("rms_norm_eps", 1e-6)
    g = lambda n: w[n].float()
    h = g("model.embed_tokens.weight")[ids] if embeds is None else embeds
    t = h.shape[0]
    h = h * torch.tensor(d ** 0.5, dtype=h.dtype)
    inv = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    freqs = torch.arange(t).float()[:, None] * inv[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    scale = cfg["query_pre_attn_scalar"] ** -0.5 if two else hd ** -0.5
    softcap = cfg.get("attn_logit_softcapping") if two else None
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        norm = lambda n, z: gemma_rms_norm(z, g(p + n + ".weight"), eps)
        x = norm("input_layernorm", h)
        q = (x @ g(p + "self_attn.q_proj.weight").T).view(t, nh, hd).transpose(0, 1)
        k = (x @ g(p + "self_attn.k_proj.weight").T).view(t, nkv, hd).transpose(0, 1)
        v = (x @ g(p + "self_attn.v_proj.weight").T).view(t, nkv, hd).transpose(0, 1)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        allowed = causal(t, cfg.get("sliding_window", 4096) if two and i % 2 == 0 else None)
        a = attend(q, k, v, allowed, scale, softcap, attentions) @ g(p + "self_attn.o_proj.weight").T
        mlp = lambda z: (torch.nn.functional.gelu(z @ g(p + "mlp.gate_proj.weight").T, approximate="tanh") *
                         (z @ g(p + "mlp.up_proj.weight").T)) @ g(p + "mlp.down_proj.weight").T
        if two:
            h = h + norm("post_attention_layernorm", a)
            h = h + norm("post_feedforward_layernorm", mlp(norm("pre_feedforward_layernorm", h)))
        else:
            h = h + a
            h = h + mlp(norm("post_attention_layernorm", h))
    h = gemma_rms_norm(h, g("model.norm.weight"), eps)
    logits = h @ g("model.embed_tokens.weight").T
    if two and cfg.get("final_logit_softcapping"):
        c = cfg["final_logit_softcapping"]
        logits = torch.tanh(logits / c) * c
    return logits


def olmo2_rms_norm(x, weight, eps):
    xf = x.float()
    return (weight * (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps))).to(x.dtype)


def olmo2_forward(cfg, w, ids, embeds=None, attentions=None):
    """OLMo 2 (Olmo2ForCausalLM): q_norm / k_norm over the whole q and k projections, no norms before attention or
    MLP, RMSNorms of their outputs before each residual add."""
    d, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = d // nh
    eps = cfg.get("rms_norm_eps", 1e-5)
    g = lambda n: w[n].float()
    h = g("model.embed_tokens.weight")[ids] if embeds is None else embeds
    t = h.shape[0]
    inv = rope_inv_freq(cfg, hd)
    freqs = torch.arange(t).float()[:, None] * inv[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    allowed = causal(t)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        q = olmo2_rms_norm(h @ g(p + "self_attn.q_proj.weight").T, g(p + "self_attn.q_norm.weight"), eps)
        k = olmo2_rms_norm(h @ g(p + "self_attn.k_proj.weight").T, g(p + "self_attn.k_norm.weight"), eps)
        v = h @ g(p + "self_attn.v_proj.weight").T
        q, k, v = q.view(t, nh, hd).transpose(0, 1), k.view(t, nkv, hd).transpose(0, 1), v.view(t, nkv, hd).transpose(0, 1)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        a = attend(q, k, v, allowed, hd ** -0.5, attentions=attentions) @ g(p + "self_attn.o_proj.weight").T
        h = h + olmo2_rms_norm(a, g(p + "post_attention_layernorm.weight"), eps)
        m = (torch.nn.functional.silu(h @ g(p + "mlp.gate_proj.weight").T) * (h @ g(p + "mlp.up_proj.weight").T)) @ g(p + "mlp.down_proj.weight").T
        h = h + olmo2_rms_norm(m, g(p + "post_feedforward_layernorm.weight"), eps)
    h = olmo2_rms_norm(h, g("model.norm.weight"), eps)
    head = g("model.embed_tokens.weight") if cfg.get("tie_word_embeddings", False) else g("lm_head.weight")
    return h @ head.T


FORWARD = {"gpt2": gpt2_forward, "llama": llama_forward, "mistral": llama_forward, "qwen2": llama_forward,
           "qwen3": llama_forward, "gpt_neox": neox_forward, "phi3": phi3_forward, "gemma": gemma_forward,
           "gemma2": gemma_forward, "olmo2": olmo2_forward}
EMBEDDING = {"gpt2": "wte.weight", "gpt_neox": "gpt_neox.embed_in.weight"}  # else model.embed_tokens.weight


def forward(cfg, w, ids=None, embeds=None, attentions=None, prefix="transformer.", lens=None, hook=None):
    """Logits [T, V] of the architecture cfg["model_type"]; `lens` (GPT-2 and the Llama family) collects each
    residual stream's logits through the final norm and the head, the embeddings first."""
    f = FORWARD[cfg["model_type"]]
    extra = {} if lens is None else {"lens": lens}
    if hook is not None:
        extra["hook"] = hook
    if cfg["model_type"] == "gpt2":
        return f(cfg, w, ids, prefix=prefix, embeds=embeds, attentions=attentions, **extra)
    return f(cfg, w, ids, embeds=embeds, attentions=attentions, **extra)


def embedding_table(cfg, w, prefix="transformer."):
    name = EMBEDDING.get(cfg["model_type"], "model.embed_tokens.weight")
    return w[(prefix if cfg["model_type"] == "gpt2" else "") + name].float()


def greedy(cfg, w, prompt, n, prefix="transformer."):
    """n greedy tokens after prompt, each step a full forward over the sequence so far."""
    seq = list(prompt)
    for _ in range(n):
        seq.append(int(forward(cfg, w, torch.tensor(seq), prefix=prefix)[-1].argmax()))
    return seq[len(prompt):]


def target_gradient(cfg, w, prompt, target, prefix="transformer."):
    """log p(target | prompt) and its gradient [P, D] with respect to the prompt's token embeddings."""
    table = embedding_table(cfg, w, prefix)
    emb = table[torch.tensor(prompt)].clone().requires_grad_(True)
    rest = table[torch.tensor(target[:-1], dtype=torch.int64)]
    logits = forward(cfg, w, embeds=torch.cat((emb, rest)), prefix=prefix)
    logp = torch.log_softmax(logits.double(), dim=-1)
    total = sum(logp[len(prompt) - 1 + i, tok] for i, tok in enumerate(target))
    total.backward()
    return float(total), emb.grad

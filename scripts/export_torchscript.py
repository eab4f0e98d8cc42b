#!/usr/bin/python3
"""Turns a causal LM into an LM Workbench TorchScript bundle (docs/model-contract.md): model.pt, tokenizer.json and
the manifest lmwb.json. Sources:
  export_torchscript.py --hf-folder DIR OUT      a Llama-architecture Hugging Face folder, through a scriptable
                                                 PyTorch module written here (no `transformers` needed)
  export_torchscript.py --transformers NAME OUT  any `transformers` causal LM (when that package is installed)
Run with Debian's python3-torch (/usr/bin/python3)."""
import argparse
import json
import math
import os
import shutil
import sys
from typing import List, Tuple

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference"))
import safetensors_io  # noqa: E402


class ScriptableLlama(torch.nn.Module):
    """Llama / Mistral-free-window / tied or untied, in a form torch.jit.script accepts."""

    def __init__(self, cfg, w):
        super().__init__()
        self.d = int(cfg["hidden_size"])
        self.nh = int(cfg["num_attention_heads"])
        self.nkv = int(cfg.get("num_key_value_heads", self.nh))
        self.hd = self.d // self.nh
        self.eps = float(cfg.get("rms_norm_eps", 1e-6))
        self.n_layers = int(cfg["num_hidden_layers"])
        inv = 1.0 / (float(cfg.get("rope_theta", 10000.0)) ** (torch.arange(0, self.hd, 2).float() / self.hd))
        self.register_buffer("inv_freq", inv)
        self.embed_tokens = torch.nn.Parameter(w["model.embed_tokens.weight"].float())
        self.norm = torch.nn.Parameter(w["model.norm.weight"].float())
        head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else w["lm_head.weight"]
        self.lm_head = torch.nn.Parameter(head.float())
        names = ["input_layernorm.weight", "post_attention_layernorm.weight", "self_attn.q_proj.weight",
                 "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.o_proj.weight",
                 "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"]
        self.layers = torch.nn.ParameterList(
            [torch.nn.Parameter(w[f"model.layers.{i}.{n}"].float()) for i in range(self.n_layers) for n in names])

    def rms(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return g * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def rotate(self, x: torch.Tensor) -> torch.Tensor:
        h = self.hd // 2
        return torch.cat((-x[..., h:], x[..., :h]), -1)

    @torch.jit.export
    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.embed_tokens[input_ids]

    def run(self, embeddings: torch.Tensor, attention_mask: torch.Tensor, positions: torch.Tensor, past: List[torch.Tensor],
            keep: bool) -> Tuple[torch.Tensor, List[torch.Tensor], List[torch.Tensor], List[torch.Tensor]]:
        """Logits, (when keep) each layer's attention probabilities and the hidden states, and each layer's keys and
        values including `past` ([k, v] per layer, [B, kv_heads, P, head_dim]; empty for none)."""
        attentions: List[torch.Tensor] = []
        hidden: List[torch.Tensor] = []
        present: List[torch.Tensor] = []
        b, t = embeddings.shape[0], embeddings.shape[1]
        p_len = past[0].shape[2] if len(past) > 0 else 0
        freqs = positions.float()[:, :, None] * self.inv_freq[None, None, :]
        emb = torch.cat((freqs, freqs), -1)[:, None]
        cos, sin = emb.cos(), emb.sin()
        # query column p_len + i sees key columns up to p_len + i, where the mask marks a real token
        allowed = torch.ones(t, p_len + t, dtype=torch.bool, device=embeddings.device).tril(p_len)[None, None] & \
            (attention_mask != 0)[:, None, None, :]
        h = embeddings
        if keep:
            hidden.append(h)
        params: List[torch.Tensor] = [p for p in self.layers]
        for i in range(self.n_layers):
            p = params[i * 9:(i + 1) * 9]
            x = self.rms(h, p[0])
            q = (x @ p[2].t()).view(b, t, self.nh, self.hd).transpose(1, 2)
            k = (x @ p[3].t()).view(b, t, self.nkv, self.hd).transpose(1, 2)
            v = (x @ p[4].t()).view(b, t, self.nkv, self.hd).transpose(1, 2)
            q = q * cos + self.rotate(q) * sin
            k = k * cos + self.rotate(k) * sin
            if p_len > 0:
                k = torch.cat((past[2 * i], k), 2)
                v = torch.cat((past[2 * i + 1], v), 2)
            present.append(k)
            present.append(v)
            k = k.repeat_interleave(self.nh // self.nkv, 1)
            v = v.repeat_interleave(self.nh // self.nkv, 1)
            s = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
            s = s.masked_fill(~allowed, -1e9)
            probs = torch.softmax(s, -1)
            if keep:
                attentions.append(probs)
            a = (probs @ v).transpose(1, 2).reshape(b, t, self.d)
            h = h + a @ p[5].t()
            x = self.rms(h, p[1])
            h = h + (torch.nn.functional.silu(x @ p[6].t()) * (x @ p[7].t())) @ p[8].t()
            if keep and i + 1 < self.n_layers:
                hidden.append(h)
        h = self.rms(h, self.norm)
        if keep:
            hidden.append(h)  # as transformers' output_hidden_states: the last entry after the final norm
        return h @ self.lm_head.t(), attentions, hidden, present

    def whole(self, embeddings: torch.Tensor, attention_mask: torch.Tensor,
              keep: bool) -> Tuple[torch.Tensor, List[torch.Tensor], List[torch.Tensor], List[torch.Tensor]]:
        b, t = embeddings.shape[0], embeddings.shape[1]
        positions = torch.arange(t, device=embeddings.device)[None].expand(b, t)
        return self.run(embeddings, attention_mask, positions, [], keep)

    @torch.jit.export
    def forward_embeddings(self, embeddings: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.whole(embeddings, attention_mask, False)[0]

    @torch.jit.export
    def attentions(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return torch.stack(self.whole(self.embed(input_ids), attention_mask, True)[1])

    @torch.jit.export
    def hidden_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return torch.stack(self.whole(self.embed(input_ids), attention_mask, True)[2])

    @torch.jit.export
    def step(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, positions: torch.Tensor,
             past: List[torch.Tensor]) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        logits, _, _, present = self.run(self.embed(input_ids), attention_mask, positions, past, False)
        return logits, present

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.forward_embeddings(self.embed(input_ids), attention_mask)


class ForwardOnly(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.inner(input_ids, attention_mask)


def from_hf_folder(folder):
    cfg = json.load(open(os.path.join(folder, "config.json")))
    unsupported = [k for k in ("rope_scaling", "head_dim", "attention_bias", "mlp_bias") if cfg.get(k)]
    if cfg["model_type"] != "llama" or unsupported or not os.path.exists(os.path.join(folder, "model.safetensors")):
        sys.exit("--hf-folder handles plain Llama-architecture folders with one model.safetensors"
                 + (f" (this one sets {', '.join(unsupported)})" if unsupported else "") + "; use --transformers for others")
    w = safetensors_io.load(os.path.join(folder, "model.safetensors"))
    return ScriptableLlama(cfg, w).eval(), cfg, os.path.join(folder, "tokenizer.json")


def from_transformers(name):
    import transformers  # noqa: F401, only for this path

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.m(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, return_dict=False)[0]

    # Eager attention: LibTorch 1.13 has no scaled_dot_product_attention operator.
    model = transformers.AutoModelForCausalLM.from_pretrained(name, torchscript=True, attn_implementation="eager").eval()
    tok = transformers.AutoTokenizer.from_pretrained(name)
    tmp = os.path.join(os.getcwd(), ".lmwb-export-tokenizer")
    tok.save_pretrained(tmp)
    return Wrapper(model), model.config.to_dict(), os.path.join(tmp, "tokenizer.json")


def main():
    p = argparse.ArgumentParser()
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--hf-folder")
    src.add_argument("--transformers")
    p.add_argument("--forward-only", action="store_true", help="export forward alone (no embedding methods)")
    p.add_argument("out")
    a = p.parse_args()
    module, cfg, tokenizer = from_hf_folder(a.hf_folder) if a.hf_folder else from_transformers(a.transformers)
    os.makedirs(a.out, exist_ok=True)
    for p in module.parameters():
        p.requires_grad_(False)  # the bundle is for inference and input gradients only
    if a.hf_folder and a.forward_only:
        scripted = torch.jit.script(ForwardOnly(module))
        methods = ["forward"]
    elif a.hf_folder:
        scripted = torch.jit.script(module)
        methods = ["forward", "embed", "forward_embeddings", "attentions", "hidden_states", "step"]
    else:  # traced; checked on other batch sizes and lengths, since a trace can bake shapes in
        ids = torch.zeros(1, 16, dtype=torch.long)
        other = [(torch.zeros(b, t, dtype=torch.long), torch.ones(b, t, dtype=torch.long)) for b, t in ((2, 9), (3, 33))]
        scripted = torch.jit.trace(module, (ids, torch.ones_like(ids)), check_inputs=other)
        methods = ["forward"]
    scripted.save(os.path.join(a.out, "model.pt"))
    shutil.copy(tokenizer, os.path.join(a.out, "tokenizer.json"))
    eos = cfg.get("eos_token_id")
    manifest = {
        "format": "lmwb-torchscript", "version": 1, "architecture": cfg.get("model_type", "unknown"),
        "vocab_size": int(cfg["vocab_size"]),
        "context_length": int(cfg.get("max_position_embeddings", cfg.get("n_positions", 1024))),
        "hidden_size": int(cfg.get("hidden_size", cfg.get("n_embd", 0))),
        "layers": int(cfg.get("num_hidden_layers", cfg.get("n_layer", 0))),
        "heads": int(cfg.get("num_attention_heads", cfg.get("n_head", 0))),
        "kv_heads": int(cfg.get("num_key_value_heads", cfg.get("num_attention_heads", cfg.get("n_head", 0)))),
        "bos_token_id": cfg.get("bos_token_id"), "eos_token_id": eos,
        "outputs": {"logits": 0}, "methods": methods,
    }
    with open(os.path.join(a.out, "lmwb.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"wrote {a.out}: methods {', '.join(methods)}")


if __name__ == "__main__":
    main()

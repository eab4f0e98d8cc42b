#!/usr/bin/python3
"""Damaged copies of the tiny-a TorchScript bundle (tests/fixtures/torchscript/), each a rewrite of its model.pt:
- unknown-op: one call of its TorchScript code renamed to an operator LibTorch 1.13 does not have, as files saved by
  newer torch versions can contain (e.g. aten::scaled_dot_product_attention); the loader must name the operator.
- cut-storage: its largest tensor's storage record (the token embeddings) cut to a third, CRC recomputed, as a
  damaged download or a hostile file can be; torch::jit::load accepts it and the tensor would read past its record,
  so the loader must refuse it, naming the tensor."""
import os
import shutil
import zipfile

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "torchscript")


def rewrite(name, change):
    src, dst = os.path.join(root, "tiny-a"), os.path.join(root, name)
    os.makedirs(dst, exist_ok=True)
    for f in ("lmwb.json", "tokenizer.json"):
        shutil.copy(os.path.join(src, f), os.path.join(dst, f))
    with zipfile.ZipFile(os.path.join(src, "model.pt")) as zin, zipfile.ZipFile(os.path.join(dst, "model.pt"), "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, change(info.filename, zin.read(info.filename)))


def unknown_op(filename, data):
    if not filename.endswith("code/__torch__.py"):
        return data
    text = data.decode()
    assert "torch.cos(" in text
    return text.replace("torch.cos(", "ops.aten.lmwb_future_op(", 1).encode()


rewrite("unknown-op", unknown_op)
rewrite("cut-storage", lambda filename, data: data[: len(data) // 3] if filename.endswith("data/0") else data)

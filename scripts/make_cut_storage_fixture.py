#!/usr/bin/python3
"""tests/fixtures/torchscript/cut-storage: the tiny-a bundle with its largest tensor's storage record (the token
embeddings) cut to a third, CRC recomputed, as a damaged download or a hostile file can be. torch::jit::load accepts
it and the tensor then reads past its storage; the loader must refuse it, naming the tensor."""
import os
import shutil
import zipfile

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "torchscript")
src, dst = os.path.join(root, "tiny-a"), os.path.join(root, "cut-storage")
os.makedirs(dst, exist_ok=True)
for f in ("lmwb.json", "tokenizer.json"):
    shutil.copy(os.path.join(src, f), os.path.join(dst, f))
with zipfile.ZipFile(os.path.join(src, "model.pt")) as zin, zipfile.ZipFile(os.path.join(dst, "model.pt"), "w") as zout:
    for info in zin.infolist():
        data = zin.read(info.filename)
        if info.filename.endswith("data/0"):
            data = data[: len(data) // 3]
        zout.writestr(info, data)

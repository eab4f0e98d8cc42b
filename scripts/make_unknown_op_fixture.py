#!/usr/bin/python3
"""tests/fixtures/torchscript/unknown-op: the tiny-a bundle with one call in its TorchScript code renamed to an
operator LibTorch 1.13 does not have, as files saved by newer torch versions can contain (e.g.
aten::scaled_dot_product_attention). The loader must fail naming the operator."""
import os
import shutil
import zipfile

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "torchscript")
src, dst = os.path.join(root, "tiny-a"), os.path.join(root, "unknown-op")
os.makedirs(dst, exist_ok=True)
for f in ("lmwb.json", "tokenizer.json"):
    shutil.copy(os.path.join(src, f), os.path.join(dst, f))
with zipfile.ZipFile(os.path.join(src, "model.pt")) as zin, zipfile.ZipFile(os.path.join(dst, "model.pt"), "w") as zout:
    for info in zin.infolist():
        data = zin.read(info.filename)
        if info.filename.endswith("code/__torch__.py"):
            text = data.decode()
            assert "torch.cos(" in text
            data = text.replace("torch.cos(", "ops.aten.lmwb_future_op(", 1).encode()
        zout.writestr(info, data)

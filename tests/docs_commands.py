#!/usr/bin/env python3
"""Runs every command of the fenced `sh` blocks in README.md and docs/*.md, as a reader would paste them.

Each block runs in a fresh scratch folder (its commands in order, sharing that folder), where `build/cli/lmwb`,
`build/gui/lmwb-gui`, `models/` and `datasets/` lead to the build and the source tree, and HOME is the scratch folder,
so nothing is written outside it. A command is a line (joined with the next when it ends in a backslash); comment
lines are skipped. A block that starts with `#!` is a script and runs whole. Not run, and counted: a line whose
comment says `# not run: <why>`, and a block whose fence is preceded by `<!-- docs-test: not run: <why> -->`.
Every other command must exit with status 0. `lmwb` alone (an installed copy) is the build's.
Usage: docs_commands.py SOURCE_DIR BUILD_DIR"""
import glob
import os
import re
import subprocess
import sys
import tempfile
import time

SKIP_BLOCK = re.compile(r"<!--\s*docs-test:\s*not run:\s*(.+?)\s*-->")
SKIP_LINE = re.compile(r"#\s*not run:\s*(.+)$")


def blocks(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(1), i
        skip = SKIP_BLOCK.search(lines[i - 1]) if i > 0 else None
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        if lang in ("sh", "bash"):
            yield start + 1, lines[i + 1:j], skip.group(1) if skip else None
        i = j + 1


def commands(body, first_line):
    if body and body[0].startswith("#!"):
        yield first_line + 1, "\n".join(body)
        return
    cmd, at = "", None
    for k, line in enumerate(body):
        if not cmd and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if not cmd:
            at = first_line + 1 + k
        if line.endswith("\\"):
            cmd += line[:-1] + " "
            continue
        yield at, cmd + line
        cmd = ""
    if cmd:
        yield at, cmd


def main():
    source, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    files = [os.path.join(source, "README.md")] + sorted(glob.glob(os.path.join(source, "docs", "*.md")))
    ran = skipped = 0
    failures = []
    for path in files:
        name = os.path.relpath(path, source)
        for line, body, why in blocks(path):
            if why:
                print(f"{name}:{line}: block not run: {why}")
                skipped += sum(1 for _ in commands(body, line))
                continue
            with tempfile.TemporaryDirectory(prefix="lmwb-docs-") as scratch:
                os.makedirs(os.path.join(scratch, "build", "cli"))
                os.makedirs(os.path.join(scratch, "build", "gui"))
                os.symlink(os.path.join(build, "cli", "lmwb"), os.path.join(scratch, "build", "cli", "lmwb"))
                os.symlink(os.path.join(build, "gui", "lmwb-gui"), os.path.join(scratch, "build", "gui", "lmwb-gui"))
                for d in ("models", "datasets"):
                    os.symlink(os.path.join(source, d), os.path.join(scratch, d))
                env = dict(os.environ, HOME=scratch, PATH=os.path.join(scratch, "build", "cli") + os.pathsep + os.environ["PATH"], XDG_CACHE_HOME=os.path.join(scratch, ".cache"),
                           XDG_CONFIG_HOME=os.path.join(scratch, ".config"), QT_QPA_PLATFORM="offscreen")
                for at, cmd in commands(body, line):
                    reason = SKIP_LINE.search(cmd)
                    if reason:
                        print(f"{name}:{at}: not run: {reason.group(1)}")
                        skipped += 1
                        continue
                    t0 = time.monotonic()
                    p = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=scratch, env=env, capture_output=True,
                                       text=True, errors="replace", timeout=600)
                    ran += 1
                    status = "ok" if p.returncode == 0 else f"exit {p.returncode}"
                    print(f"{name}:{at}: {status} ({time.monotonic() - t0:.1f} s): {cmd.splitlines()[0][:110]}")
                    if p.returncode != 0:
                        failures.append(f"{name}:{at}: exit {p.returncode}: {cmd}\n--- stdout\n{p.stdout[-2000:]}\n--- stderr\n{p.stderr[-2000:]}")
    print(f"\n{ran} commands run, {skipped} not run, {len(failures)} failed")
    for f in failures:
        print("\n" + f)
    sys.exit(1 if failures or ran == 0 else 0)


main()

#!/usr/bin/env bash
# The main job: install what is missing, build, then run the workbench on the bundled models.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/scripts/deps.sh"
"$root/scripts/build.sh" lmwb lmwb-gui  # only the programs: tests and benchmarks are ./test.sh's
lmwb="$root/build/cli/lmwb"
# With a display: the workbench window on the bundled model tiny-b and the bundled suites.
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${LMWB_HEADLESS:-}" ]; then
  exec "$root/build/gui/lmwb-gui" "$@"
fi
# Without one, the same work headless: describe, prompt, evaluate and compare the two bundled models.
LMWB="$lmwb" exec "$root/scripts/demo.sh" "$root/build/demo" "${1:-On Monday, Ana went to}"

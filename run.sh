#!/usr/bin/env bash
# The main job: install what is missing, build, then run the workbench on the bundled models.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/scripts/deps.sh"
"$root/scripts/build.sh"
lmwb="$root/build/cli/lmwb"
# With a display: the workbench window on the bundled model tiny-b and the bundled suites.
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${LMWB_HEADLESS:-}" ]; then
  exec "$root/build/gui/lmwb-gui" "$@"
fi
# Without one, the same work headless: describe, prompt, evaluate and compare the two bundled models.
"$lmwb" --version
for model in tiny-a tiny-b; do
  "$lmwb" info "$root/models/$model"
  echo "--- $model, greedy:"
  "$lmwb" generate "$root/models/$model" "${1:-On Monday, Ana went to}" --max-new-tokens 40
  echo "--- $model, log p(' Paris' | 'The capital of France is'):"
  "$lmwb" score "$root/models/$model" --context "The capital of France is" --continuation " Paris"
  echo
done
# Evaluate both on the bundled suites and compare the runs.
demo="$root/build/demo"
mkdir -p "$demo"
for model in tiny-a tiny-b; do
  rm -f "$demo/$model.json.journal.jsonl"
  "$lmwb" eval "$root/models/$model" world-facts-mc world-facts-qa world-stories-continue world-stories-ppl \
    --out "$demo/$model.json"
done
"$lmwb" compare "$demo/tiny-a.json" "$demo/tiny-b.json"

#!/usr/bin/env bash
# Manual pages for the Debian package, generated from the programs' own --help (help2man), so they never disagree:
# lmwb(1) with every subcommand's help, lmwb-gui(1). Written gzip -9n (reproducible, as lintian asks).
# The date is the changelog's last entry's (reproducible builds).
# Usage: make_man.sh OUTDIR LMWB LMWB_GUI CHANGELOG
set -euo pipefail
out="$1" lmwb="$2" gui="$3" changelog="$4"
SOURCE_DATE_EPOCH="$(date -d "$(dpkg-parsechangelog -l "$changelog" -S Date)" +%s)"
export SOURCE_DATE_EPOCH
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
roff() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }  # text as roff: backslashes, lines starting with . or '
{
  echo "[COMMANDS]"
  "$lmwb" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && NF {print $1}' | while read -r cmd; do
    echo ".SS \"lmwb $cmd\""
    echo ".nf"
    "$lmwb" "$cmd" --help | roff
    echo ".fi"
  done
  echo "[FILES]"
  echo "Bundled models and suites are in /usr/share/lmwb; the documentation (suite format, report schema, models,"
  echo "interpretability methods) in /usr/share/doc/lmwb."
  echo "[SEE ALSO]"
  echo ".BR lmwb\\-gui (1)"
} > "$work/lmwb.h2m"
printf '[SEE ALSO]\n.BR lmwb (1)\n' > "$work/gui.h2m"
help2man -N -n "evaluate and interpret language models from the command line" -i "$work/lmwb.h2m" "$lmwb" > "$work/lmwb.1"
version="$("$lmwb" --version | cut -d' ' -f2)"
QT_QPA_PLATFORM=offscreen help2man -N -n "desktop workbench to evaluate and interpret language models" -i "$work/gui.h2m" \
  --version-string="lmwb-gui $version" "$gui" > "$work/lmwb-gui.1"
for page in lmwb lmwb-gui; do gzip -9n < "$work/$page.1" > "$out/$page.1.gz"; done

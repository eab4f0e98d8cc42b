#!/usr/bin/env bash
# The installed programs without the source and build trees: `cmake --install` into a staging prefix, move that
# prefix, hide the source and build trees (a mount namespace with empty folders over them), then run the CLI's demo
# (both bundled models on the bundled suites) and the GUI offscreen from the installed copy. Then the Debian package
# CPack builds: its dependencies, its files (copyright, changelog, manual pages), lintian without errors or warnings,
# and its programs run from the unpacked package the same way.
# Usage: install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src="$(cd "$1" && pwd)"
build="$(cd "$2" && pwd)"
work="$(mktemp -d /tmp/lmwb-install-test.XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "install test: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/stage" >/dev/null
mv "$work/stage" "$work/moved"  # nothing may depend on the prefix it was installed for
prefix="$work/moved"
for f in bin/lmwb bin/lmwb-gui share/lmwb/demo.sh share/lmwb/models/tiny-a/model.safetensors \
         share/lmwb/models/tiny-b/tokenizer.json share/lmwb/suites/world-facts-mc.json share/lmwb/suites/world-facts-mc.jsonl \
         share/applications/lmwb.desktop share/icons/hicolor/scalable/apps/lmwb.svg share/doc/lmwb/README.md \
         share/doc/lmwb/models.md; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
if grep -rlF "$src" "$prefix/bin"; then fail "an installed program names the source tree $src"; fi

# The Debian package.
cpack --config "$build/CPackConfig.cmake" -B "$work/pkg" >/dev/null
deb="$(ls "$work"/pkg/lmwb_*.deb)"
depends="$(dpkg-deb -f "$deb" Depends)"
echo "Depends: $depends"
for p in libtorch1.13 libopenblas0-pthread libqt6widgets6 libqcustomplot2.1-qt6 libqt6sql6-sqlite qt6-qpa-plugins libutf8proc2 libyaml-cpp0.7; do
  [[ ", $depends," == *", $p"[\ ,]* ]] || fail "the package does not depend on $p"
done
dpkg-deb -x "$deb" "$work/deb"
[ -x "$work/deb/usr/bin/lmwb" ] && [ -f "$work/deb/usr/share/lmwb/models/tiny-b/config.json" ] || fail "the package lacks its files"
for f in usr/share/doc/lmwb/copyright usr/share/doc/lmwb/changelog.gz usr/share/man/man1/lmwb.1.gz usr/share/man/man1/lmwb-gui.1.gz; do
  [ -s "$work/deb/$f" ] || fail "the package lacks $f"
done
# Each subcommand's help is in the manual page, as the program prints it.
zgrep -q '^\.SS "lmwb eval"' "$work/deb/usr/share/man/man1/lmwb.1.gz" || fail "lmwb(1) lacks the eval subcommand"
# Lintian: no errors, no warnings (informational tags are listed, not fatal). As root it only complains that it is.
if ! lintian --fail-on error,warning "$deb" > "$work/lintian.log" 2>&1; then
  cat "$work/lintian.log"
  fail "lintian reports errors or warnings"
fi
echo "lintian: no errors or warnings ($(grep -c '^I: ' "$work/lintian.log" || true) informational tags)"

export src build work prefix
unshare --mount --map-root-user bash -euo pipefail -c '
  mount -t tmpfs lmwb-hidden "$src"
  case "$build/" in "$src"/*) ;; *) mount -t tmpfs lmwb-hidden "$build" ;; esac
  [ -z "$(ls -A "$src")" ] || { echo "the source tree is still visible"; exit 1; }
  export HOME="$work/home" XDG_CONFIG_HOME="$work/home/config" XDG_DATA_HOME="$work/home/data" XDG_RUNTIME_DIR="$work/run"
  mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
  unset LMWB LMWB_DATA_DIR
  cd "$work"
  "$prefix/share/lmwb/demo.sh" "$work/demo" > "$work/demo.log"
  grep -q "tiny-b" "$work/demo.log" && [ -s "$work/demo/tiny-a.json" ] && [ -s "$work/demo/tiny-b.json" ] ||
    { cat "$work/demo.log"; echo "the demo wrote no reports"; exit 1; }
  echo "demo from the installed copy: $(grep -c . "$work/demo.log") lines, reports $(ls "$work/demo" | tr "\n" " ")"
  export QT_QPA_PLATFORM=offscreen
  [ "$("$prefix/bin/lmwb-gui" --version)" = "LM Workbench $("$prefix/bin/lmwb" --version | cut -d" " -f2)" ]
  "$prefix/bin/lmwb-gui" --help | grep -q -- "--screenshot"
  "$prefix/bin/lmwb-gui" --screenshot "$work/gui.png" 2> "$work/gui.log" || { cat "$work/gui.log"; exit 1; }
  [ "$(stat -c %s "$work/gui.png")" -gt 20000 ] || { echo "the GUI screenshot is empty"; exit 1; }
  echo "GUI from the installed copy: $(stat -c %s "$work/gui.png") byte screenshot"
  # The unpacked Debian package: the same programs, found data relative to themselves.
  deb="$work/deb/usr"
  "$deb/bin/lmwb" eval tiny-b world-facts-mc -q --out "$work/deb-report.json"
  [ -s "$work/deb-report.json" ] || { echo "the packaged lmwb wrote no report"; exit 1; }
  "$deb/bin/lmwb-gui" tiny-a "$deb/share/lmwb/suites/world-facts-qa.json" --screenshot "$work/deb-gui.png"
  echo "the unpacked package: eval and GUI ran"
'

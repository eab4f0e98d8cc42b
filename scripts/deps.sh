#!/usr/bin/env bash
# Installs the Debian packages LM Workbench needs, only those missing (no network use when all are present).
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config
  qt6-base-dev qt6-svg-dev libqt6sql6-sqlite libqcustomplot-dev libtorch-dev libopenblas0-pthread
  nlohmann-json3-dev catch2 libcli11-dev libutf8proc-dev libpcre2-dev libssl-dev libyaml-cpp-dev zlib1g-dev
  help2man  # the manual pages of the Debian package
  clang libfuzzer-14-dev  # the fuzz targets (scripts/fuzz.sh)
  lintian  # the Debian package is checked (tests/install_test.sh)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "lmwb: installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

#!/bin/sh
# CMake refuses a pre-C++11-ABI LibTorch by name, before any compiling (engine/CMakeLists.txt). The LibTorch here
# is the real one found by this build, wrapped so that it reports the ABI of pytorch.org's pre-cxx11 downloads.
#   torch_abi_test.sh SOURCE_DIR TORCH_DIR
set -u
src=$1 torch_dir=$2
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/torch"
cat > "$work/torch/TorchConfig.cmake" <<CMAKE
include("$torch_dir/TorchConfig.cmake")
set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=0")
CMAKE
cp "$torch_dir/TorchConfigVersion.cmake" "$work/torch/" 2>/dev/null
if cmake -S "$src" -B "$work/build" -G Ninja -DTorch_DIR="$work/torch" -DLMWB_BUILD_GUI=OFF -DLMWB_BUILD_TESTS=OFF \
    -DLMWB_BUILD_BENCH=OFF > "$work/log" 2>&1; then
    echo "configure succeeded with a pre-C++11-ABI LibTorch"; cat "$work/log"; exit 1
fi
if ! grep -q "uses the pre-C++11 ABI" "$work/log" || ! grep -q "cxx11-abi" "$work/log"; then
    echo "configure failed without naming the ABI:"; cat "$work/log"; exit 1
fi
if [ -e "$work/build/build.ninja" ]; then echo "a build file was written anyway"; exit 1; fi
echo "refused: $(grep -m1 'pre-C++11' "$work/log")"

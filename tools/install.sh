#!/usr/bin/env bash
# Installs the `seedvr` command: every tool of tools/BUILD.bazel (the
# //tools:binaries group) in PREFIX/libexec/seedvr/, and the dispatcher
# tools/seedvr.sh as PREFIX/bin/seedvr (`seedvr train ...`, `seedvr infer ...`).
#   tools/install.sh [--prefix DIR] [--cuda]   set up (tools/setup.sh), build, install
#   tools/install.sh [--prefix DIR] TOOL...    install these already-built tools only
# PREFIX defaults to ~/.local; PREFIX/bin must be on PATH. --cuda builds with
# --config=cuda (GPU hosts).
#
# Shared libraries: Bazel links the project's own libraries into a cc_binary
# statically (its default), so a tool needs nothing from bazel-out's _solib
# folders; it finds LibTorch in the venv of tools/setup.sh by the absolute
# RUNPATH third_party/libtorch gives it, and FFmpeg, Abseil and yaml-cpp in
# the system's library path. Plain copies therefore run from any prefix while
# that venv stays, with no patchelf, and LibTorch (GBs with its CUDA
# libraries) is not duplicated. A tool that would find a library relative to
# itself ($ORIGIN, as when something links a cc_library dynamically) is
# refused, since its copy would not find it.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

prefix=""
config=()
tools=()
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --cuda) config=(--config=cuda); shift ;;
    -h | --help) sed -n '2,8s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "install: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) tools+=("$(realpath "$1")"); shift ;;
  esac
done
prefix="${prefix:-$HOME/.local}"
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"

if [ ${#tools[@]} -eq 0 ]; then
  bash "$repo/tools/setup.sh"
  cd "$repo"
  bazel build "${config[@]}" //tools:binaries
  bin_dir="$(bazel info "${config[@]}" bazel-bin)"
  for label in $(bazel query 'labels(srcs, //tools:binaries)'); do
    tools+=("$bin_dir/tools/${label##*:}")
  done
fi

for tool in "${tools[@]}"; do
  if readelf -d "$tool" | grep -E '\((RPATH|RUNPATH)\)' | grep -qF '$ORIGIN'; then
    echo "install: $(basename "$tool") loads libraries relative to Bazel's output tree; link them statically" >&2
    exit 1
  fi
done

libexec="$prefix/libexec/seedvr"
# A fresh libexec, so a tool no longer built leaves no stale command.
rm -rf "$libexec"
mkdir -p "$libexec" "$prefix/bin"
install -m 755 "${tools[@]}" "$libexec/"
version="$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)"
sed "s|@VERSION@|$version|" "$repo/tools/seedvr.sh" >"$prefix/bin/seedvr.tmp"
chmod 755 "$prefix/bin/seedvr.tmp"
mv "$prefix/bin/seedvr.tmp" "$prefix/bin/seedvr"

echo "install: seedvr $version in $prefix/bin (${#tools[@]} tools in $libexec)"
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "install: $prefix/bin is not on PATH; add it (export PATH=\"$prefix/bin:\$PATH\")" ;;
esac

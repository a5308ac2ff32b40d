#!/usr/bin/env bash
# Builds seedvr for CUDA and packs what a GPU machine needs to run its checks
# (tools/device/check.sh) into one archive, at most 64 MiB:
#   bin/     the CUDA binaries and gpu-tagged test binaries, stripped
#   lib/     every shared library they load that is neither LibTorch with
#            its CUDA libraries (the GPU machine brings its own torch 2.11.0,
#            the same build as tools/deps/requirements.txt) nor the C and C++
#            runtime: Abseil, yaml-cpp, FFmpeg and what those load
#   configs/, fixtures/ (the official-model fixtures)
#
#   tools/device/pack.sh [OUT_DIR]      (default .device; prints the archive)
#
# Verify it here with the CPU path, in a clean environment:
#   env -i PATH=/usr/bin:/bin bash tools/device/check.sh --cpu \
#     --bundle .device/bundle.tar.xz --torch /opt/seedvr/venv/lib/python3.11/site-packages/torch
# and run it on a GPU machine (the device tool carries .device):
#   bash tools/device/check.sh --bundle .device/bundle.tar.xz --out "$OUT"
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$(cd "$repo" && mkdir -p "${1:-.device}" && cd "${1:-.device}" && pwd)"
shared="${SEEDVR_SHARED_DIR:-$repo/../shared}"
bundle="$out/bundle"

targets=(//tools:train //tools:infer //tools:estimate_memory //benchmarks/train:apt_figures
         //benchmarks/parallel:allreduce_benchmark //benchmarks/parallel:sequence_parallel_benchmark
         //tests/train:trainer_gpu_test //tests/models:parity_gpu_test)
(cd "$repo" && bazel build --config=cuda "${targets[@]}")
bin_dir="$(cd "$repo" && bazel info --config=cuda bazel-bin)"

rm -rf "$bundle"
mkdir -p "$bundle/bin" "$bundle/lib" "$bundle/fixtures"
binaries=()
for t in "${targets[@]}"; do
  path="${t#//}"
  binaries+=("$bin_dir/${path%%:*}/${path##*:}")
  install -m 755 "${binaries[-1]}" "$bundle/bin/"
  strip --strip-unneeded "$bundle/bin/${path##*:}"
done
cp -r "$repo/configs" "$bundle/configs"
rm -f "$bundle/configs/BUILD.bazel"
cp -r "$shared/fixtures/." "$bundle/fixtures/"

# Shared libraries: all that the binaries resolve here (tests link the
# project's own libraries as shared objects too), minus LibTorch and the CUDA
# libraries (the venv's site-packages) and the C/C++ runtime, which the GPU
# machine's newer system provides.
skip='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|libpthread\.|librt\.|libresolv\.|libstdc\+\+\.|libgcc_s\.)'
for f in "${binaries[@]}"; do
  ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}'
done | sort -u | while read -r name path; do
  case "$path" in */site-packages/*) continue ;; esac
  [[ "$name" =~ $skip ]] && continue
  cp -L "$path" "$bundle/lib/$name"
done
strip --strip-unneeded "$bundle"/lib/*.so* 2>/dev/null || true

# xz: FFmpeg's dependency tree alone is ~160 MB unpacked.
rm -f "$out/bundle.tar.xz"
XZ_OPT="-6 -T2" tar -C "$out" -cJf "$out/bundle.tar.xz" bundle
size=$(stat -c %s "$out/bundle.tar.xz")
echo "pack: $out/bundle.tar.xz, $((size / 1048576)) MiB ($(ls "$bundle/bin" | wc -l) binaries, $(ls "$bundle/lib" | wc -l) libraries)"
if [ "$size" -gt $((64 * 1048576)) ]; then
  echo "pack: the archive is over the 64 MiB a device run carries" >&2
  exit 1
fi

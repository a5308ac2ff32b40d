#!/usr/bin/env bash
# Sets up a fresh machine if needed, then builds everything (CPU, CUDA and
# fuzz configurations) and runs every CPU test. GPU tests (tag "gpu") run
# with `bazel test --config=cuda //...` on a GPU machine, or from the bundle
# of tools/device/pack.sh.
#   tools/test.sh [extra bazel test flags]
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash tools/setup.sh || exit 1

# Reference data (parity fixtures, released text embeddings) beside the clone.
export SEEDVR_SHARED_DIR="${SEEDVR_SHARED_DIR:-$(cd "$repo/.." && pwd)/shared}"
export SEEDVR_PYTHON="${SEEDVR_PYTHON:-${SEEDVR_VENV:-/opt/seedvr/venv}/bin/python}"
if [ ! -d "$SEEDVR_SHARED_DIR/fixtures" ]; then
  echo "test: no reference fixtures at $SEEDVR_SHARED_DIR/fixtures; set SEEDVR_SHARED_DIR" >&2
  exit 1
fi

log="$(mktemp)"
status=0
bazel build //... 2>&1 | tee -a "$log" | grep -E "^(ERROR|FAILED)|error:" ; [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
# The libFuzzer targets are built with clang and sanitizers; they must keep building.
bazel build --config=fuzz //tests/fuzz:all 2>&1 | tee -a "$log" | grep -E "^(ERROR|FAILED)|error:" ; [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
# The CUDA build (libtorch_cuda, the CUDA 13 toolkit) compiles and links here
# too, so it cannot rot on machines without a GPU.
bazel build --config=cuda //... 2>&1 | tee -a "$log" | grep -E "^(ERROR|FAILED)|error:" ; [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
bazel test //... "$@" 2>&1 | tee -a "$log" | grep -E "^//|^Executed|^(ERROR|FAILED)"; [ "${PIPESTATUS[0]}" -eq 0 ] || status=1

passed=$(grep -cE "^//.* PASSED" "$log")
failed=$(grep -cE "^//.* (FAILED|TIMEOUT|NO STATUS|INCOMPLETE)" "$log")
skipped=$(grep -cE "^//.* SKIPPED" "$log")
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
rm -f "$log"
[ "$failed" -eq 0 ] || status=1
exit "$status"

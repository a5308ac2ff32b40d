#!/usr/bin/env bash
# The checks a GPU machine runs on a bundle made by tools/device/pack.sh, in
# one command (about 5 minutes on an H200):
#   1. the gpu-tagged tests: the trainer on the GPU (bf16 step, resume, EMA
#      and optimizer offload) and DiT/VAE parity with the official fixtures
#      in fp32 (1e-4) and bf16 (printed)
#   2. one 3B-shaped APT step (configs/train.yaml: the 3B's widths and depth,
#      random weights, patch discriminator, 256x256x17, batch 1, bf16,
#      activation checkpointing): s/step, peak memory, MFU against the
#      card's measured bf16 rate; again with the EMA and optimizer offloaded
#   3. estimate_memory for both, to hold against the measured peaks
#   4. one-step restoration of a 33-frame 720p clip at the 3B shape
#   5. the data-parallel gradient all-reduce (allreduce_benchmark) and the
#      sequence-parallel attention layer (sequence_parallel_benchmark) on
#      NCCL, one rank per GPU, under torchrun from $SEEDVR_PYTHON (default
#      python3)
# With --cpu (no GPU) the same binaries run on the CPU at the tiny config,
# which checks that the bundle is complete.
#
#   check.sh [--bundle DIR|ARCHIVE] [--torch TORCH_DIR] [--out DIR] [--cpu]
#   (default bundle: .device/bundle.tar.xz, from tools/device/pack.sh)
#
# --torch is the `torch` package folder whose lib/ holds LibTorch (default:
# the one python3 imports); nothing else outside the bundle is used.
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bundle="$repo/.device/bundle.tar.xz" torch="" out="${OUT:-/tmp/seedvr_check}" cpu=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle="$2"; shift 2 ;;
    --torch) torch="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --cpu) cpu=1; shift ;;
    *) echo "check.sh: unknown argument $1 (see the header)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
if [ -f "$bundle" ]; then
  rm -rf /tmp/seedvr_bundle && mkdir -p /tmp/seedvr_bundle
  tar -C /tmp/seedvr_bundle -xJf "$bundle" && bundle=/tmp/seedvr_bundle/bundle
fi
[ -x "$bundle/bin/apt_figures" ] || { echo "check.sh: no bundle at $bundle (tools/device/pack.sh makes one)" >&2; exit 2; }
if [ -z "$torch" ]; then
  torch="$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')" || exit 2
fi
cuda_lib="$(dirname "$torch")/nvidia/cu13/lib"
export LD_LIBRARY_PATH="$bundle/lib:$torch/lib:$cuda_lib"
export SEEDVR_SHARED_DIR="$bundle" TEST_TMPDIR="$out/tmp"
mkdir -p "$TEST_TMPDIR"
cd "$bundle"

# Every library must resolve from the bundle, the torch install or the C/C++
# runtime; on a CPU machine, anything else found here would be missing there.
runtime='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|libpthread\.|librt\.|libresolv\.|libstdc\+\+\.|libgcc_s\.)'
libs="$(for f in bin/*; do ldd "$f"; done | sort -u)"
missing="$(awk '/not found/ {print $1}' <<<"$libs" | sort -u | tr '\n' ' ')"
outside="$(awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' <<<"$libs" |
  grep -vE "$runtime" | grep -vF -e "$bundle/lib/" -e "$torch/" -e "$cuda_lib/" | sort -u | tr '\n' ' ')"
if [ -n "$missing" ] || { [ "$cpu" -eq 1 ] && [ -n "$outside" ]; }; then
  echo "check.sh: the bundle is incomplete: not found: ${missing:-none}; from outside it: ${outside:-none}" >&2
  exit 2
fi
status=0
step() {  # step NAME COMMAND...: runs, logs to $out/NAME.log, keeps going
  local name="$1"; shift
  echo "=== $name: $*"
  local start=$SECONDS
  "$@" 2>&1 | tee "$out/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "=== $name: exit $rc in $((SECONDS - start)) s"
  [ "$rc" -eq 0 ] || status=1
}

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
step trainer_gpu_test bin/trainer_gpu_test
step parity_gpu_test bin/parity_gpu_test
if [ "$cpu" -eq 1 ]; then
  tiny=(--config configs/tiny.yaml --set training.device=cpu --set data.crop_size=[32,32] --set discriminator.num_layers=1)
  step apt_step bin/apt_figures "${tiny[@]}" --steps 1 --restore 5x64x64
  step apt_step_offload bin/apt_figures "${tiny[@]}" --steps 1 --no-restore \
    --set optimizer.offload=cpu --set training.ema_device=cpu
  step estimate bin/estimate_memory --config configs/tiny.yaml --set training.device=cpu
  step allreduce "${SEEDVR_PYTHON:-python3}" -m torch.distributed.run --standalone --nproc-per-node=2 --no-python \
    bin/allreduce_benchmark --benchmark_filter=tiny
  step sequence_parallel "${SEEDVR_PYTHON:-python3}" -m torch.distributed.run --standalone --nproc-per-node=2 \
    --no-python bin/sequence_parallel_benchmark --benchmark_filter=/1024
else
  step apt_step bin/apt_figures --config configs/train.yaml --set training.device=cuda --steps 3 \
    --restore 33x720x1280
  step apt_step_offload bin/apt_figures --config configs/train.yaml --set training.device=cuda --steps 3 \
    --no-restore --set optimizer.offload=cpu --set training.ema_device=cpu
  step estimate bin/estimate_memory --config configs/train.yaml --card_gb 80
  step estimate_offload bin/estimate_memory --config configs/train.yaml --card_gb 80 \
    --set optimizer.offload=cpu --set training.ema_device=cpu
  # NCCL on the host's GPUs, one rank per GPU.
  step allreduce "${SEEDVR_PYTHON:-python3}" -m torch.distributed.run --standalone --nproc-per-node="$(nvidia-smi -L | wc -l)" \
    --no-python bin/allreduce_benchmark
  step sequence_parallel "${SEEDVR_PYTHON:-python3}" -m torch.distributed.run --standalone \
    --nproc-per-node="$(nvidia-smi -L | wc -l)" --no-python bin/sequence_parallel_benchmark
fi
echo "check.sh: $([ $status -eq 0 ] && echo all passed || echo FAILURES above); logs in $out"
exit $status

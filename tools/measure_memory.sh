#!/usr/bin/env bash
# Checks //tools:estimate_memory against reality: runs a few real training
# steps (CPU, fp32) at a baseline size and two larger sizes, reads the peak
# resident memory, and prints measured beside estimated.
#
# The estimate covers what training allocates; the process also holds
# LibTorch's runtime, the data loader's decoded frames and allocator slack.
# That baseline is measured once with the tiny config at a 64x64 crop (where
# the model's own parts are a few MB) as RSS minus its estimate, and added to
# the estimates of the larger runs.
#
#   tools/measure_memory.sh            # builds what it needs; work in /tmp/seedvr_memory
# Each run takes well under two minutes on two cores.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
work="${SEEDVR_MEMORY_WORK:-/tmp/seedvr_memory}"
mkdir -p "$work"

if [ -z "${SEEDVR_SKIP_BUILD:-}" ]; then
  bazel build //tools:make_demo_data //tools:prepare_text_embeddings //tools:train //tools:estimate_memory
fi
[ -d "$work/demo/hq" ] ||
  .bazel/bin/tools/make_demo_data --out "$work/demo" --width 256 --height 256 --frames 17 --clips 3
[ -f "$work/text.safetensors" ] ||
  .bazel/bin/tools/prepare_text_embeddings --config configs/tiny.yaml --out "$work/text.safetensors"

# Peak RSS in KiB of a command: GNU time if present, else VmHWM polled from /proc.
peak_kib() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$@" >"$work/run.log" 2>"$work/time.log" || { cat "$work/run.log" "$work/time.log" >&2; return 1; }
    awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.log"
  else
    "$@" >"$work/run.log" 2>&1 &
    local pid=$! hwm=0 v
    while kill -0 "$pid" 2>/dev/null; do
      v=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
      [ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
      sleep 0.2
    done
    wait "$pid"
    echo "$hwm"
  fi
}

common=(--config configs/tiny.yaml --data_root "$work/demo" --max_steps 3 --set training.device=cpu
        --set "training.text_embeddings=\"$work/text.safetensors\"" --set training.eval_clips=0
        --set data.num_workers=1 --set data.prefetch=1 --set checkpoint.save_every=1000)
wide=(--set model.vid_dim=512 --set model.txt_dim=512 --set model.emb_dim=3072 --set model.heads=8
      --set model.head_dim=64 --set model.rope_dim=60 --set model.num_layers=8 --set model.mm_layers=2)

estimate_gib() {
  .bazel/bin/tools/estimate_memory "$@" | awk '/^total \(peak\)/ {print $3}'
}

run() {  # name, then flags
  local name=$1
  shift
  local kib est
  kib=$(peak_kib .bazel/bin/tools/train "${common[@]}" --save_dir "$work/out_$name" --overwrite "$@")
  est=$(estimate_gib "${common[@]}" "$@")
  echo "$name $kib $est"
}

echo "run                     peak RSS   estimate  +baseline   error"
read -r _ base_kib base_est < <(run baseline --crop_size 64 64 --num_frames 5)
baseline=$(awk -v k="$base_kib" -v e="$base_est" 'BEGIN {print k / 1048576 - e}')
printf "%-22s %8.2f GiB  %6.3f GiB  (baseline = RSS - estimate = %.2f GiB)\n" "tiny 64x64 x5" \
  "$(awk -v k="$base_kib" 'BEGIN {print k / 1048576}')" "$base_est" "$baseline"
for spec in "wide 128x128 x17:--crop_size 128 128 --num_frames 17" \
            "wide 256x256 x17:--crop_size 256 256 --num_frames 17"; do
  label=${spec%%:*}
  read -r -a flags <<<"${spec#*:}"
  read -r _ kib est < <(run "${label// /_}" "${wide[@]}" "${flags[@]}")
  awk -v l="$label" -v k="$kib" -v e="$est" -v b="$baseline" 'BEGIN {
    m = k / 1048576; p = e + b;
    printf "%-22s %8.2f GiB  %6.3f GiB  %6.2f GiB  %+5.1f%%\n", l, m, e, p, 100 * (p - m) / m }'
done

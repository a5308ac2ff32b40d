#!/usr/bin/env bash
# Training throughput of configs/tiny.yaml at 1 and 2 data-parallel ranks
# under torchrun, in the same run: clips per second over every rank, the mean
# of train_log.jsonl's clips_per_sec after the first 3 (warm-up) steps, and
# the 2-rank / 1-rank ratio. On the CPU the ranks talk through Gloo; a
# --config=cuda build on a GPU host uses NCCL.
#   bash benchmarks/parallel/dp_throughput.sh [steps, default 20] [bazel flags...]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
steps="${1:-20}"
shift || true
venv="${SEEDVR_VENV:-/opt/seedvr/venv}"
bazel build "$@" //tools:train //tools:make_demo_data //tools:prepare_text_embeddings
bin="$(bazel info "$@" bazel-bin 2>/dev/null)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin/tools/make_demo_data" --out "$work/data" --width 160 --height 96 --frames 9 --clips 8 >/dev/null
"$bin/tools/prepare_text_embeddings" --config configs/tiny.yaml --out "$work/text.safetensors" >/dev/null
for ranks in 1 2; do
  "$venv/bin/torchrun" --standalone --nproc-per-node="$ranks" --no-python "$bin/tools/train" \
    --config configs/tiny.yaml --set data.data_root="$work/data" \
    --set training.text_embeddings="$work/text.safetensors" --set training.eval_clips=0 \
    --set training.max_steps="$steps" --set checkpoint.save_dir="$work/run$ranks" \
    --set checkpoint.save_every=1000000 --set logging.progress_bar=false >"$work/run$ranks.log" 2>&1 ||
    { cat "$work/run$ranks.log"; exit 1; }
done
"$venv/bin/python" - "$work" <<'PY'
import json, sys
rate = {}
for ranks in (1, 2):
    rows = [json.loads(l) for l in open(f"{sys.argv[1]}/run{ranks}/train_log.jsonl")]
    vals = [r["clips_per_sec"] for r in rows if "clips_per_sec" in r and r["step"] > 3]
    rate[ranks] = sum(vals) / len(vals)
    print(f"{ranks} rank(s): {rate[ranks]:.3f} clips/s over {len(vals)} steps")
print(f"2 ranks / 1 rank: {rate[2] / rate[1]:.2f}x")
PY

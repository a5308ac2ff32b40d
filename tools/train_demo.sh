#!/usr/bin/env bash
# The main job on a fresh machine: set up, make demo data, train
# configs/tiny.yaml on it (CPU, a few minutes), and report the held-out
# evaluation before and after. Extra arguments go to //tools:train.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash tools/setup.sh
bazel build //tools:make_demo_data //tools:prepare_text_embeddings //tools:train
[ -d data/demo/hq ] || .bazel/bin/tools/make_demo_data --out data/demo --width 320 --height 192 --frames 17 --clips 6
[ -d data/demo_eval/hq ] || .bazel/bin/tools/make_demo_data --out data/demo_eval --width 320 --height 192 --frames 17 --clips 4 --seed 1000
[ -f data/demo/text_embeddings.safetensors ] ||
  .bazel/bin/tools/prepare_text_embeddings --config configs/tiny.yaml --out data/demo/text_embeddings.safetensors
# A rerun replaces the demo's earlier run in its save_dir, unless it resumes it.
overwrite=(--overwrite)
for a in "$@"; do [[ "$a" == --resume* ]] && overwrite=(); done
.bazel/bin/tools/train --config configs/tiny.yaml "${overwrite[@]}" "$@"

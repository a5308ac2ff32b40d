#!/usr/bin/env bash
# Restoring long videos in bounded memory: peak RSS and frames per second of
# //tools:infer on 720p footage of two lengths (default 30 s and 120 s at
# 24 fps), configs/tiny.yaml at the footage's own resolution, in the same
# run, and the ratio of the two peaks (streaming keeps it near 1).
#   bash benchmarks/infer/long_video.sh [short_s, default 30] [long_s, default 120] [fps, default 24] [infer flags...]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
short_s="${1:-30}"
long_s="${2:-120}"
rate="${3:-24}"
shift 3 || shift $#
bazel build //tools:train //tools:infer //tools:make_demo_data //tools:prepare_text_embeddings
bin="$(bazel info bazel-bin 2>/dev/null)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A checkpoint of the tiny config (one training step: speed and memory do
# not depend on what the weights learned).
"$bin/tools/make_demo_data" --out "$work/data" --width 160 --height 96 --frames 9 --clips 2 >/dev/null
"$bin/tools/prepare_text_embeddings" --config configs/tiny.yaml --out "$work/text.safetensors" >/dev/null
"$bin/tools/train" --config configs/tiny.yaml --set data.data_root="$work/data" \
  --set training.text_embeddings="$work/text.safetensors" --set training.eval_clips=0 \
  --set training.max_steps=1 --set checkpoint.save_dir="$work/ckpt" --set logging.progress_bar=false \
  >"$work/train.log" 2>&1 || { cat "$work/train.log"; exit 1; }

# 720p footage with motion and detail, encoded by FFmpeg's libx264.
for s in "$short_s" "$long_s"; do
  mkdir -p "$work/in$s"
  ffmpeg -v error -f lavfi -i "testsrc2=size=1280x720:rate=$rate:duration=$s" -c:v libx264 -crf 18 \
    -pix_fmt yuv420p "$work/in$s/clip.mp4"
done
for s in "$short_s" "$long_s"; do
  /usr/bin/time -f "%M" -o "$work/rss$s" "$bin/tools/infer" --video_path "$work/in$s" \
    --output_dir "$work/out$s" --checkpoint "$work/ckpt/checkpoint_final.pth" --res_h 720 --res_w 1280 \
    "$@" >"$work/infer$s.log" 2>&1 || { cat "$work/infer$s.log"; exit 1; }
done
python3 - "$work" "$rate" "$short_s" "$long_s" <<'PY'
import re, sys
work, rate, runs = sys.argv[1], sys.argv[2], sys.argv[3:]
peak = {}
for s in runs:
    peak[s] = int(open(f"{work}/rss{s}").read().split()[-1]) / 1024
    line = [l for l in open(f"{work}/infer{s}.log") if "->" in l][-1]
    frames, fps = re.search(r"\((\d+) frames in [\d:]+, ([\d.]+) fps\)", line).groups()
    print(f"{s:>4} s of 720p at {rate} fps: {frames} frames, {fps} frames/s, peak RSS {peak[s]:.0f} MiB")
print(f"peak RSS {runs[1]} s / {runs[0]} s: {peak[runs[1]] / peak[runs[0]]:.3f}")
PY

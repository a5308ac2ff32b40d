#!/usr/bin/env bash
# tools/degrade on a clip made here: the LQ keeps every frame at 1/scale of
# the size (made even for 4:2:0), is far from the HQ yet the same picture,
# follows its seed, and a missing input is an error naming it.
#   degrade_test.sh DEGRADE MAKE_DEMO_DATA
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
degrade="$PWD/$1"
make_demo_data="$PWD/$2"
tmp="$(mktemp -d "${TEST_TMPDIR:-/tmp}/degrade.XXXXXX")"

"$make_demo_data" --out "$tmp/data" --width 200 --height 120 --frames 9 --clips 1 >/dev/null
hq="$tmp/data/hq/clip0_libx264.mp4"
"$degrade" --input "$hq" --output "$tmp/lq.mp4" --seed 3 >"$tmp/out.txt" || fail "degrade exits $?: $(cat "$tmp/out.txt")"
grep -q "9 frames, 50x30 from 200x120" "$tmp/out.txt" || fail "unexpected summary: $(cat "$tmp/out.txt")"
probe() {
  ffprobe -v error -count_frames -select_streams v -show_entries stream=width,height,nb_read_frames -of csv=p=0 "$1"
}
[ "$(probe "$tmp/lq.mp4")" = "50,30,9" ] || fail "LQ stream is $(probe "$tmp/lq.mp4"), expected 50,30,9"
# Scale 4 with Real-ESRGAN's blur, noise and compression: well below the HQ,
# but the same picture (a random image would be near 10 dB).
psnr="$(ffmpeg -v info -nostdin -i "$tmp/lq.mp4" -i "$hq" \
  -lavfi "[0]scale=200:120:flags=bicubic[a];[a][1]psnr" -f null - 2>&1 | sed -n 's/.*average:\([0-9.]*\).*/\1/p')"
awk -v p="$psnr" 'BEGIN { exit !(p > 14 && p < 35) }' || fail "PSNR of the LQ to the HQ is $psnr dB"
"$degrade" --input "$hq" --output "$tmp/again.mp4" --seed 3 >/dev/null
cmp -s <(ffmpeg -v error -i "$tmp/lq.mp4" -f rawvideo -) <(ffmpeg -v error -i "$tmp/again.mp4" -f rawvideo -) ||
  fail "the same seed gave another LQ"
if "$degrade" --input "$tmp/missing.mp4" --output "$tmp/x.mp4" 2>"$tmp/err.txt"; then fail "a missing input succeeded"; fi
grep -q "missing.mp4" "$tmp/err.txt" || fail "the error does not name the input: $(cat "$tmp/err.txt")"
echo PASS

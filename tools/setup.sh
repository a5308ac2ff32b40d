#!/usr/bin/env bash
# Installs what seedvr needs on a Debian 12 machine; safe to run repeatedly.
#   Debian packages: tools/deps/apt-packages.txt
#   Python venv with the pinned torch wheel (LibTorch): tools/deps/requirements.txt,
#   at $SEEDVR_VENV (default /opt/seedvr/venv).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${SEEDVR_VENV:-/opt/seedvr/venv}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

mapfile -t packages < <(grep -v '^\s*#' "$repo/tools/deps/apt-packages.txt" | grep -v '^\s*$')
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating Python environment $venv"
  $sudo mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
fi
mapfile -t pins < <(grep -v '^\s*#' "$repo/tools/deps/requirements.txt" | grep -v '^\s*$')
installed="$("$venv/bin/python" -m pip freeze 2>/dev/null || true)"
stale=0
for pin in "${pins[@]}"; do grep -qxF "$pin" <<<"$installed" || stale=1; done
if [ "$stale" -eq 1 ]; then
  echo "setup: installing ${pins[*]} (about 4.5 GB with the CUDA libraries)"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$repo/tools/deps/requirements.txt"
fi
echo "setup: ready (LibTorch $("$venv/bin/python" -c 'import torch; print(torch.__version__)') in $venv)"

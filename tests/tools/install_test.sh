#!/usr/bin/env bash
# Installs the built tools with tools/install.sh into a temporary prefix and
# checks the `seedvr` command: its command list, every tool's --help, an unknown
# command, --version, and the installed tools running from a copy of the
# prefix, far from Bazel's output tree, with a bare environment.
#   install_test.sh TOOL...   (the //tools:binaries files)
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }

tools=()
for t in "$@"; do tools+=("$PWD/$t"); done
tmp="$(mktemp -d "${TEST_TMPDIR:-/tmp}/install.XXXXXX")"
bash tools/install.sh --prefix "$tmp/prefix" "${tools[@]}"
seedvr="$tmp/prefix/bin/seedvr"

help="$("$seedvr" --help)" || fail "seedvr --help exits $?"
[ "$("$seedvr")" = "$help" ] || fail "seedvr with no arguments differs from --help"
[ "$("$seedvr" help)" = "$help" ] || fail "seedvr help differs from --help"
for t in "${tools[@]}"; do
  command="$(basename "$t" | tr _ -)"
  # Each command is listed with its one-line description (tools/seedvr.sh).
  grep -qE "^  $command +[^ ]" <<<"$help" || fail "seedvr --help lacks '$command' with a description:
$help"
done
for command in train infer; do
  grep -qE "^  $command " <<<"$help" || fail "seedvr --help lacks $command"
done

train_help="$("$seedvr" train --help)" || fail "seedvr train --help exits $?"
grep -q -- "--config" <<<"$train_help" || fail "seedvr train --help does not mention --config"
[ "$("$seedvr" help train)" = "$train_help" ] || fail "seedvr help train differs from seedvr train --help"
# Every command's --help succeeds and lists its flags.
for t in "${tools[@]}"; do
  command="$(basename "$t" | tr _ -)"
  out="$("$seedvr" "$command" --help)" || fail "seedvr $command --help exits $?"
  grep -q -- "--[a-z]" <<<"$out" || fail "seedvr $command --help lists no flag: $out"
done

status=0
err="$("$seedvr" nonsense 2>&1 >/dev/null)" || status=$?
[ "$status" -eq 2 ] || fail "seedvr nonsense exits $status, not 2"
grep -q "'nonsense'" <<<"$err" || fail "seedvr nonsense does not name it: $err"
grep -qE "^  train " <<<"$err" || fail "seedvr nonsense does not list the commands: $err"

version="$("$seedvr" --version)" || fail "seedvr --version exits $?"
[[ "$version" =~ ^seedvr\ [^@\ ]+$ ]] || fail "seedvr --version prints '$version'"

# The prefix moved elsewhere and the original removed: the tools find their
# libraries without Bazel's tree, found through PATH as torchrun finds them.
mv "$tmp/prefix" "$tmp/moved"
cd /
run() { env -i PATH="$tmp/moved/bin:/usr/bin:/bin" "$@"; }
run seedvr make-demo-data --out "$tmp/demo" --clips 1 --frames 5 --width 64 --height 64 >/dev/null ||
  fail "seedvr make-demo-data exits $? from the moved prefix"
[ -s "$tmp/demo/hq/clip0_libx264.mp4" ] || fail "seedvr make-demo-data wrote no clip"
run seedvr train --help >/dev/null || fail "seedvr train --help exits $? from the moved prefix"
echo "PASS"

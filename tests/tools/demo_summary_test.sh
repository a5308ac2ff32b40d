#!/usr/bin/env bash
# tools/demo_summary.py on hand-written train_log.jsonl files: the figures
# and which aims are reached, and logs it cannot use named with the reason.
#   demo_summary_test.sh DEMO_SUMMARY
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
summary="$PWD/$1"
tmp="$(mktemp -d "${TEST_TMPDIR:-/tmp}/demo_summary.XXXXXX")"
mkdir -p "$tmp/apt" "$tmp/l1"
eval_line() {  # STEP RESTORED_PSNR HF_RATIO
  echo "{\"step\":$1,\"eval_restored_psnr\":$2,\"eval_lq_psnr\":17.5,\"eval_vae_psnr\":21.0,\"eval_lq_vae_psnr\":17.0,\"eval_restored_hf_ratio\":$3,\"eval_lq_hf_ratio\":0.01}"
}
{
  eval_line 0 12.0 0.4
  for s in 1 2 3 4 5; do echo "{\"step\":$s,\"d_adv\":1.$s,\"l1\":0.3}"; done
  eval_line 5 18.75 0.5
} >"$tmp/apt/train_log.jsonl"
eval_line 5 18.0 0.3 >"$tmp/l1/train_log.jsonl"

out="$(python3 "$summary" "$tmp/apt" "$tmp/l1")" || fail "demo_summary exits $?: $out"
expect() { grep -qF -- "$1" <<<"$out" || fail "missing '$1' in:"$'\n'"$out"; }
expect "after 5 APT steps"
expect "18.75 dB   (+1.25 dB over the LQ; aim +1.00: reached)"
expect "PSNR LQ round trip  17.00 dB"
expect "PSNR L1-only run    18.00 dB"
# The last fifth of 5 steps is step 5 alone.
expect "last fifth of steps 1.500"
expect "aim 0.5-1.3: NOT reached"
expect "APT 0.500, L1-only 0.300, LQ 0.010 (aim: APT nearer 1 than L1-only: reached)"

# A log from before the LQ round trip was evaluated: named, not a traceback.
sed -i 's/,"eval_lq_vae_psnr":17.0//' "$tmp/l1/train_log.jsonl"
status=0
err="$(python3 "$summary" "$tmp/apt" "$tmp/l1" 2>&1)" || status=$?
[ "$status" -ne 0 ] || fail "a log without eval_lq_vae_psnr was accepted"
grep -q "$tmp/l1/train_log.jsonl: the last evaluation (step 5) lacks eval_lq_vae_psnr" <<<"$err" || fail "unclear error: $err"
# A record cut short by a crash: the file and line are named.
eval_line 5 18.0 0.3 >"$tmp/l1/train_log.jsonl"
echo '{"step":6,"eval_rest' >>"$tmp/l1/train_log.jsonl"
status=0
err="$(python3 "$summary" "$tmp/apt" "$tmp/l1" 2>&1)" || status=$?
[ "$status" -ne 0 ] || fail "a cut-short record was accepted"
grep -q "$tmp/l1/train_log.jsonl:2: not a JSON record" <<<"$err" || fail "unclear error: $err"
echo PASS

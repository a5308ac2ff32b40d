#!/usr/bin/env python3
"""The demo's figures, from the train_log.jsonl files its runs wrote.

  demo_summary.py APT_DIR L1_ONLY_DIR

Prints the held-out evaluation at the end of the APT run (PSNR of the
restoration, of the LQ input and of the VAE's round trips of HQ and LQ, in
dB), the mean discriminator loss over the last fifth of the APT steps, and the
high-frequency energy ratio (restored / HQ) of the APT run against the
L1-only run of the same length, each beside what the demo aims at.
"""
import json
import math
import sys


def read_log(run_dir):
    path = f"{run_dir}/train_log.jsonl"
    try:
        with open(path) as f:
            lines = f.readlines()
    except OSError as e:
        sys.exit(f"demo_summary: cannot read {path}: {e.strerror}")
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            sys.exit(f"demo_summary: {path}:{number}: not a JSON record ({e.msg})")
    return records


# What the summary reads from the last evaluation of each run.
EVAL_KEYS = ("eval_restored_psnr", "eval_lq_psnr", "eval_vae_psnr", "eval_lq_vae_psnr",
             "eval_restored_hf_ratio", "eval_lq_hf_ratio")


def final_eval(lines, path):
    evals = [l for l in lines if "eval_restored_psnr" in l]
    if not evals:
        sys.exit(f"demo_summary: {path}/train_log.jsonl holds no evaluation")
    missing = [k for k in EVAL_KEYS if k not in evals[-1]]
    if missing:
        sys.exit(f"demo_summary: {path}/train_log.jsonl: the last evaluation (step {evals[-1].get('step')}) "
                 f"lacks {', '.join(missing)}; was it written by an older train?")
    return evals[-1]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    apt_dir, l1_dir = sys.argv[1:]
    apt, l1 = read_log(apt_dir), read_log(l1_dir)
    e, b = final_eval(apt, apt_dir), final_eval(l1, l1_dir)
    d_adv = [l["d_adv"] for l in apt if "d_adv" in l]
    if not d_adv:
        sys.exit(f"demo_summary: {apt_dir}/train_log.jsonl holds no d_adv (was it an L1-only run?)")
    tail = d_adv[len(d_adv) - max(1, len(d_adv) // 5):]
    d_tail = sum(tail) / len(tail)
    gain = e["eval_restored_psnr"] - e["eval_lq_psnr"]
    apt_hf, l1_hf = e["eval_restored_hf_ratio"], b["eval_restored_hf_ratio"]

    def mark(ok):
        return "reached" if ok else "NOT reached"

    print(f"held-out evaluation after {e['step']} APT steps (EMA generator):")
    print(f"  PSNR restored      {e['eval_restored_psnr']:6.2f} dB   "
          f"({gain:+.2f} dB over the LQ; aim +1.00: {mark(gain >= 1.0)})")
    print(f"  PSNR LQ            {e['eval_lq_psnr']:6.2f} dB")
    print(f"  PSNR VAE round trip {e['eval_vae_psnr']:5.2f} dB   (of HQ: the ceiling of any restoration in its latents)")
    print(f"  PSNR LQ round trip {e['eval_lq_vae_psnr']:6.2f} dB   (what returning the LQ latent scores)")
    print(f"  PSNR L1-only run   {b['eval_restored_psnr']:6.2f} dB")
    print(f"discriminator: mean d_adv over the last fifth of steps {d_tail:.3f} "
          f"(chance 2 ln 2 = {2 * math.log(2):.3f}; aim 0.5-1.3: {mark(0.5 <= d_tail <= 1.3)})")
    print(f"high-frequency energy / HQ: APT {apt_hf:.3f}, L1-only {l1_hf:.3f}, LQ {e['eval_lq_hf_ratio']:.3f} "
          f"(aim: APT nearer 1 than L1-only: {mark(abs(apt_hf - 1) < abs(l1_hf - 1))})")


if __name__ == "__main__":
    main()

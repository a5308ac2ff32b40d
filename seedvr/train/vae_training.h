// Training the causal video VAE itself: the first stage of a run that has no
// released VAE at its size (the tiny configs), so that the DiT later works on
// latents that mean something in pixels.
//
// Data: HQ clips of data.data_root/hq (data::SampleContent::kHqOnly: no LQ
// is read or synthesised), random data.crop_size crops of data.num_frames
// (4n+1) frames, vae_training.batch_size per step, in [-1, 1].
//
// Loss (the KL-regularised autoencoder of LDM, Rombach et al. 2022,
// ldm/modules/losses/contperceptual.py, without its LPIPS and GAN terms):
//   L = sum|x - D(z)| + kl_weight * sum KL(q(z|x) || N(0, I)),
//   z = mean + exp(logvar / 2) * eps, eps ~ N(0, I)
// both sums over a clip, so kl_weight means what LDM's does (1e-6 there);
// L is reported divided by the clip's pixel values, as a mean L1 in [-1, 1]
// units. The encoder and decoder train through their forward() directly
// (VideoVAE::Encode/Decode turn gradients off: the VAE is frozen in SeedVR2).
//
// Optimizer: AdamW (adamw.h), lr warmed up linearly over warmup_steps, then
// constant or cosine-decayed to 0 at the last step; gradients clipped to
// grad_clip. Deterministic: weights are initialised from training.seed,
// clips come from data.seed (loader.h), and step s draws its posterior
// noise from a generator seeded by (training.seed, s).
//
// Evaluation (vae_training.eval_every and at the end): one clip of
// eval_frames frames from each video of training.eval_root/hq, whole frames
// cropped at the centre to multiples of 8, encoded to the posterior mean
// and decoded through VideoVAE::Encode/Decode (the inference path). PSNR is
// in dB against the input with pixels in [0, 1], the reconstruction rounded
// to 8 bits as a written video holds it; `latent_std` is the standard
// deviation of all posterior means times vae.scaling_factor, what the DiT
// sees and expects near 1.
//
// Output: every parameter and buffer under the official VAE key names, fp32,
// written atomically to training.vae_checkpoint (.safetensors), which
// vae::LoadVAEWeights and the APT trainer's training.vae_checkpoint read. An
// existing file is refused unless `overwrite` is set, before any training.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "seedvr/config/config.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/models/vae/vae_model.h"

namespace seedvr::train {

struct VAEEvalResult {
  std::vector<std::pair<std::string, double>> clip_psnr_db;  // per held-out video (stem)
  double psnr_db = 0;     // mean over the clips
  double latent_std = 0;  // of the posterior means, times vae.scaling_factor
  double latent_mean = 0;  // the same for the mean
  // The scaling_factor that makes latent_std 1.
  double unit_scaling_factor = 0;
};

// The round trip of one clip of `frames` frames from each video of
// `eval_root`/hq; `data` gives the reading options and data.seed the clip
// starts. An error names eval_root when it holds no usable video.
absl::StatusOr<VAEEvalResult> EvaluateVAE(vae::VideoVAEImpl& vae, const std::string& eval_root,
                                          const data::DataConfig& data, int64_t frames, const c10::Device& device);

struct VAETrainingOptions {
  bool overwrite = false;  // replace an existing training.vae_checkpoint
  std::function<void(const std::string&)> print;  // progress lines; none when empty
};

struct VAETrainingResult {
  vae::VideoVAE vae{nullptr};  // the trained model, as saved
  std::vector<double> losses;  // the loss of every step
  double train_seconds = 0;    // the step loop alone, without evaluation
  bool evaluated = false;      // false without training.eval_root
  VAEEvalResult eval;          // at the end
};

// Trains config.vae on config.data's HQ clips with config.vae_training and
// writes training.vae_checkpoint.
absl::StatusOr<VAETrainingResult> TrainVAE(const config::TrainConfig& config, const VAETrainingOptions& options = {});

// The weights as written: every parameter and buffer of `vae`, fp32 on the
// CPU, under the official key names.
core::TensorList VAEWeights(vae::VideoVAEImpl& vae);

}  // namespace seedvr::train

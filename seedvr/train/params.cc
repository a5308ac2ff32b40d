#include "seedvr/train/params.h"

#include "absl/strings/str_cat.h"
#include "seedvr/core/device.h"
#include "seedvr/models/dit/dit_memory.h"

namespace seedvr::train {

absl::StatusOr<TrainerParams> LowerTrainConfig(const config::TrainConfig& c, const DiscriminatorTraits& d,
                                               const std::string& parallelism) {
  if (auto s = d.validate(c); !s.ok()) return s;
  if (c.loss.lambda_r1 > 0 && !d.double_backward) {
    return absl::InvalidArgumentError(absl::StrCat(
        "loss.lambda_r1: the ", d.name, " discriminator cannot take exact R1 (no double backward through it, as in "
        "APT); set it to 0 and use loss.lambda_ar1 / loss.lambda_ar2, got ", c.loss.lambda_r1));
  }
  const bool pixel = c.discriminator.input == "pixel";
  if (pixel && d.judges != discriminator::Judges::kLatentsOrPixels) {
    return absl::InvalidArgumentError(
        absl::StrCat("discriminator.input: the ", d.name, " discriminator judges latents, got pixel"));
  }
  auto device = core::ResolveDevice(c.training.device, core::LocalRankFromEnv(), "training.device");
  if (!device.ok()) return device.status();
  auto bf16 = core::ResolveBf16(c.training.precision, *device, dit::IsBf16Compute(c.model), "training.precision");
  if (!bf16.ok()) return bf16.status();
  auto vae_bf16 = core::ResolveBf16(c.training.vae_precision, *device, false, "training.vae_precision");
  if (!vae_bf16.ok()) return vae_bf16.status();
  TrainerParams p;
  p.config = c;
  p.device = *device;
  p.bf16 = *bf16;
  p.config.model.compute_dtype = p.bf16 ? "bfloat16" : "float32";
  p.vae_bf16 = *vae_bf16;
  p.ema_on_host = c.training.ema_device == "cpu";
  p.optimizer_offload = c.optimizer.offload == "cpu";
  p.parallelism = parallelism;
  p.bucket_bytes = static_cast<int64_t>(c.parallel.bucket_mb * (1 << 20));
  p.wait_timeout = std::chrono::milliseconds(static_cast<int64_t>(c.parallel.wait_timeout_s * 1000));
  p.batch_size = c.training.batch_size;
  p.grad_accum = c.training.grad_accum;
  p.d_steps = c.training.d_steps;
  p.d_input = pixel ? DiscriminatorInput::kPixel : DiscriminatorInput::kLatent;
  p.r1 = losses::LazyR1{c.loss.lambda_r1, c.loss.r1_interval};
  p.weights = {c.loss.lambda_adv, c.loss.lambda_fm, c.loss.lambda_ar1,
               c.loss.lambda_ar2, c.loss.ar_sigma,  c.loss.lambda_l1};
  const auto& o = c.optimizer;
  p.g_optimizer = {o.g_lr, o.betas[0], o.betas[1], o.eps, o.weight_decay};
  p.d_optimizer = {o.d_lr, o.d_betas[0], o.d_betas[1], o.eps, o.d_weight_decay};
  p.grad_clip = o.grad_clip;
  p.ema_decay = c.training.ema_decay;
  p.ema_warmup = c.training.ema_warmup;
  p.seed = c.training.seed;
  p.sample_posterior = c.training.sample_posterior;
  p.condition_noise_scale = c.condition.noise_scale;
  p.max_steps = c.training.max_steps;
  p.save_every = c.checkpoint.save_every;
  p.keep_last = c.checkpoint.keep_last;
  p.eval_clips = c.training.eval_clips;
  p.eval_every = c.training.eval_every;
  p.save_dir = c.checkpoint.save_dir;
  p.resume = c.checkpoint.resume;
  p.overwrite = c.checkpoint.overwrite;
  return p;
}

}  // namespace seedvr::train

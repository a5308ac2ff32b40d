// Discriminator regularisers.
//
// - Exact R1 (Mescheder et al. 2018; StyleGAN2): (gamma / 2) * E[|grad_x D(x)|^2]
//   on real clips, by double backward. Lazy (StyleGAN2): computed every
//   `interval` D steps and scaled by `interval`, so its mean strength stays
//   gamma. The penalty joins that D step's loss: D takes one optimizer step
//   per update either way, so StyleGAN2's optimizer correction (lr and betas
//   by interval / (interval + 1)), which pays for the separate
//   regularisation step it takes, does not apply. Needs a discriminator with
//   double backward (kDoubleBackward, models/discriminator/discriminator.h).
// - Approximated R1/R2 (Seaweed-APT, arXiv 2501.08316;
//   SeedVR2, arXiv 2506.05301):
//   lambda * E[(D(x) - D(x + sigma eps))^2] on real (R1) or generated (R2)
//   clips. No double backward, so it works with gradient checkpointing,
//   sharding and fused attention.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>

namespace seedvr::losses {

// Maps a clip batch [B, C, T, H, W] to D's logits.
using LogitsFn = std::function<at::Tensor(const at::Tensor&)>;

// E over the batch of the squared gradient norm of sum(D(x)) w.r.t. x, a 0-d
// tensor differentiable w.r.t. D's parameters.
at::Tensor R1Penalty(const LogitsFn& logits_fn, const at::Tensor& real);

// When lazy R1 runs and how it is weighted.
struct LazyR1 {
  double gamma = 10.0;
  int64_t interval = 16;

  bool Due(int64_t d_step) const { return gamma > 0 && d_step % interval == 0; }
  // The loss added on a due step: (gamma / 2) * penalty * interval.
  at::Tensor Loss(const at::Tensor& penalty) const;
};

// E[(D(x) - D(x + sigma * noise))^2], given D(x) as `logits`; `noise` (same
// shape as x) is passed in so that the caller controls the RNG.
at::Tensor ApproximatedPenalty(const LogitsFn& logits_fn, const at::Tensor& logits, const at::Tensor& x,
                               const at::Tensor& noise, double sigma);

}  // namespace seedvr::losses

// Discriminator regularisers and the generator's auxiliary losses.
//
// - Exact R1 (StyleGAN2): (gamma / 2) * E[|grad_x D(x)|^2] on real clips, by
//   double backward. Lazy: computed every `interval` D steps and scaled by
//   `interval`, with the D optimizer's lr and betas corrected by
//   interval / (interval + 1) so the effective step stays the same.
// - Approximated R1/R2 (APT, SeedVR2): lambda * E[(D(x) - D(x + sigma eps))^2]
//   on real (R1) or generated (R2) clips. No double backward, so it works
//   with gradient checkpointing, sharding and fused attention.
// - Feature matching: mean over tapped layers of L1(features(x̂), features(x)),
//   real features detached.
#pragma once

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <functional>
#include <vector>

namespace seedvr::losses {

// E over the batch of the squared gradient norm of sum(D(x)) w.r.t. x.
// `logits_fn` maps a clip batch to logits; x must not require grad yet.
inline at::Tensor R1Penalty(const std::function<at::Tensor(const at::Tensor&)>& logits_fn, const at::Tensor& real) {
  at::Tensor x = real.detach().requires_grad_(true);
  at::Tensor logits = logits_fn(x);
  at::Tensor grad = torch::autograd::grad({logits.sum()}, {x}, /*grad_outputs=*/{}, /*retain_graph=*/true,
                                          /*create_graph=*/true)[0];
  return grad.pow(2).flatten(1).sum(1).mean();
}

// When lazy R1 runs and how it is weighted.
struct LazyR1 {
  double gamma = 10.0;
  int64_t interval = 16;

  bool Due(int64_t d_step) const { return gamma > 0 && d_step % interval == 0; }
  // The loss added on a due step: (gamma / 2) * penalty * interval.
  at::Tensor Loss(const at::Tensor& penalty) const {
    return penalty * (gamma / 2.0 * static_cast<double>(interval));
  }
  // StyleGAN2's optimizer correction for lazy regularisation.
  double Ratio() const {
    return gamma > 0 && interval > 1 ? static_cast<double>(interval) / (interval + 1) : 1.0;
  }
  double CorrectLr(double lr) const { return lr * Ratio(); }
  double CorrectBeta(double beta) const { return std::pow(beta, Ratio()); }
};

// lambda * E[(D(x) - D(x + sigma * eps))^2]; `noise` (same shape as x) is
// passed in so that the caller controls the RNG.
inline at::Tensor ApproximatedPenalty(const std::function<at::Tensor(const at::Tensor&)>& logits_fn,
                                      const at::Tensor& logits, const at::Tensor& x, const at::Tensor& noise,
                                      double sigma) {
  at::Tensor perturbed = logits_fn(x + sigma * noise);
  return (logits - perturbed).pow(2).mean();
}

inline at::Tensor FeatureMatching(const std::vector<at::Tensor>& fake, const std::vector<at::Tensor>& real) {
  TORCH_CHECK(!fake.empty() && fake.size() == real.size(), "feature matching needs matching feature lists, got ",
              fake.size(), " and ", real.size());
  at::Tensor total = at::zeros({}, fake[0].options());
  for (size_t i = 0; i < fake.size(); ++i) total = total + (fake[i] - real[i].detach()).abs().mean();
  return total / static_cast<double>(fake.size());
}

}  // namespace seedvr::losses

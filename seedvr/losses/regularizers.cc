#include "seedvr/losses/regularizers.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

namespace seedvr::losses {

at::Tensor R1Penalty(const LogitsFn& logits_fn, const at::Tensor& real) {
  at::Tensor x = real.detach().requires_grad_(true);
  at::Tensor logits = logits_fn(x);
  at::Tensor grad = torch::autograd::grad({logits.sum()}, {x}, /*grad_outputs=*/{}, /*retain_graph=*/true,
                                          /*create_graph=*/true)[0];
  return grad.pow(2).flatten(1).sum(1).mean();
}

at::Tensor LazyR1::Loss(const at::Tensor& penalty) const {
  return penalty * (gamma / 2.0 * static_cast<double>(interval));
}

at::Tensor ApproximatedPenalty(const LogitsFn& logits_fn, const at::Tensor& logits, const at::Tensor& x,
                               const at::Tensor& noise, double sigma) {
  at::Tensor perturbed = logits_fn(x + sigma * noise);
  return (logits - perturbed).pow(2).mean();
}

}  // namespace seedvr::losses

// AdamW (Loshchilov & Hutter; the update of torch.optim.AdamW: decoupled
// weight decay, bias-corrected moments) with its state in plain named
// tensors, so that checkpoints hold it under the parameters' own names and
// resume bit for bit. Moments are kept in the parameters' dtype (fp32 master
// weights), one pair per parameter.
//
// The update runs as LibTorch's fused multi-tensor AdamW kernel
// (_fused_adamw_, torch.optim.AdamW(fused=True)) and the clipping as its
// multi-tensor norm and scale (_foreach_norm, _foreach_mul_).
//
// Offload (ZeRO-Offload, Ren et al. 2021, as optimizer.offload: cpu): an fp32
// master copy of every parameter and both moments live in host memory
// (pinned when the parameters are on a GPU); each step copies the gradients
// to the host, updates there, and copies the weights back. The result equals
// the on-device update bit for bit.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "seedvr/core/tensor_file.h"

namespace seedvr::train {

struct AdamWOptions {
  double lr = 1e-4;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

class AdamW {
 public:
  AdamW(std::vector<std::pair<std::string, at::Tensor>> params, AdamWOptions options, bool offload = false);

  AdamWOptions& options() { return options_; }
  const AdamWOptions& options() const { return options_; }
  int64_t steps() const { return step_; }

  void ZeroGrad();
  // One update of every parameter that has a gradient.
  void Step();

  // Global L2 norm of the gradients; scales them down to `max_norm` when
  // max_norm > 0. Returns the norm before clipping. When the parameters are
  // shards of a model (ZeRO), `sum_over_ranks` adds up every rank's sum of
  // squares.
  double ClipGradNorm(double max_norm, const std::function<double(double)>& sum_over_ranks = {});

  // Bytes of the optimizer state: both moments, plus the host master copies.
  int64_t StateBytes() const;

  // {"step", "lr", "beta1", "beta2", "eps", "weight_decay", "exp_avg": {name: t},
  //  "exp_avg_sq": {...}}
  core::PyValue State() const;
  // Loads the moments and the step count; the options this optimizer was
  // built with (the run's config) win over the saved ones, and the returned
  // text lists what differs ("lr 0.0001 -> 5e-05", empty when nothing).
  // Errors name `where` and the first entry that does not match the
  // parameters. With offload, the host master copies are refreshed from the
  // parameters, so load the parameters first.
  absl::StatusOr<std::string> LoadState(const core::PyValue& state, const std::string& where);

 private:
  std::vector<std::pair<std::string, at::Tensor>> params_;
  AdamWOptions options_;
  bool offload_;
  std::vector<at::Tensor> master_;  // host fp32 copies (offload only)
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_;
  int64_t step_ = 0;
};

}  // namespace seedvr::train

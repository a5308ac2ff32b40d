// Exponential moving average of the generator's weights: the weights users
// restore with. Held in the parameters' dtype (fp32 master weights) under
// the generator's parameter names, so the EMA state dict loads straight
// into the DiT (official key names).
//   shadow = d_n * shadow + (1 - d_n) * param, after G update n = 0, 1, ...
// with the usual warm-up (timm, diffusers EMAModel) d_n = min(decay,
// (1 + n) / (10 + n)), so the average forgets the initial weights within
// the first few hundred updates instead of after 1/(1 - decay) of them
// (0.9998 alone leaves 82% of the initial weights after 1,000 updates), or
// d_n = decay without warm-up.
// The shadow lives on the parameters' device, or in host memory
// (training.ema_device: cpu), where the update copies each parameter over.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "seedvr/core/tensor_file.h"

namespace seedvr::train {

class Ema {
 public:
  // Starts from a copy of `params`, which it then follows; `on_host` keeps
  // the copy in host memory.
  Ema(const std::vector<std::pair<std::string, at::Tensor>>& params, double decay, bool warmup, bool on_host = false);

  // The decay of update n (0-based).
  double DecayAt(int64_t n) const;
  // Update n: moves the shadow towards the parameters by 1 - DecayAt(n).
  void Update(int64_t n);

  const core::TensorList& weights() const { return shadow_; }
  int64_t bytes() const;

  // Replaces the shadow weights; errors name `where` and the first mismatch.
  absl::Status Load(const core::TensorList& weights, const std::string& where);

 private:
  double decay_;
  bool warmup_;
  std::vector<at::Tensor> sources_;
  core::TensorList shadow_;
};

}  // namespace seedvr::train

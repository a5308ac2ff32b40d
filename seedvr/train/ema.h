// Exponential moving average of the generator's weights: the weights users
// restore with. Held in the parameters' dtype (fp32 master weights) under
// the generator's parameter names, so the EMA state dict loads straight
// into the DiT (official key names).
//   shadow = decay * shadow + (1 - decay) * param, after every G update.
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
  Ema(const std::vector<std::pair<std::string, at::Tensor>>& params, double decay, bool on_host = false);

  void Update();

  const core::TensorList& weights() const { return shadow_; }
  int64_t bytes() const;

  // Replaces the shadow weights; errors name `where` and the first mismatch.
  absl::Status Load(const core::TensorList& weights, const std::string& where);

 private:
  double decay_;
  std::vector<at::Tensor> sources_;
  core::TensorList shadow_;
};

}  // namespace seedvr::train

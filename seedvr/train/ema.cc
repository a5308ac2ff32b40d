#include "seedvr/train/ema.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"

namespace seedvr::train {

Ema::Ema(const std::vector<std::pair<std::string, at::Tensor>>& params, double decay, bool warmup, bool on_host)
    : decay_(decay), warmup_(warmup) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, p] : params) {
    sources_.push_back(p);
    shadow_.push_back(
        {name, on_host ? p.detach().to(at::kCPU, /*non_blocking=*/false, /*copy=*/true) : p.detach().clone()});
  }
}

int64_t Ema::bytes() const {
  int64_t n = 0;
  for (const core::NamedTensor& t : shadow_) n += t.tensor.numel() * t.tensor.element_size();
  return n;
}

double Ema::DecayAt(int64_t n) const {
  return warmup_ ? std::min(decay_, (1.0 + static_cast<double>(n)) / (10.0 + static_cast<double>(n))) : decay_;
}

void Ema::Update(int64_t n) {
  torch::NoGradGuard no_grad;
  const double decay = DecayAt(n);
  std::vector<at::Tensor> shadow, sources;
  for (size_t i = 0; i < shadow_.size(); ++i) {
    shadow.push_back(shadow_[i].tensor);
    sources.push_back(sources_[i].detach().to(shadow_[i].tensor.device()));
  }
  // One multi-tensor lerp over every weight.
  if (!shadow.empty()) at::_foreach_lerp_(shadow, sources, 1 - decay);
}

absl::Status Ema::Load(const core::TensorList& weights, const std::string& where) {
  if (weights.size() != shadow_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": EMA holds ", weights.size(), " tensors, expected ", shadow_.size()));
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < shadow_.size(); ++i) {
    if (weights[i].name != shadow_[i].name || !weights[i].tensor.sizes().equals(shadow_[i].tensor.sizes())) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": EMA entry '", weights[i].name, "' does not match '", shadow_[i].name, "'"));
    }
    shadow_[i].tensor.copy_(weights[i].tensor);
  }
  return absl::OkStatus();
}

}  // namespace seedvr::train

#include "seedvr/models/vae/vae_weights.h"

#include <torch/nn/module.h>

#include "absl/strings/str_cat.h"
#include "seedvr/core/state_dict.h"

namespace seedvr::vae {

absl::Status LoadVAEWeights(torch::nn::Module& model, const core::TensorList& weights) {
  absl::Status s = core::LoadStateDictStrict(model, weights, {});
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("VAE weights: ", s.message()));
  return s;
}

absl::Status LoadVAEWeights(torch::nn::Module& model, const std::string& path) {
  absl::Status s = core::LoadStateDictFile(model, path, {});
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("VAE weights: ", s.message()));
  return s;
}

}  // namespace seedvr::vae

#include "seedvr/models/dit/dit_weights.h"

#include <torch/nn/module.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace seedvr::dit {

namespace {

// RoPE frequencies are recomputed in fp32 by the module (fp16 files round
// them, some conversions drop them).
core::StrictLoadOptions DiTLoadOptions() {
  core::StrictLoadOptions options;
  options.recomputed = [](const std::string& k) { return absl::EndsWith(k, ".rope.rope.freqs"); };
  return options;
}

}  // namespace

absl::Status LoadDiTWeights(torch::nn::Module& model, const core::TensorList& weights) {
  return core::LoadStateDictStrict(model, weights, DiTLoadOptions());
}

absl::Status LoadDiTWeightsFile(torch::nn::Module& model, const std::string& path) {
  return core::LoadStateDictFile(model, path, DiTLoadOptions());
}

}  // namespace seedvr::dit

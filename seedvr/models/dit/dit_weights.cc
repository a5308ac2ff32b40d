#include "seedvr/models/dit/dit_weights.h"

#include <torch/nn/module.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace seedvr {

namespace {

// RoPE frequencies are recomputed in fp32 by the module (fp16 files round
// them, some conversions drop them).
StrictLoadOptions DiTLoadOptions() {
  StrictLoadOptions options;
  options.recomputed = [](const std::string& k) { return absl::EndsWith(k, ".rope.rope.freqs"); };
  return options;
}

}  // namespace

absl::Status LoadDiTWeights(torch::nn::Module& model, const TensorList& weights) {
  return LoadStateDictStrict(model, weights, DiTLoadOptions());
}

absl::Status LoadDiTWeightsFile(torch::nn::Module& model, const std::string& path) {
  return LoadStateDictFile(model, path, DiTLoadOptions());
}

}  // namespace seedvr

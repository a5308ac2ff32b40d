// 3D PatchGAN discriminator (pix2pix's 70x70 design in space and time).
//
// A stack of 4x4 convolutions with stride 2 in H and W (kernel 3, stride 1 in
// time), channels base_channels doubling per layer up to 8x, LeakyReLU 0.2,
// instance norm after every layer but the first; then a size-preserving 3x3x3
// layer and a 3x3x3 projection to one logit per space-time patch. The size-
// preserving tail (pix2pix uses 4x4 there) keeps small latent grids valid.
//
// Input [B, C, T, H, W] latents or pixels; logits [B, 1, T, H / 2^n, W / 2^n]
// (n = num_layers); features: every layer's output. The config keeps
// H / 2^n and W / 2^n at least 2 (config.cc): on a 1x1 grid the instance
// norms would see one position per frame and erase what the discriminator
// judges. Role contract: discriminator.h.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>

#include "seedvr/models/discriminator/discriminator.h"

namespace seedvr::discriminator {

struct PatchDiscriminatorOptions {
  int64_t in_channels = 16;
  int64_t base_channels = 64;
  int64_t num_layers = 3;
};

class PatchDiscriminator;

class PatchDiscriminatorImpl : public torch::nn::Module {
 public:
  using Options = PatchDiscriminatorOptions;
  static constexpr const char* kName = "patch";
  static constexpr bool kDoubleBackward = true;
  static constexpr Judges kJudges = Judges::kLatentsOrPixels;

  static absl::Status Validate(const config::TrainConfig& config);
  static absl::StatusOr<PatchDiscriminator> FromConfig(const config::TrainConfig& config,
                                                       const DiscriminatorContext& context);
  static int64_t CountParameters(const config::TrainConfig& config);
  static double ActivationBytes(const config::TrainConfig& config, const ClipShape& shape);

  explicit PatchDiscriminatorImpl(const PatchDiscriminatorOptions& o);
  DiscriminatorOutput forward(const at::Tensor& x);

 private:
  torch::nn::ModuleList layers_;
  torch::nn::Conv3d head_{nullptr};
};
TORCH_MODULE(PatchDiscriminator);

}  // namespace seedvr::discriminator

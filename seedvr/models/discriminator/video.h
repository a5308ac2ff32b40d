// StyleGAN2-style residual video discriminator, in 3D.
//
// fromRGB (1x1x1) -> num_layers residual blocks, each two 3x3x3 convolutions
// with LeakyReLU 0.2, downsampling H and W by 2 (and T by 2 while T > 1), the
// skip path a 1x1x1 convolution of the downsampled input, summed and scaled
// by sqrt(0.5) -> minibatch standard deviation (groups of up to 4, one
// channel) -> 3x3x3 convolution -> global average -> two dense layers -> one
// logit per clip. The global average (StyleGAN2 flattens a fixed 4x4 map)
// lets one discriminator judge any crop size.
//
// Input [B, C, T, H, W] latents or pixels; logits [B, 1]; features: every
// residual block's output. Role contract: discriminator.h.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "seedvr/models/discriminator/discriminator.h"

namespace seedvr::discriminator {

struct VideoDiscriminatorOptions {
  int64_t in_channels = 16;
  int64_t base_channels = 64;
  int64_t num_layers = 3;
  int64_t mbstd_group = 4;
};

class VideoResBlockImpl : public torch::nn::Module {
 public:
  VideoResBlockImpl(int64_t in, int64_t out);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Conv3d conv0{nullptr}, conv1{nullptr}, skip{nullptr};
};
TORCH_MODULE(VideoResBlock);

class VideoDiscriminator;

class VideoDiscriminatorImpl : public torch::nn::Module {
 public:
  using Options = VideoDiscriminatorOptions;
  static constexpr const char* kName = "video";
  static constexpr bool kDoubleBackward = true;
  static constexpr Judges kJudges = Judges::kLatentsOrPixels;

  static absl::Status Validate(const config::TrainConfig& config);
  static absl::StatusOr<VideoDiscriminator> FromConfig(const config::TrainConfig& config,
                                                       const DiscriminatorContext& context);
  static int64_t CountParameters(const config::TrainConfig& config);
  static double ActivationBytes(const config::TrainConfig& config, const ClipShape& shape);

  explicit VideoDiscriminatorImpl(const VideoDiscriminatorOptions& o);
  DiscriminatorOutput forward(const at::Tensor& x);

  torch::nn::Conv3d from_rgb{nullptr}, conv{nullptr};
  torch::nn::ModuleList blocks;
  torch::nn::Linear fc{nullptr}, out{nullptr};

 private:
  // Appends the std of each feature across a group of clips, averaged to one
  // channel, so D can see a lack of variety in G's outputs.
  at::Tensor MinibatchStd(const at::Tensor& x) const;

  int64_t group_;
};
TORCH_MODULE(VideoDiscriminator);

}  // namespace seedvr::discriminator

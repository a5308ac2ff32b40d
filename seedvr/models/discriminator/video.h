// StyleGAN2-style residual video discriminator, in 3D.
//
// fromRGB (1x1x1) -> num_layers residual blocks, each two 3x3x3 convolutions
// with LeakyReLU 0.2, downsampling H and W by 2 (and T by 2 while T > 1), the
// skip path a 1x1x1 convolution of the downsampled input, summed and scaled
// by sqrt(0.5) -> minibatch standard deviation (groups of up to 4, one
// channel) -> 3x3x3 convolution -> global average -> two dense layers -> one
// logit per clip. The global average (StyleGAN2 flattens a fixed 4x4 map)
// lets one discriminator judge any crop size.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "seedvr/models/discriminator/discriminator.h"

namespace seedvr {

struct VideoDiscriminatorOptions {
  int64_t in_channels = 16;
  int64_t base_channels = 64;
  int64_t num_layers = 3;
  int64_t mbstd_group = 4;
};

class VideoResBlockImpl : public torch::nn::Module {
 public:
  VideoResBlockImpl(int64_t in, int64_t out) {
    using namespace torch::nn;
    conv0 = register_module("conv0", Conv3d(Conv3dOptions(in, in, 3).padding(1)));
    conv1 = register_module("conv1", Conv3d(Conv3dOptions(in, out, 3).padding(1)));
    skip = register_module("skip", Conv3d(Conv3dOptions(in, out, 1).bias(false)));
  }

  at::Tensor forward(const at::Tensor& x) {
    at::Tensor h = at::leaky_relu(conv0->forward(x), 0.2);
    h = at::leaky_relu(conv1->forward(Down(h)), 0.2);
    return (skip->forward(Down(x)) + h) * std::sqrt(0.5);
  }

  torch::nn::Conv3d conv0{nullptr}, conv1{nullptr}, skip{nullptr};

 private:
  static at::Tensor Down(const at::Tensor& x) {
    const int64_t kt = x.size(2) > 1 ? 2 : 1;
    return at::avg_pool3d(x, {kt, 2, 2}, {kt, 2, 2}, {0, 0, 0}, /*ceil_mode=*/true);
  }
};
TORCH_MODULE(VideoResBlock);

class VideoDiscriminatorImpl : public torch::nn::Module {
 public:
  using Options = VideoDiscriminatorOptions;
  static constexpr const char* kName = "video";

  explicit VideoDiscriminatorImpl(const VideoDiscriminatorOptions& o) : group_(o.mbstd_group) {
    using namespace torch::nn;
    int64_t ch = o.base_channels;
    from_rgb = register_module("from_rgb", Conv3d(Conv3dOptions(o.in_channels, ch, 1)));
    for (int64_t i = 0; i < o.num_layers; ++i) {
      const int64_t out = std::min(ch * 2, o.base_channels * 8);
      blocks->push_back(VideoResBlock(ch, out));
      ch = out;
    }
    register_module("blocks", blocks);
    conv = register_module("conv", Conv3d(Conv3dOptions(ch + 1, ch, 3).padding(1)));
    fc = register_module("fc", Linear(ch, ch));
    out = register_module("out", Linear(ch, 1));
  }

  DiscriminatorOutput forward(const at::Tensor& x) {
    DiscriminatorOutput result;
    at::Tensor h = at::leaky_relu(from_rgb->forward(x), 0.2);
    for (const auto& block : *blocks) {
      h = block->as<VideoResBlock>()->forward(h);
      result.features.push_back(h);
    }
    h = at::leaky_relu(conv->forward(MinibatchStd(h)), 0.2);
    h = at::leaky_relu(fc->forward(h.mean({2, 3, 4})), 0.2);
    result.logits = out->forward(h);
    return result;
  }

  torch::nn::Conv3d from_rgb{nullptr}, conv{nullptr};
  torch::nn::ModuleList blocks;
  torch::nn::Linear fc{nullptr}, out{nullptr};

 private:
  // Appends the std of each feature across a group of clips, averaged to one
  // channel, so D can see a lack of variety in G's outputs.
  at::Tensor MinibatchStd(const at::Tensor& x) const {
    const int64_t b = x.size(0);
    int64_t g = std::min(group_, b);
    while (b % g != 0) --g;
    at::Tensor y = x.reshape({g, b / g, x.size(1), x.size(2), x.size(3), x.size(4)});
    y = (y - y.mean(0)).pow(2).mean(0).add(1e-8).sqrt();      // [b/g, C, T, H, W]
    y = y.mean({1, 2, 3, 4}, /*keepdim=*/true);                // [b/g, 1, 1, 1, 1]
    y = y.repeat({g, 1, x.size(2), x.size(3), x.size(4)});     // [b, 1, T, H, W]
    return at::cat({x, y}, 1);
  }

  int64_t group_;
};
TORCH_MODULE(VideoDiscriminator);

}  // namespace seedvr

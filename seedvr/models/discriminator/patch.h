// 3D PatchGAN discriminator (pix2pix's 70x70 design in space and time).
//
// A stack of 4x4 convolutions with stride 2 in H and W (kernel 3, stride 1 in
// time), channels base_channels doubling per layer up to 8x, LeakyReLU 0.2,
// instance norm after every layer but the first; then a size-preserving 3x3x3
// layer and a 3x3x3 projection to one logit per space-time patch. The size-
// preserving tail (pix2pix uses 4x4 there) keeps small latent grids valid.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/instancenorm.h>

#include <algorithm>
#include <string>

#include "seedvr/models/discriminator/discriminator.h"

namespace seedvr {

struct PatchDiscriminatorOptions {
  int64_t in_channels = 16;
  int64_t base_channels = 64;
  int64_t num_layers = 3;
};

class PatchDiscriminatorImpl : public torch::nn::Module {
 public:
  using Options = PatchDiscriminatorOptions;
  static constexpr const char* kName = "patch";

  explicit PatchDiscriminatorImpl(const PatchDiscriminatorOptions& o) {
    using namespace torch::nn;
    int64_t in = o.in_channels;
    for (int64_t i = 0; i <= o.num_layers; ++i) {
      const bool down = i < o.num_layers;
      const int64_t out = std::min(o.base_channels << i, o.base_channels * 8);
      Sequential layer;
      layer->push_back(Conv3d(Conv3dOptions(in, out, down ? std::vector<int64_t>{3, 4, 4} : std::vector<int64_t>{3, 3, 3})
                                  .stride(down ? std::vector<int64_t>{1, 2, 2} : std::vector<int64_t>{1, 1, 1})
                                  .padding(1)
                                  .bias(i == 0)));
      if (i > 0) layer->push_back(InstanceNorm3d(InstanceNorm3dOptions(out).affine(true)));
      layer->push_back(LeakyReLU(LeakyReLUOptions().negative_slope(0.2)));
      layers_->push_back(layer);
      in = out;
    }
    register_module("layers", layers_);
    head_ = register_module("head", Conv3d(Conv3dOptions(in, 1, 3).padding(1)));
  }

  DiscriminatorOutput forward(const at::Tensor& x) {
    DiscriminatorOutput out;
    at::Tensor h = x;
    for (const auto& layer : *layers_) {
      h = layer->as<torch::nn::Sequential>()->forward(h);
      out.features.push_back(h);
    }
    out.logits = head_->forward(h);
    return out;
  }

 private:
  torch::nn::ModuleList layers_;
  torch::nn::Conv3d head_{nullptr};
};
TORCH_MODULE(PatchDiscriminator);

}  // namespace seedvr

#include "seedvr/models/discriminator/patch.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/instancenorm.h>

#include <algorithm>
#include <vector>

namespace seedvr::discriminator {
namespace {

// Channels of layer i: base doubling per layer, capped at 8x.
int64_t LayerChannels(int64_t base, int64_t i) { return std::min(base << i, base * 8); }

}  // namespace

// Its keys (base_channels, num_layers) are range-checked with the config.
absl::Status PatchDiscriminatorImpl::Validate(const config::TrainConfig&) { return absl::OkStatus(); }

absl::StatusOr<PatchDiscriminator> PatchDiscriminatorImpl::FromConfig(const config::TrainConfig& config,
                                                                      const DiscriminatorContext&) {
  const auto& d = config.discriminator;
  return PatchDiscriminator(PatchDiscriminatorOptions{InputChannels(config), d.base_channels, d.num_layers});
}

int64_t PatchDiscriminatorImpl::CountParameters(const config::TrainConfig& config) {
  const auto& d = config.discriminator;
  int64_t n = 0, in = InputChannels(config);
  for (int64_t i = 0; i <= d.num_layers; ++i) {
    const bool down = i < d.num_layers;
    const int64_t out = LayerChannels(d.base_channels, i);
    n += in * out * (down ? 48 : 27) + (i == 0 ? out : 0);  // first conv has a bias
    if (i > 0) n += 2 * out;                                 // instance norm affine
    in = out;
  }
  return n + in * 27 + 1;  // head
}

// Each layer keeps its conv input, the norm's input and statistics and the
// activation.
double PatchDiscriminatorImpl::ActivationBytes(const config::TrainConfig& config, const ClipShape& s) {
  constexpr double kF32 = 4;
  const auto& d = config.discriminator;
  const int64_t t = s.frames;
  int64_t h = s.height, w = s.width;
  double bytes = static_cast<double>(s.channels) * t * h * w * kF32;
  for (int64_t i = 0; i <= d.num_layers; ++i) {
    if (i < d.num_layers) {
      h = std::max<int64_t>(h / 2, 1);
      w = std::max<int64_t>(w / 2, 1);
    }
    bytes += 3.0 * static_cast<double>(LayerChannels(d.base_channels, i)) * t * h * w * kF32;
  }
  return bytes;
}

PatchDiscriminatorImpl::PatchDiscriminatorImpl(const PatchDiscriminatorOptions& o) {
  using namespace torch::nn;
  int64_t in = o.in_channels;
  for (int64_t i = 0; i <= o.num_layers; ++i) {
    const bool down = i < o.num_layers;
    const int64_t out = LayerChannels(o.base_channels, i);
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

DiscriminatorOutput PatchDiscriminatorImpl::forward(const at::Tensor& x) {
  DiscriminatorOutput out;
  at::Tensor h = x;
  for (const auto& layer : *layers_) {
    h = layer->as<torch::nn::Sequential>()->forward(h);
    out.features.push_back(h);
  }
  out.logits = head_->forward(h);
  return out;
}

}  // namespace seedvr::discriminator

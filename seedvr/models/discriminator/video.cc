#include "seedvr/models/discriminator/video.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

namespace seedvr::discriminator {
namespace {

at::Tensor Down(const at::Tensor& x) {
  const int64_t kt = x.size(2) > 1 ? 2 : 1;
  return at::avg_pool3d(x, {kt, 2, 2}, {kt, 2, 2}, {0, 0, 0}, /*ceil_mode=*/true);
}

// Channels after block i's input of `ch`: doubling, capped at 8x base.
int64_t NextChannels(int64_t ch, int64_t base) { return std::min(ch * 2, base * 8); }

}  // namespace

VideoResBlockImpl::VideoResBlockImpl(int64_t in, int64_t out) {
  using namespace torch::nn;
  conv0 = register_module("conv0", Conv3d(Conv3dOptions(in, in, 3).padding(1)));
  conv1 = register_module("conv1", Conv3d(Conv3dOptions(in, out, 3).padding(1)));
  skip = register_module("skip", Conv3d(Conv3dOptions(in, out, 1).bias(false)));
}

at::Tensor VideoResBlockImpl::forward(const at::Tensor& x) {
  at::Tensor h = at::leaky_relu(conv0->forward(x), 0.2);
  h = at::leaky_relu(conv1->forward(Down(h)), 0.2);
  return (skip->forward(Down(x)) + h) * std::sqrt(0.5);
}

// Its keys (base_channels, num_layers) are range-checked with the config.
absl::Status VideoDiscriminatorImpl::Validate(const config::TrainConfig&) { return absl::OkStatus(); }

absl::StatusOr<VideoDiscriminator> VideoDiscriminatorImpl::FromConfig(const config::TrainConfig& config,
                                                                      const DiscriminatorContext&) {
  const auto& d = config.discriminator;
  return VideoDiscriminator(VideoDiscriminatorOptions{InputChannels(config), d.base_channels, d.num_layers});
}

int64_t VideoDiscriminatorImpl::CountParameters(const config::TrainConfig& config) {
  const auto& d = config.discriminator;
  int64_t ch = d.base_channels;
  int64_t n = InputChannels(config) * ch + ch;  // from_rgb
  for (int64_t i = 0; i < d.num_layers; ++i) {
    const int64_t out = NextChannels(ch, d.base_channels);
    n += ch * ch * 27 + ch + ch * out * 27 + out + ch * out;  // conv0, conv1, skip
    ch = out;
  }
  return n + (ch + 1) * ch * 27 + ch + ch * ch + ch + ch + 1;  // conv (with the mbstd channel), fc, out
}

double VideoDiscriminatorImpl::ActivationBytes(const config::TrainConfig& config, const ClipShape& s) {
  constexpr double kF32 = 4;
  const auto& d = config.discriminator;
  int64_t ch = d.base_channels, t = s.frames, h = s.height, w = s.width;
  double bytes = static_cast<double>(s.channels + 2 * ch) * t * h * w * kF32;
  for (int64_t i = 0; i < d.num_layers; ++i) {
    const int64_t out = NextChannels(ch, d.base_channels);
    bytes += 3.0 * static_cast<double>(ch) * t * h * w * kF32;  // conv0 in/out, activation
    t = t > 1 ? (t + 1) / 2 : 1;
    h = std::max<int64_t>((h + 1) / 2, 1);
    w = std::max<int64_t>((w + 1) / 2, 1);
    bytes += 4.0 * static_cast<double>(out) * t * h * w * kF32;  // conv1, skip, sum
    ch = out;
  }
  return bytes;
}

VideoDiscriminatorImpl::VideoDiscriminatorImpl(const VideoDiscriminatorOptions& o) : group_(o.mbstd_group) {
  using namespace torch::nn;
  int64_t ch = o.base_channels;
  from_rgb = register_module("from_rgb", Conv3d(Conv3dOptions(o.in_channels, ch, 1)));
  for (int64_t i = 0; i < o.num_layers; ++i) {
    const int64_t out = NextChannels(ch, o.base_channels);
    blocks->push_back(VideoResBlock(ch, out));
    ch = out;
  }
  register_module("blocks", blocks);
  conv = register_module("conv", Conv3d(Conv3dOptions(ch + 1, ch, 3).padding(1)));
  fc = register_module("fc", Linear(ch, ch));
  out = register_module("out", Linear(ch, 1));
}

DiscriminatorOutput VideoDiscriminatorImpl::forward(const at::Tensor& x) {
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

at::Tensor VideoDiscriminatorImpl::MinibatchStd(const at::Tensor& x) const {
  const int64_t b = x.size(0);
  int64_t g = std::min(group_, b);
  while (b % g != 0) --g;
  at::Tensor y = x.reshape({g, b / g, x.size(1), x.size(2), x.size(3), x.size(4)});
  y = (y - y.mean(0)).pow(2).mean(0).add(1e-8).sqrt();      // [b/g, C, T, H, W]
  y = y.mean({1, 2, 3, 4}, /*keepdim=*/true);                // [b/g, 1, 1, 1, 1]
  y = y.repeat({g, 1, x.size(2), x.size(3), x.size(4)});     // [b, 1, T, H, W]
  return at::cat({x, y}, 1);
}

}  // namespace seedvr::discriminator

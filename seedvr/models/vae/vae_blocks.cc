#include "seedvr/models/vae/vae_blocks.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <vector>

#include "seedvr/models/vae/causal_conv.h"

namespace seedvr::vae {

ResnetBlock3DImpl::ResnetBlock3DImpl(int64_t in, int64_t out, int64_t groups) {
  norm1_ = register_module("norm1", FrameGroupNorm(groups, in));
  conv1_ = register_module("conv1", CausalConv3d(CausalConv3dOptions(in, out, {3, 3, 3})));
  norm2_ = register_module("norm2", FrameGroupNorm(groups, out));
  conv2_ = register_module("conv2", CausalConv3d(CausalConv3dOptions(out, out, {3, 3, 3})));
  if (in != out) {
    shortcut_ = register_module("conv_shortcut",
                                CausalConv3d(CausalConv3dOptions(in, out, {1, 1, 1})));
  }
}

at::Tensor ResnetBlock3DImpl::forward(const at::Tensor& x) {
  at::Tensor h = conv1_(norm1_(x, /*silu=*/true));
  h = conv2_(norm2_(h, /*silu=*/true));
  // In place into the fresh conv output (its backward does not need it).
  return h.add_(shortcut_ ? shortcut_(x) : x);
}

SpatialAttentionImpl::SpatialAttentionImpl(int64_t channels, int64_t groups) {
  norm_ = register_module("group_norm", FrameGroupNorm(groups, channels));
  to_q_ = register_module("to_q", torch::nn::Linear(channels, channels));
  to_k_ = register_module("to_k", torch::nn::Linear(channels, channels));
  to_v_ = register_module("to_v", torch::nn::Linear(channels, channels));
  // diffusers keeps [Linear, Dropout] in `to_out`; only index 0 has weights.
  to_out_ = register_module("to_out", torch::nn::ModuleList());
  out_proj_ = torch::nn::Linear(channels, channels);
  to_out_->push_back(out_proj_);
}

at::Tensor SpatialAttentionImpl::forward(const at::Tensor& x) {
  const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
  at::Tensor tokens = norm_(x).permute({0, 2, 3, 4, 1}).reshape({b * t, 1, h * w, c});
  at::Tensor q = to_q_(tokens), k = to_k_(tokens), v = to_v_(tokens);
  // Default scale 1/sqrt(c): one head spanning all channels.
  at::Tensor a = at::scaled_dot_product_attention(q, k, v);
  a = out_proj_(a).reshape({b, t, h, w, c}).permute({0, 4, 1, 2, 3});
  return a + x;
}

MidBlock3DImpl::MidBlock3DImpl(int64_t channels, int64_t groups) {
  auto resnets = register_module("resnets", torch::nn::ModuleList());
  auto attentions = register_module("attentions", torch::nn::ModuleList());
  res0_ = ResnetBlock3D(channels, channels, groups);
  attn_ = SpatialAttention(channels, groups);
  res1_ = ResnetBlock3D(channels, channels, groups);
  resnets->push_back(res0_);
  resnets->push_back(res1_);
  attentions->push_back(attn_);
}

at::Tensor MidBlock3DImpl::forward(const at::Tensor& x) { return res1_(attn_(res0_(x))); }

Downsample3DImpl::Downsample3DImpl(int64_t channels, bool temporal) {
  const int64_t kt = temporal ? 3 : 1, st = temporal ? 2 : 1;
  conv_ = register_module(
      "conv",
      CausalConv3d(
          CausalConv3dOptions(channels, channels, {kt, 3, 3}).stride({st, 2, 2}).spatial_padding({0, 1, 0, 1})));
}

at::Tensor Downsample3DImpl::forward(const at::Tensor& x) { return conv_(x); }

Upsample3DImpl::Upsample3DImpl(int64_t channels, bool temporal)
    : channels_(channels), temporal_(temporal) {
  const int64_t factor = 4 * (temporal ? 2 : 1);
  upscale_ = register_module(
      "upscale_conv", CausalConv3d(CausalConv3dOptions(channels, channels * factor, {1, 1, 1})));
  conv_ = register_module("conv",
                          CausalConv3d(CausalConv3dOptions(channels, channels, {3, 3, 3})));
}

at::Tensor Upsample3DImpl::forward(const at::Tensor& x) {
  const int64_t b = x.size(0), f = x.size(2), h = x.size(3), w = x.size(4);
  const int64_t z = temporal_ ? 2 : 1;
  at::Tensor y = upscale_(x)
                     .view({b, 2, 2, z, channels_, f, h, w})   // (x y z c)
                     .permute({0, 4, 5, 3, 6, 1, 7, 2})          // b c f z h x w y
                     .reshape({b, channels_, f * z, h * 2, w * 2});
  if (temporal_ && !(streaming_ && seen_first_chunk_)) {
    y = at::cat({y.narrow(2, 0, 1), y.narrow(2, 2, y.size(2) - 2)}, 2);
  }
  seen_first_chunk_ = true;
  return conv_(y);
}

void Upsample3DImpl::SetStreaming(bool enabled) {
  streaming_ = enabled;
  seen_first_chunk_ = false;
}

std::vector<ResnetBlock3D> RegisterResnets(torch::nn::Module& stage, int64_t in, int64_t out, int64_t layers,
                                           int64_t groups) {
  auto list = stage.register_module("resnets", torch::nn::ModuleList());
  std::vector<ResnetBlock3D> resnets;
  for (int64_t i = 0; i < layers; ++i) {
    resnets.push_back(ResnetBlock3D(i == 0 ? in : out, out, groups));
    list->push_back(resnets.back());
  }
  return resnets;
}

DownEncoderBlock3DImpl::DownEncoderBlock3DImpl(int64_t in, int64_t out, int64_t layers,
                                               int64_t groups, bool add_downsample,
                                               bool temporal_down) {
  resnets_ = RegisterResnets(*this, in, out, layers, groups);
  if (add_downsample) {
    auto down = register_module("downsamplers", torch::nn::ModuleList());
    down_ = Downsample3D(out, temporal_down);
    down->push_back(down_);
  }
}

at::Tensor DownEncoderBlock3DImpl::forward(at::Tensor x) {
  for (auto& r : resnets_) x = r(x);
  return down_ ? down_(x) : x;
}

UpDecoderBlock3DImpl::UpDecoderBlock3DImpl(int64_t in, int64_t out, int64_t layers,
                                           int64_t groups, bool add_upsample, bool temporal_up) {
  resnets_ = RegisterResnets(*this, in, out, layers, groups);
  if (add_upsample) {
    auto up = register_module("upsamplers", torch::nn::ModuleList());
    up_ = Upsample3D(out, temporal_up);
    up->push_back(up_);
  }
}

at::Tensor UpDecoderBlock3DImpl::forward(at::Tensor x) {
  for (auto& r : resnets_) x = r(x);
  return up_ ? up_(x) : x;
}

}  // namespace seedvr::vae

// Building blocks of the SeedVR causal video VAE (official
// video_vae_v3/attn_video_vae.py): resnet, down/up sampling, the mid-block
// spatial attention and the encoder/decoder stages that group them.
//
// Submodule names follow the official diffusers-style state dict
// (`resnets.N`, `downsamplers.0.conv`, `upsamplers.0.upscale_conv`,
// `attentions.0.to_out.0`, ...), so the released `ema_vae.pth` loads by name.
// Every temporal operation is causal (see causal_conv.h) and every norm and
// the attention act per frame, which keeps the whole VAE chunkable in time.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

#include "seedvr/models/vae/causal_conv.h"

namespace seedvr::vae {

// norm1 -> SiLU -> conv1 -> norm2 -> SiLU -> conv2, plus a 1x1x1 shortcut
// when the channel count changes; output scale 1 (no rescaling).
class ResnetBlock3DImpl : public torch::nn::Module {
 public:
  ResnetBlock3DImpl(int64_t in, int64_t out, int64_t groups) {
    norm1_ = register_module("norm1", FrameGroupNorm(groups, in));
    conv1_ = register_module("conv1", CausalConv3d(CausalConv3dOptions(in, out, {3, 3, 3})));
    norm2_ = register_module("norm2", FrameGroupNorm(groups, out));
    conv2_ = register_module("conv2", CausalConv3d(CausalConv3dOptions(out, out, {3, 3, 3})));
    if (in != out) {
      shortcut_ = register_module("conv_shortcut",
                                  CausalConv3d(CausalConv3dOptions(in, out, {1, 1, 1})));
    }
  }

  at::Tensor forward(const at::Tensor& x) {
    at::Tensor h = conv1_(at::silu(norm1_(x)));
    h = conv2_(at::silu(norm2_(h)));
    return shortcut_ ? h + shortcut_(x) : h + x;
  }

 private:
  FrameGroupNorm norm1_{nullptr}, norm2_{nullptr};
  CausalConv3d conv1_{nullptr}, conv2_{nullptr}, shortcut_{nullptr};
};
TORCH_MODULE(ResnetBlock3D);

// Single-head self-attention over the H*W positions of each frame, with a
// pre-GroupNorm and a residual (diffusers `Attention` as the VAE mid block
// configures it: heads = 1, head dim = channels).
class SpatialAttentionImpl : public torch::nn::Module {
 public:
  SpatialAttentionImpl(int64_t channels, int64_t groups) {
    norm_ = register_module("group_norm", FrameGroupNorm(groups, channels));
    to_q_ = register_module("to_q", torch::nn::Linear(channels, channels));
    to_k_ = register_module("to_k", torch::nn::Linear(channels, channels));
    to_v_ = register_module("to_v", torch::nn::Linear(channels, channels));
    // diffusers keeps [Linear, Dropout] in `to_out`; only index 0 has weights.
    to_out_ = register_module("to_out", torch::nn::ModuleList());
    out_proj_ = torch::nn::Linear(channels, channels);
    to_out_->push_back(out_proj_);
  }

  at::Tensor forward(const at::Tensor& x) {
    const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
    at::Tensor tokens = norm_(x).permute({0, 2, 3, 4, 1}).reshape({b * t, 1, h * w, c});
    at::Tensor q = to_q_(tokens), k = to_k_(tokens), v = to_v_(tokens);
    // Default scale 1/sqrt(c): one head spanning all channels.
    at::Tensor a = at::scaled_dot_product_attention(q, k, v);
    a = out_proj_(a).reshape({b, t, h, w, c}).permute({0, 4, 1, 2, 3});
    return a + x;
  }

 private:
  FrameGroupNorm norm_{nullptr};
  torch::nn::Linear to_q_{nullptr}, to_k_{nullptr}, to_v_{nullptr}, out_proj_{nullptr};
  torch::nn::ModuleList to_out_{nullptr};
};
TORCH_MODULE(SpatialAttention);

// resnet -> attention -> resnet at the lowest resolution.
class MidBlock3DImpl : public torch::nn::Module {
 public:
  MidBlock3DImpl(int64_t channels, int64_t groups) {
    auto resnets = register_module("resnets", torch::nn::ModuleList());
    auto attentions = register_module("attentions", torch::nn::ModuleList());
    res0_ = ResnetBlock3D(channels, channels, groups);
    attn_ = SpatialAttention(channels, groups);
    res1_ = ResnetBlock3D(channels, channels, groups);
    resnets->push_back(res0_);
    resnets->push_back(res1_);
    attentions->push_back(attn_);
  }
  at::Tensor forward(const at::Tensor& x) { return res1_(attn_(res0_(x))); }

 private:
  ResnetBlock3D res0_{nullptr}, res1_{nullptr};
  SpatialAttention attn_{nullptr};
};
TORCH_MODULE(MidBlock3D);

// Stride-2 spatial downsampling; with `temporal` also stride 2 in time
// through a causal kernel of 3 frames. The spatial padding is one zero
// row/column on the right/bottom only (diffusers Downsample2D, padding 0).
class Downsample3DImpl : public torch::nn::Module {
 public:
  Downsample3DImpl(int64_t channels, bool temporal) {
    const int64_t kt = temporal ? 3 : 1, st = temporal ? 2 : 1;
    conv_ = register_module("conv", CausalConv3d(CausalConv3dOptions(channels, channels, {kt, 3, 3})
                                                     .stride({st, 2, 2})
                                                     .spatial_padding({0, 0})));
  }
  at::Tensor forward(const at::Tensor& x) {
    return conv_(at::constant_pad_nd(x, {0, 1, 0, 1}, 0));
  }

 private:
  CausalConv3d conv_{nullptr};
};
TORCH_MODULE(Downsample3D);

// MAGViT-v2 style upsampling: a 1x1x1 conv widens the channels by
// 2x2 (space) x 2 (time, if temporal), a depth-to-space rearrange
// `b (x y z c) f h w -> b c (f z) (h x) (w y)` moves them into positions,
// then a causal 3x3x3 conv smooths. The very first latent frame stands for
// one video frame only, so in a temporal upsample the duplicate it produced
// (frame index 1) is dropped; in streaming mode only the first chunk holds
// that frame.
class Upsample3DImpl : public torch::nn::Module, public CausalStreaming {
 public:
  Upsample3DImpl(int64_t channels, bool temporal) : channels_(channels), temporal_(temporal) {
    const int64_t factor = 4 * (temporal ? 2 : 1);
    upscale_ = register_module(
        "upscale_conv", CausalConv3d(CausalConv3dOptions(channels, channels * factor, {1, 1, 1})));
    conv_ = register_module("conv",
                            CausalConv3d(CausalConv3dOptions(channels, channels, {3, 3, 3})));
  }

  at::Tensor forward(const at::Tensor& x) {
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

  void SetStreaming(bool enabled) override {
    streaming_ = enabled;
    seen_first_chunk_ = false;
  }

 private:
  int64_t channels_;
  bool temporal_;
  bool streaming_ = false;
  bool seen_first_chunk_ = false;
  CausalConv3d upscale_{nullptr}, conv_{nullptr};
};
TORCH_MODULE(Upsample3D);

// The `resnets` list of an encoder or decoder stage: `layers` blocks, the
// first changing the channel count.
inline std::vector<ResnetBlock3D> RegisterResnets(torch::nn::Module& stage, int64_t in, int64_t out, int64_t layers,
                                                  int64_t groups) {
  auto list = stage.register_module("resnets", torch::nn::ModuleList());
  std::vector<ResnetBlock3D> resnets;
  for (int64_t i = 0; i < layers; ++i) {
    resnets.push_back(ResnetBlock3D(i == 0 ? in : out, out, groups));
    list->push_back(resnets.back());
  }
  return resnets;
}

// `layers` resnets, then an optional downsampler (encoder stage).
class DownEncoderBlock3DImpl : public torch::nn::Module {
 public:
  DownEncoderBlock3DImpl(int64_t in, int64_t out, int64_t layers, int64_t groups,
                         bool add_downsample, bool temporal_down) {
    resnets_ = RegisterResnets(*this, in, out, layers, groups);
    if (add_downsample) {
      auto down = register_module("downsamplers", torch::nn::ModuleList());
      down_ = Downsample3D(out, temporal_down);
      down->push_back(down_);
    }
  }
  at::Tensor forward(at::Tensor x) {
    for (auto& r : resnets_) x = r(x);
    return down_ ? down_(x) : x;
  }

 private:
  std::vector<ResnetBlock3D> resnets_;
  Downsample3D down_{nullptr};
};
TORCH_MODULE(DownEncoderBlock3D);

// `layers` resnets (the decoder uses layers_per_block + 1), then an optional
// upsampler (decoder stage).
class UpDecoderBlock3DImpl : public torch::nn::Module {
 public:
  UpDecoderBlock3DImpl(int64_t in, int64_t out, int64_t layers, int64_t groups, bool add_upsample,
                       bool temporal_up) {
    resnets_ = RegisterResnets(*this, in, out, layers, groups);
    if (add_upsample) {
      auto up = register_module("upsamplers", torch::nn::ModuleList());
      up_ = Upsample3D(out, temporal_up);
      up->push_back(up_);
    }
  }
  at::Tensor forward(at::Tensor x) {
    for (auto& r : resnets_) x = r(x);
    return up_ ? up_(x) : x;
  }

 private:
  std::vector<ResnetBlock3D> resnets_;
  Upsample3D up_{nullptr};
};
TORCH_MODULE(UpDecoderBlock3D);

}  // namespace seedvr::vae

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

#include <ATen/core/Tensor.h>
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
  ResnetBlock3DImpl(int64_t in, int64_t out, int64_t groups);

  at::Tensor forward(const at::Tensor& x);

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
  SpatialAttentionImpl(int64_t channels, int64_t groups);

  at::Tensor forward(const at::Tensor& x);

 private:
  FrameGroupNorm norm_{nullptr};
  torch::nn::Linear to_q_{nullptr}, to_k_{nullptr}, to_v_{nullptr}, out_proj_{nullptr};
  torch::nn::ModuleList to_out_{nullptr};
};
TORCH_MODULE(SpatialAttention);

// resnet -> attention -> resnet at the lowest resolution.
class MidBlock3DImpl : public torch::nn::Module {
 public:
  MidBlock3DImpl(int64_t channels, int64_t groups);
  at::Tensor forward(const at::Tensor& x);

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
  Downsample3DImpl(int64_t channels, bool temporal);
  at::Tensor forward(const at::Tensor& x);

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
  Upsample3DImpl(int64_t channels, bool temporal);

  at::Tensor forward(const at::Tensor& x);

  void SetStreaming(bool enabled) override;

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
std::vector<ResnetBlock3D> RegisterResnets(torch::nn::Module& stage, int64_t in, int64_t out, int64_t layers,
                                           int64_t groups);

// `layers` resnets, then an optional downsampler (encoder stage).
class DownEncoderBlock3DImpl : public torch::nn::Module {
 public:
  DownEncoderBlock3DImpl(int64_t in, int64_t out, int64_t layers, int64_t groups,
                         bool add_downsample, bool temporal_down);
  at::Tensor forward(at::Tensor x);

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
                       bool temporal_up);
  at::Tensor forward(at::Tensor x);

 private:
  std::vector<ResnetBlock3D> resnets_;
  Upsample3D up_{nullptr};
};
TORCH_MODULE(UpDecoderBlock3D);

}  // namespace seedvr::vae

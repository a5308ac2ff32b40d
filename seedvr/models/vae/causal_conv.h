// The two primitives every layer of the SeedVR causal video VAE is built from.
//
// CausalConv3d is a Conv3d whose temporal padding is replaced by front padding
// with copies of the first frame (no tail padding), so output frame t only
// sees input frames <= t. That property is what lets the VAE run a long clip
// in temporal chunks: in streaming mode the conv keeps the input frames the
// next output still needs (its "memory") and prepends them to the next chunk
// instead of the first-frame copies, which makes chunked and full-sequence
// results equal up to float rounding.
//
// FrameGroupNorm is GroupNorm applied to every frame on its own (statistics
// over channels-in-group x H x W of one frame, never across time); temporal
// statistics would break causality and chunking.
//
// Parameter names are those of the official checkpoint: `weight`, `bias`.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <cstdint>

namespace seedvr::vae {

// Modules that keep state between temporal chunks. The VAE walks its module
// tree and switches them all at once, so no layer is ever half in one mode.
class CausalStreaming {
 public:
  virtual ~CausalStreaming() = default;
  // Enabling or disabling both clear the carried state: the next call is the
  // first chunk of a new clip.
  virtual void SetStreaming(bool enabled) = 0;
};

struct CausalConv3dOptions {
  // "Same" spatial padding by default, as the official layers use.
  CausalConv3dOptions(int64_t in, int64_t out, std::array<int64_t, 3> kernel);
  CausalConv3dOptions& stride(std::array<int64_t, 3> s);
  CausalConv3dOptions& spatial_padding(std::array<int64_t, 2> p);
  int64_t in_channels;
  int64_t out_channels;
  std::array<int64_t, 3> kernel;            // (t, h, w)
  std::array<int64_t, 3> stride_{1, 1, 1};  // (t, h, w)
  std::array<int64_t, 2> padding;           // zero padding (h, w)
};

class CausalConv3dImpl : public torch::nn::Module, public CausalStreaming {
 public:
  // Random init (fan-in scaled) so a model built without a checkpoint, as
  // in the benchmarks, keeps activations in a sane range.
  explicit CausalConv3dImpl(const CausalConv3dOptions& o);

  at::Tensor forward(const at::Tensor& x);

  void SetStreaming(bool enabled) override;

  const CausalConv3dOptions& options() const { return opt_; }

 private:
  CausalConv3dOptions opt_;
  at::Tensor weight_;
  at::Tensor bias_;
  bool streaming_ = false;
  at::Tensor memory_;
};
TORCH_MODULE(CausalConv3d);

class FrameGroupNormImpl : public torch::nn::Module {
 public:
  FrameGroupNormImpl(int64_t groups, int64_t channels, double eps = 1e-6);

  // x: (B, C, T, H, W) or (N, C, H, W).
  at::Tensor forward(const at::Tensor& x);

 private:
  int64_t groups_;
  int64_t channels_;
  double eps_;
  at::Tensor weight_;
  at::Tensor bias_;
};
TORCH_MODULE(FrameGroupNorm);

}  // namespace seedvr::vae

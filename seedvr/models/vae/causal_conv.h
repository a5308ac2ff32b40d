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

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <memory>

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
  CausalConv3dOptions(int64_t in, int64_t out, std::array<int64_t, 3> kernel)
      : in_channels(in), out_channels(out), kernel(kernel) {
    // "Same" spatial padding by default, as the official layers use.
    padding = {kernel[1] / 2, kernel[2] / 2};
  }
  CausalConv3dOptions& stride(std::array<int64_t, 3> s) {
    stride_ = s;
    return *this;
  }
  CausalConv3dOptions& spatial_padding(std::array<int64_t, 2> p) {
    padding = p;
    return *this;
  }
  int64_t in_channels;
  int64_t out_channels;
  std::array<int64_t, 3> kernel;            // (t, h, w)
  std::array<int64_t, 3> stride_{1, 1, 1};  // (t, h, w)
  std::array<int64_t, 2> padding;           // zero padding (h, w)
};

class CausalConv3dImpl : public torch::nn::Module, public CausalStreaming {
 public:
  explicit CausalConv3dImpl(const CausalConv3dOptions& o) : opt_(o) {
    const auto& k = o.kernel;
    // Random init (fan-in scaled) so a model built without a checkpoint, as
    // in the benchmarks, keeps activations in a sane range.
    const double fan_in = static_cast<double>(o.in_channels * k[0] * k[1] * k[2]);
    weight_ = register_parameter(
        "weight", at::randn({o.out_channels, o.in_channels, k[0], k[1], k[2]}) /
                      std::sqrt(fan_in));
    bias_ = register_parameter("bias", at::zeros({o.out_channels}));
  }

  at::Tensor forward(const at::Tensor& x) {
    const int64_t kt = opt_.kernel[0];
    const int64_t st = opt_.stride_[0];
    const int64_t front = kt - 1;
    at::Tensor in = x;
    if (front > 0) {
      at::Tensor head;
      if (streaming_ && memory_.defined()) {
        head = memory_;
      } else {
        head = x.narrow(2, 0, 1).expand({-1, -1, front, -1, -1});
      }
      in = at::cat({head, x}, 2);
    }
    if (streaming_ && (front > 0 || st > 1)) {
      // Frames from the next output's window start onward are still needed.
      const int64_t len = in.size(2);
      const int64_t outputs = len >= kt ? (len - kt) / st + 1 : 0;
      const int64_t keep_from = outputs * st;
      // clone(): a view would pin the whole padded chunk in memory.
      memory_ = in.narrow(2, keep_from, len - keep_from).clone();
    }
    return at::conv3d(in, weight_, bias_, {st, opt_.stride_[1], opt_.stride_[2]},
                      {0, opt_.padding[0], opt_.padding[1]});
  }

  void SetStreaming(bool enabled) override {
    streaming_ = enabled;
    memory_ = at::Tensor();
  }

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
  FrameGroupNormImpl(int64_t groups, int64_t channels, double eps = 1e-6)
      : groups_(groups), channels_(channels), eps_(eps) {
    TORCH_CHECK(channels % groups == 0, "GroupNorm: ", channels,
                " channels are not divisible into ", groups, " groups");
    weight_ = register_parameter("weight", at::ones({channels}));
    bias_ = register_parameter("bias", at::zeros({channels}));
  }

  // x: (B, C, T, H, W) or (N, C, H, W).
  at::Tensor forward(const at::Tensor& x) {
    if (x.dim() == 4) return at::group_norm(x, groups_, weight_, bias_, eps_);
    TORCH_CHECK(x.dim() == 5, "FrameGroupNorm expects (B,C,T,H,W), got ", x.sizes());
    const int64_t b = x.size(0), c = x.size(1), t = x.size(2);
    const int64_t hw = x.size(3) * x.size(4);
    // Statistics per (batch, group, frame) straight on the (B,C,T,H,W)
    // layout; this avoids the two transposed copies a (B*T,C,H,W) reshape
    // would cost, which matter at 128 channels x full resolution.
    const bool low = x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble;
    at::Tensor xs = (low ? x.to(at::kFloat) : x).reshape({b, groups_, c / groups_, t, hw});
    auto [var, mean] = at::var_mean(xs, {2, 4}, /*correction=*/0, /*keepdim=*/true);
    at::Tensor rstd = at::rsqrt(var + eps_);  // (B,G,1,T,1)
    at::Tensor w = weight_.to(rstd.scalar_type()).view({1, groups_, c / groups_, 1, 1});
    at::Tensor bb = bias_.to(rstd.scalar_type()).view({1, groups_, c / groups_, 1, 1});
    at::Tensor scale = rstd * w;                    // (B,G,Cg,T,1)
    at::Tensor shift = bb - mean * scale;           // (B,G,Cg,T,1)
    scale = scale.reshape({b, c, t, 1, 1}).to(x.scalar_type());
    shift = shift.reshape({b, c, t, 1, 1}).to(x.scalar_type());
    return at::addcmul(shift, x, scale);
  }

 private:
  int64_t groups_;
  int64_t channels_;
  double eps_;
  at::Tensor weight_;
  at::Tensor bias_;
};
TORCH_MODULE(FrameGroupNorm);

}  // namespace seedvr::vae

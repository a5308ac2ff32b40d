#include "seedvr/models/vae/causal_conv.h"

#include <ATen/ATen.h>

#include <array>
#include <cmath>
#include <cstdint>

namespace seedvr::vae {

CausalConv3dOptions::CausalConv3dOptions(int64_t in, int64_t out, std::array<int64_t, 3> kernel)
    : in_channels(in), out_channels(out), kernel(kernel) {
  // "Same" spatial padding by default, as the official layers use.
  padding = {kernel[1] / 2, kernel[2] / 2};
}

CausalConv3dOptions& CausalConv3dOptions::stride(std::array<int64_t, 3> s) {
  stride_ = s;
  return *this;
}

CausalConv3dOptions& CausalConv3dOptions::spatial_padding(std::array<int64_t, 2> p) {
  padding = p;
  return *this;
}

CausalConv3dImpl::CausalConv3dImpl(const CausalConv3dOptions& o) : opt_(o) {
  const auto& k = o.kernel;
  // Random init (fan-in scaled) so a model built without a checkpoint, as
  // in the benchmarks, keeps activations in a sane range.
  const double fan_in = static_cast<double>(o.in_channels * k[0] * k[1] * k[2]);
  weight_ = register_parameter(
      "weight", at::randn({o.out_channels, o.in_channels, k[0], k[1], k[2]}) /
                    std::sqrt(fan_in));
  bias_ = register_parameter("bias", at::zeros({o.out_channels}));
}

at::Tensor CausalConv3dImpl::forward(const at::Tensor& x) {
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

void CausalConv3dImpl::SetStreaming(bool enabled) {
  streaming_ = enabled;
  memory_ = at::Tensor();
}

FrameGroupNormImpl::FrameGroupNormImpl(int64_t groups, int64_t channels, double eps)
    : groups_(groups), channels_(channels), eps_(eps) {
  TORCH_CHECK(channels % groups == 0, "GroupNorm: ", channels,
              " channels are not divisible into ", groups, " groups");
  weight_ = register_parameter("weight", at::ones({channels}));
  bias_ = register_parameter("bias", at::zeros({channels}));
}

at::Tensor FrameGroupNormImpl::forward(const at::Tensor& x) {
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

}  // namespace seedvr::vae

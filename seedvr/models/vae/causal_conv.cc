#include "seedvr/models/vae/causal_conv.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

namespace seedvr::vae {

CausalConv3dOptions::CausalConv3dOptions(int64_t in, int64_t out, std::array<int64_t, 3> kernel)
    : in_channels(in), out_channels(out), kernel(kernel) {
  // "Same" spatial padding by default, as the official layers use.
  padding = {kernel[1] / 2, kernel[1] / 2, kernel[2] / 2, kernel[2] / 2};
}

CausalConv3dOptions& CausalConv3dOptions::stride(std::array<int64_t, 3> s) {
  stride_ = s;
  return *this;
}

CausalConv3dOptions& CausalConv3dOptions::spatial_padding(std::array<int64_t, 4> p) {
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
  at::Tensor head;  // the frames before x that the causal window reads
  if (front > 0) {
    head = streaming_ && memory_.defined() ? memory_ : x.narrow(2, 0, 1).expand({-1, -1, front, -1, -1});
  }
  const int64_t held = head.defined() ? head.size(2) : 0;
  const int64_t len = held + x.size(2);
  if (streaming_ && (front > 0 || st > 1)) {
    // Frames from the next output's window start onward are still needed.
    const int64_t outputs = len >= kt ? (len - kt) / st + 1 : 0;
    const int64_t keep = len - outputs * st;
    const int64_t t = x.size(2);
    // clone(): a view would pin the whole chunk in memory.
    memory_ =
        keep <= t ? x.narrow(2, t - keep, keep).clone() : at::cat({head.narrow(2, held - (keep - t), keep - t), x}, 2);
  }
  const double bytes = static_cast<double>(x.numel() / std::max<int64_t>(x.size(2), 1)) * len * x.element_size();
  std::array<int64_t, 2> tiles{1, 1};
  // Only without autograd: under it every tile would keep its own input for
  // backward (the pixel discriminator's decode), which saves nothing.
  if (max_input_bytes_ > 0 && !at::GradMode::is_enabled() && bytes > static_cast<double>(max_input_bytes_)) {
    // As few tiles as keep each one's input near the bound: rows first,
    // then columns once every row is its own tile.
    const auto& k = opt_.kernel;
    const auto& p = opt_.padding;
    const int64_t rows = (x.size(3) + p[0] + p[1] - k[1]) / opt_.stride_[1] + 1;
    const int64_t cols = (x.size(4) + p[2] + p[3] - k[2]) / opt_.stride_[2] + 1;
    const auto parts = static_cast<int64_t>(std::ceil(bytes / static_cast<double>(max_input_bytes_)));
    tiles[0] = std::min(parts, rows);
    tiles[1] = std::min((parts + tiles[0] - 1) / tiles[0], cols);
  }
  last_tiles_ = tiles;
  return Convolve(head, x, tiles);
}

at::Tensor CausalConv3dImpl::Convolve(const at::Tensor& head, const at::Tensor& x, std::array<int64_t, 2> tiles) const {
  const auto& p = opt_.padding;
  const std::array<int64_t, 3> stride = opt_.stride_;
  auto padded_conv = [&](const at::Tensor& in, std::array<int64_t, 4> pad) {
    if (pad[0] == pad[1] && pad[2] == pad[3]) return at::conv3d(in, weight_, bias_, stride, {0, pad[0], pad[2]});
    return at::conv3d(at::constant_pad_nd(in, {pad[2], pad[3], pad[0], pad[1]}, 0), weight_, bias_, stride);
  };
  auto with_head = [&](const at::Tensor& h, const at::Tensor& v) { return h.defined() ? at::cat({h, v}, 2) : v; };
  if (tiles[0] * tiles[1] == 1) return padded_conv(with_head(head, x), p);

  const auto& k = opt_.kernel;
  const int64_t h = x.size(3), w = x.size(4);
  const int64_t rows = (h + p[0] + p[1] - k[1]) / stride[1] + 1;
  const int64_t cols = (w + p[2] + p[3] - k[2]) / stride[2] + 1;
  const int64_t frames = ((head.defined() ? head.size(2) : 0) + x.size(2) - k[0]) / stride[0] + 1;
  at::Tensor out = at::empty({x.size(0), opt_.out_channels, frames, rows, cols}, x.options());
  // Output rows [o0, o1) read padded input rows [o0 s, (o1 - 1) s + k): the
  // part inside the frame comes from x, the rest is the zero padding.
  struct Span {
    int64_t out_begin, out_len, in_begin, in_len, pad_before, pad_after;
  };
  auto span = [](int64_t i, int64_t n, int64_t outputs, int64_t s, int64_t kernel, int64_t pad, int64_t size) {
    const int64_t o0 = i * outputs / n, o1 = (i + 1) * outputs / n;
    const int64_t r0 = o0 * s - pad, r1 = (o1 - 1) * s + kernel - pad;
    const int64_t b = std::max<int64_t>(r0, 0), e = std::min(r1, size);
    return Span{o0, o1 - o0, b, e - b, b - r0, r1 - e};
  };
  for (int64_t i = 0; i < tiles[0]; ++i) {
    const Span r = span(i, tiles[0], rows, stride[1], k[1], p[0], h);
    for (int64_t j = 0; j < tiles[1]; ++j) {
      const Span c = span(j, tiles[1], cols, stride[2], k[2], p[2], w);
      auto crop = [&](const at::Tensor& t) {
        return t.defined() ? t.narrow(3, r.in_begin, r.in_len).narrow(4, c.in_begin, c.in_len) : t;
      };
      at::Tensor y =
          padded_conv(with_head(crop(head), crop(x)), {r.pad_before, r.pad_after, c.pad_before, c.pad_after});
      out.narrow(3, r.out_begin, r.out_len).narrow(4, c.out_begin, c.out_len).copy_(y);
    }
  }
  return out;
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
  const double bytes = static_cast<double>(x.numel()) * 4;  // statistics in fp32
  if (max_bytes_ <= 0 || at::GradMode::is_enabled() || bytes <= static_cast<double>(max_bytes_)) {
    return Normalize(x, groups_, weight_, bias_);  // see CausalConv3dImpl::forward on autograd
  }
  // Whole groups per chunk, so every statistic is the unsplit one.
  const int64_t per = std::max<int64_t>(
      static_cast<int64_t>(static_cast<double>(groups_) * static_cast<double>(max_bytes_) / bytes), 1);
  const int64_t cg = channels_ / groups_;
  at::Tensor out = at::empty_like(x);
  for (int64_t g = 0; g < groups_; g += per) {
    const int64_t n = std::min(per, groups_ - g);
    out.narrow(1, g * cg, n * cg)
        .copy_(Normalize(x.narrow(1, g * cg, n * cg), n, weight_.narrow(0, g * cg, n * cg),
                         bias_.narrow(0, g * cg, n * cg)));
  }
  return out;
}

at::Tensor FrameGroupNormImpl::Normalize(const at::Tensor& x, int64_t groups, const at::Tensor& weight,
                                         const at::Tensor& bias) const {
  const int64_t b = x.size(0), c = x.size(1), t = x.size(2);
  const int64_t hw = x.size(3) * x.size(4);
  // Statistics per (batch, group, frame) straight on the (B,C,T,H,W)
  // layout; this avoids the two transposed copies a (B*T,C,H,W) reshape
  // would cost, which matter at 128 channels x full resolution.
  const bool low = x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble;
  at::Tensor xs = (low ? x.to(at::kFloat) : x).reshape({b, groups, c / groups, t, hw});
  auto [var, mean] = at::var_mean(xs, {2, 4}, /*correction=*/0, /*keepdim=*/true);
  at::Tensor rstd = at::rsqrt(var + eps_);  // (B,G,1,T,1)
  at::Tensor w = weight.to(rstd.scalar_type()).view({1, groups, c / groups, 1, 1});
  at::Tensor bb = bias.to(rstd.scalar_type()).view({1, groups, c / groups, 1, 1});
  at::Tensor scale = rstd * w;                    // (B,G,Cg,T,1)
  at::Tensor shift = bb - mean * scale;           // (B,G,Cg,T,1)
  scale = scale.reshape({b, c, t, 1, 1}).to(x.scalar_type());
  shift = shift.reshape({b, c, t, 1, 1}).to(x.scalar_type());
  return at::addcmul(shift, x, scale);
}

}  // namespace seedvr::vae

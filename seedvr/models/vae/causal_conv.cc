#include "seedvr/models/vae/causal_conv.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <vector>

namespace seedvr::vae {

namespace {
std::atomic<ConvKernel> conv_kernel{ConvKernel::kAuto};
std::atomic<int64_t> conv_flops{0};
}  // namespace

void SetConvKernel(ConvKernel kernel) { conv_kernel.store(kernel); }
ConvKernel GetConvKernel() { return conv_kernel.load(); }
int64_t Conv3dFlops() { return conv_flops.load(); }

at::Tensor Conv3d(const at::Tensor& head, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                  std::array<int64_t, 3> stride, std::array<int64_t, 4> padding, WinogradWeightCache& winograd) {
  at::Tensor y;
  const ConvKernel kernel = GetConvKernel();
  const bool use_winograd = kernel == ConvKernel::kWinograd || (kernel == ConvKernel::kAuto && WinogradPays(weight));
  const std::vector<at::Tensor> parts = head.defined() ? std::vector<at::Tensor>{head, x} : std::vector<at::Tensor>{x};
  if (use_winograd && WinogradApplies(parts, weight, stride, padding)) {
    y = WinogradConv3d(parts, winograd.Get(weight), bias, padding);
  } else {
    at::Tensor in = head.defined() ? at::cat({head, x}, 2) : x;
    std::array<int64_t, 3> pad{0, padding[0], padding[2]};
    if (padding[0] != padding[1] || padding[2] != padding[3]) {
      in = at::constant_pad_nd(in, {padding[2], padding[3], padding[0], padding[1]}, 0);
      pad = {0, 0, 0};
    }
    if (kernel != ConvKernel::kLibTorchDefault && at::hasMKLDNN() && in.device().is_cpu() &&
        in.scalar_type() == at::kFloat) {
      y = at::mkldnn_convolution(in, weight, bias, pad, stride, /*dilation=*/{1, 1, 1}, /*groups=*/1);
    } else {
      y = at::conv3d(in, weight, bias, stride, pad);
    }
  }
  conv_flops.fetch_add(2 * y.numel() * (weight.numel() / weight.size(0)), std::memory_order_relaxed);
  return y;
}

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
  if (tiles[0] * tiles[1] == 1) return Conv3d(head, x, weight_, bias_, stride, p, winograd_);

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
      at::Tensor y = Conv3d(crop(head), crop(x), weight_, bias_, stride,
                            {r.pad_before, r.pad_after, c.pad_before, c.pad_after}, winograd_);
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

at::Tensor FrameGroupNormImpl::forward(const at::Tensor& x, bool silu) {
  if (x.dim() == 4) {
    at::Tensor y = at::group_norm(x, groups_, weight_, bias_, eps_);
    return silu ? at::silu(y) : y;
  }
  TORCH_CHECK(x.dim() == 5, "FrameGroupNorm expects (B,C,T,H,W), got ", x.sizes());
  const double bytes = static_cast<double>(x.numel()) * 4;  // statistics in fp32
  if (max_bytes_ <= 0 || at::GradMode::is_enabled() || bytes <= static_cast<double>(max_bytes_)) {
    return Normalize(x, groups_, weight_, bias_, silu);  // see CausalConv3dImpl::forward on autograd
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
                         bias_.narrow(0, g * cg, n * cg), silu));
  }
  return out;
}

at::Tensor FrameGroupNormImpl::Normalize(const at::Tensor& x, int64_t groups, const at::Tensor& weight,
                                         const at::Tensor& bias, bool silu) const {
  const int64_t b = x.size(0), c = x.size(1), t = x.size(2), cg = c / groups;
  const int64_t hw = x.size(3) * x.size(4);
  // Statistics per (batch, group, frame) from every (channel, frame) row of
  // H*W values: its mean and the L2 norm of the centred row, contiguous
  // vectorised reductions straight on the (B,C,T,H,W) layout. This avoids a
  // transposed copy (which would cost more than the normalisation at 128
  // channels x full resolution), var_mean's Welford pass in fp64 (~30x
  // slower) and the cancellation of E[x^2] - mean^2 in fp32 far from zero
  // mean. Rows combine into their group in fp64 (Chan et al.'s pairwise
  // variance): var = mean of the row variances + variance of the row means.
  const bool low = x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble;
  const at::Tensor rows = (low ? x.to(at::kFloat) : x).reshape({b, groups, cg, t, hw});
  const at::Tensor row_mean = rows.mean(-1, /*keepdim=*/true);  // (B,G,Cg,T,1)
  at::Tensor centred = rows - row_mean;
  const at::Tensor row_m2 = at::linalg_vector_norm(centred, 2, {-1}).to(at::kDouble).square();  // (B,G,Cg,T)
  const at::Tensor mr = row_mean.squeeze(-1).to(at::kDouble);
  const at::Tensor mean = mr.mean(2, /*keepdim=*/true);  // (B,G,1,T)
  const at::Tensor var =
      row_m2.sum(2, /*keepdim=*/true) / static_cast<double>(cg * hw) + (mr - mean).square().mean(2, /*keepdim=*/true);
  const at::Tensor w = weight.to(at::kDouble).view({1, groups, cg, 1});
  const at::Tensor bb = bias.to(at::kDouble).view({1, groups, cg, 1});
  const at::Tensor scale = at::rsqrt(var + eps_) * w;  // (B,G,Cg,T)
  // (x - mean) * scale + b = centred * scale + ((row mean - mean) * scale + b)
  const at::Tensor shift = (mr - mean) * scale + bb;
  const at::Tensor scale32 = scale.unsqueeze(-1).to(at::kFloat), shift32 = shift.unsqueeze(-1).to(at::kFloat);
  at::Tensor y;
  if (!at::GradMode::is_enabled() && !low) {
    y = at::addcmul_out(centred, shift32, centred, scale32);  // the temporary becomes the output
  } else {
    y = at::addcmul(shift32, centred, scale32).to(x.scalar_type());
  }
  y = y.view(x.sizes());
  if (!silu) return y;
  // In place saves a whole activation, but autograd needs SiLU's input.
  return at::GradMode::is_enabled() && y.requires_grad() ? at::silu(y) : at::silu_(y);
}

}  // namespace seedvr::vae

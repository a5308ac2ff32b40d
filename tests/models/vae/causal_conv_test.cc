// The VAE's two primitives against LibTorch's own operators: oneDNN
// convolutions equal LibTorch's kernel choice (values and gradients, every
// stride and padding the VAE uses), and the per-frame GroupNorm equals
// at::group_norm applied frame by frame, also where the mean dwarfs the
// spread, and with its fused SiLU under autograd.
#include "seedvr/models/vae/causal_conv.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/utils.h>

#include <array>

namespace seedvr::vae {
namespace {

double MaxDiff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

struct KernelScope {
  explicit KernelScope(ConvKernel k) { SetConvKernel(k); }
  ~KernelScope() { SetConvKernel(ConvKernel::kAuto); }
};

TEST(CausalConv3d, OneDnnEqualsLibTorchKernelWithGradients) {
  at::manual_seed(0);
  struct Case {
    CausalConv3dOptions options;
    std::array<int64_t, 3> input;  // channels, frames, edge
  };
  const Case cases[] = {
      {CausalConv3dOptions(8, 16, {3, 3, 3}), {8, 5, 16}},  // resnet conv
      {CausalConv3dOptions(8, 8, {3, 3, 3}).stride({2, 2, 2}).spatial_padding({0, 1, 0, 1}), {8, 5, 16}},  // down
      {CausalConv3dOptions(8, 16, {1, 1, 1}), {8, 3, 8}},                                                  // shortcut
      {CausalConv3dOptions(3, 8, {3, 3, 3}), {3, 9, 12}},                                                  // conv_in
  };
  for (const Case& c : cases) {
    CausalConv3d conv(c.options);
    const at::Tensor x = at::randn({2, c.input[0], c.input[1], c.input[2], c.input[2]});
    auto run = [&](ConvKernel k) {
      KernelScope scope(k);
      conv->zero_grad();
      at::Tensor in = x.clone().requires_grad_(true);
      at::Tensor y = conv(in);
      (y * y).sum().backward();
      return std::array<at::Tensor, 3>{y.detach(), in.grad(), conv->named_parameters()["weight"].grad().clone()};
    };
    const auto before = Conv3dFlops();
    const auto onednn = run(ConvKernel::kOneDnn);
    const auto libtorch = run(ConvKernel::kLibTorchDefault);
    const auto& k = c.options.kernel;
    EXPECT_EQ(Conv3dFlops() - before, 2 * 2 * onednn[0].numel() * c.options.in_channels * k[0] * k[1] * k[2]);
    EXPECT_LE(MaxDiff(onednn[0], libtorch[0]), 1e-5);
    EXPECT_LE(MaxDiff(onednn[1], libtorch[1]), 1e-4);
    EXPECT_LE(MaxDiff(onednn[2], libtorch[2]) / libtorch[2].abs().max().item<double>(), 1e-5);
  }
}

// at::group_norm over each frame on its own: (B, C, T, H, W) -> (B*T, C, H, W).
at::Tensor ReferenceGroupNorm(const at::Tensor& x, int64_t groups, const at::Tensor& w, const at::Tensor& b) {
  const int64_t n = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), wd = x.size(4);
  at::Tensor frames = x.transpose(1, 2).reshape({n * t, c, h, wd});
  return at::group_norm(frames.to(at::kDouble), groups, w.to(at::kDouble), b.to(at::kDouble), 1e-6)
      .reshape({n, t, c, h, wd})
      .transpose(1, 2)
      .to(at::kFloat);
}

TEST(FrameGroupNorm, EqualsGroupNormPerFrameEvenFarFromZeroMean) {
  at::manual_seed(0);
  FrameGroupNorm norm(4, 16);
  torch::NoGradGuard no_grad;
  auto params = norm->named_parameters();
  params["weight"].uniform_(0.5, 1.5);
  params["bias"].uniform_(-0.5, 0.5);
  // Per-frame statistics that differ, and a mean 50x the spread: the
  // variance must not cancel away in fp32.
  for (double offset : {0.0, 50.0}) {
    const at::Tensor x = at::randn({2, 16, 3, 8, 8}) * at::arange(1, 4).view({1, 1, 3, 1, 1}) + offset;
    const at::Tensor ref = ReferenceGroupNorm(x, 4, params["weight"], params["bias"]);
    EXPECT_LE(MaxDiff(norm(x), ref), 2e-5) << "offset " << offset;
    EXPECT_LE(MaxDiff(norm(x, /*silu=*/true), at::silu(ref)), 2e-5) << "offset " << offset;
  }
}

TEST(FrameGroupNorm, FusedSiLUKeepsGradients) {
  at::manual_seed(0);
  FrameGroupNorm norm(2, 8);
  const at::Tensor x = at::randn({1, 8, 3, 4, 4});
  at::Tensor a = x.clone().requires_grad_(true), b = x.clone().requires_grad_(true);
  norm(a, /*silu=*/true).square().sum().backward();
  at::silu(norm(b)).square().sum().backward();
  EXPECT_LE(MaxDiff(a.grad(), b.grad()), 1e-5);
}

}  // namespace
}  // namespace seedvr::vae

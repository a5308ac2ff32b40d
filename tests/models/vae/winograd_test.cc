// Winograd F(2x2, 3x3) convolution against at::conv3d in fp64: every
// padding the VAE uses (symmetric, and one-sided as its spatial tiles and
// downsampling pad), odd and even frame sizes, one- and three-tap kernels,
// batches, frames joined from a causal head and a cropped view read in
// place, and clips large enough to run in several chunks of frames and of
// tile rows. It must be as close to the exact result as LibTorch's own fp32
// convolution, give or take a few fp32 roundings. Also the weight cache.
#include "seedvr/models/vae/winograd.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

namespace seedvr::vae {
namespace {

// conv3d of the parts joined in time and zero-padded (top, bottom, left,
// right), in fp64, and LibTorch's fp32 result of the same.
at::Tensor Reference(const std::vector<at::Tensor>& parts, const at::Tensor& w, const at::Tensor& b,
                     std::array<int64_t, 4> pad, at::ScalarType dtype) {
  const at::Tensor x = at::constant_pad_nd(at::cat(parts, 2), {pad[2], pad[3], pad[0], pad[1]}, 0).to(dtype);
  return at::conv3d(x, w.to(dtype), b.defined() ? b.to(dtype) : at::Tensor(), {1, 1, 1}, {0, 0, 0});
}

void ExpectMatchesConv3d(const std::vector<at::Tensor>& parts, int64_t out, int64_t taps, std::array<int64_t, 4> pad,
                         bool bias) {
  const at::Tensor& x = parts[0];
  SCOPED_TRACE(testing::Message() << "parts " << parts.size() << " x " << x.sizes() << " O " << out << " kt " << taps
                                  << " pad " << pad[0] << "," << pad[1] << "," << pad[2] << "," << pad[3]);
  const int64_t c = x.size(1);
  const at::Tensor w = at::randn({out, c, taps, 3, 3}) / std::sqrt(static_cast<double>(c * taps * 9));
  const at::Tensor b = bias ? at::randn({out}) : at::Tensor();
  ASSERT_TRUE(WinogradApplies(parts, w, {1, 1, 1}, pad));
  const at::Tensor exact = Reference(parts, w, b, pad, at::kDouble);
  const at::Tensor direct = Reference(parts, w, b, pad, at::kFloat);
  const at::Tensor wino = WinogradConv3d(parts, WinogradWeight(w), b, pad);
  ASSERT_EQ(wino.sizes(), exact.sizes());
  const double direct_err = (direct.to(at::kDouble) - exact).abs().max().item<double>();
  const double wino_err = (wino.to(at::kDouble) - exact).abs().max().item<double>();
  // Outputs are of order 1: both errors are a few fp32 roundings.
  EXPECT_LE(wino_err, 1e-5);
  EXPECT_LE(wino_err, 8 * direct_err + 1e-6);
}

TEST(Winograd, MatchesConv3dOnTheVaeShapes) {
  at::manual_seed(0);
  struct Case {
    std::array<int64_t, 5> x;  // B, C, T, H, W
    int64_t out, taps;
    std::array<int64_t, 4> pad;
    bool bias;
  };
  const Case cases[] = {
      {{1, 8, 5, 16, 16}, 16, 3, {1, 1, 1, 1}, true},  // resnet conv
      {{2, 5, 4, 9, 11}, 7, 3, {1, 1, 1, 1}, true},    // odd sizes, batch 2
      {{1, 6, 3, 7, 6}, 4, 1, {1, 1, 1, 1}, false},    // one tap
      {{1, 4, 3, 8, 10}, 4, 3, {0, 0, 0, 0}, true},    // no padding
      {{1, 4, 3, 8, 10}, 4, 3, {2, 1, 0, 2}, true},    // uneven padding
      {{1, 4, 3, 9, 7}, 4, 3, {1, 0, 0, 1}, true},     // a spatial tile's
      {{1, 3, 3, 1, 1}, 8, 3, {1, 1, 1, 1}, true},     // 1x1 frames
      {{1, 3, 3, 3, 3}, 8, 3, {0, 0, 0, 0}, true},     // one output pixel
  };
  for (const Case& c : cases) {
    ExpectMatchesConv3d({at::randn({c.x[0], c.x[1], c.x[2], c.x[3], c.x[4]})}, c.out, c.taps, c.pad, c.bias);
  }
}

TEST(Winograd, ReadsACausalHeadAndACroppedViewInPlace) {
  at::manual_seed(2);
  const at::Tensor clip = at::randn({2, 6, 5, 12, 14});
  const at::Tensor crop = clip.narrow(3, 2, 7).narrow(4, 3, 9);              // rows 14 floats apart
  const at::Tensor head = crop.narrow(2, 0, 1).expand({-1, -1, 2, -1, -1});  // first frame twice, stride 0
  ExpectMatchesConv3d({head, crop}, 5, 3, {1, 1, 1, 1}, true);
  ExpectMatchesConv3d({head, crop}, 5, 3, {0, 1, 1, 0}, false);
  ExpectMatchesConv3d({crop.narrow(2, 0, 2), crop.narrow(2, 2, 1), crop.narrow(2, 3, 2)}, 4, 3, {1, 1, 1, 1}, true);
}

TEST(Winograd, ChunksOfFramesAndTileRowsJoinExactly) {
  at::manual_seed(1);
  ExpectMatchesConv3d({at::randn({1, 128, 11, 64, 64})}, 128, 3, {1, 1, 1, 1}, true);  // several frame chunks
  ExpectMatchesConv3d({at::randn({1, 64, 3, 258, 258})}, 64, 3, {1, 1, 1, 1}, true);   // several tile-row bands
}

TEST(Winograd, WeightCacheFollowsTheWeightWithoutHoldingIt) {
  at::manual_seed(3);
  at::Tensor w = at::randn({4, 3, 3, 3, 3});
  WinogradWeightCache cache;
  const auto refs = w.use_count();
  const at::Tensor first = cache.Get(w);
  EXPECT_TRUE(at::equal(first, WinogradWeight(w)));
  EXPECT_EQ(w.use_count(), refs);            // a weak reference only
  EXPECT_TRUE(cache.Get(w).is_same(first));  // unchanged weight: no recomputation
  w.add_(1.0);                               // in place, as an optimizer step
  EXPECT_TRUE(at::equal(cache.Get(w), WinogradWeight(w)));
  const at::Tensor other = at::randn({4, 3, 3, 3, 3});  // another tensor, as after a move
  EXPECT_TRUE(at::equal(cache.Get(other), WinogradWeight(other)));
}

TEST(Winograd, AppliesOnlyWhereItComputesTheSameConvolution) {
  const at::Tensor x = at::randn({1, 4, 3, 8, 8});
  const at::Tensor w = at::randn({4, 4, 3, 3, 3});
  const std::array<int64_t, 4> same{1, 1, 1, 1};
  EXPECT_TRUE(WinogradApplies({x}, w, {1, 1, 1}, same));
  EXPECT_TRUE(WinogradApplies({x.narrow(2, 0, 1), x.narrow(2, 1, 2)}, w, {1, 1, 1}, same));
  EXPECT_FALSE(WinogradApplies({x}, w, {1, 2, 2}, same));                                   // strided
  EXPECT_FALSE(WinogradApplies({x}, at::randn({4, 4, 1, 1, 1}), {1, 1, 1}, {0, 0, 0, 0}));  // 1x1
  EXPECT_FALSE(WinogradApplies({x}, w, {1, 1, 1}, {3, 1, 1, 1}));                           // padding beyond 2
  EXPECT_FALSE(WinogradApplies({x.to(at::kDouble)}, w, {1, 1, 1}, same));
  EXPECT_FALSE(WinogradApplies({x}, at::randn({4, 5, 3, 3, 3}), {1, 1, 1}, same));  // channels
  EXPECT_FALSE(WinogradApplies({x.narrow(2, 0, 2)}, w, {1, 1, 1}, same));           // fewer frames than taps
  EXPECT_FALSE(WinogradApplies({x, x.narrow(3, 0, 4)}, w, {1, 1, 1}, same));        // parts of different sizes
  EXPECT_FALSE(WinogradApplies({x}, w.clone().requires_grad_(true), {1, 1, 1}, same));
  EXPECT_FALSE(WinogradApplies({x.clone().requires_grad_(true)}, w, {1, 1, 1}, same));
  {
    at::NoGradGuard no_grad;
    EXPECT_TRUE(WinogradApplies({x}, w.clone().requires_grad_(true), {1, 1, 1}, same));
  }
}

}  // namespace
}  // namespace seedvr::vae

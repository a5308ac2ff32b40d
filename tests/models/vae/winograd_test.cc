// Winograd F(2x2, 3x3) convolution against at::conv3d in fp64: every
// padding the VAE uses, odd and even frame sizes, one- and three-tap
// kernels, batches, and clips large enough to run in several chunks of
// frames and of tile rows. It must be as close to the exact result as
// LibTorch's own fp32 convolution, give or take a few fp32 roundings.
#include "seedvr/models/vae/winograd.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>

namespace seedvr::vae {
namespace {

struct Case {
  int64_t batch, in, out, frames, height, width, taps;
  std::array<int64_t, 2> padding;
  bool bias;
};

void ExpectMatchesConv3d(const Case& c) {
  SCOPED_TRACE(testing::Message() << "C " << c.in << " O " << c.out << " T " << c.frames << " " << c.height << "x"
                                  << c.width << " kt " << c.taps << " pad " << c.padding[0] << "," << c.padding[1]);
  const at::Tensor x = at::randn({c.batch, c.in, c.frames, c.height, c.width});
  const at::Tensor w = at::randn({c.out, c.in, c.taps, 3, 3}) / std::sqrt(static_cast<double>(c.in * c.taps * 9));
  const at::Tensor b = c.bias ? at::randn({c.out}) : at::Tensor();
  const std::array<int64_t, 3> pad{0, c.padding[0], c.padding[1]};
  ASSERT_TRUE(WinogradApplies(x, w, {1, 1, 1}, c.padding));
  const at::Tensor exact =
      at::conv3d(x.to(at::kDouble), w.to(at::kDouble), c.bias ? b.to(at::kDouble) : at::Tensor(), {1, 1, 1}, pad);
  const at::Tensor direct = at::conv3d(x, w, b, {1, 1, 1}, pad);
  const at::Tensor wino = WinogradConv3d(x, WinogradWeight(w), b, c.padding);
  ASSERT_EQ(wino.sizes(), exact.sizes());
  const double direct_err = (direct.to(at::kDouble) - exact).abs().max().item<double>();
  const double wino_err = (wino.to(at::kDouble) - exact).abs().max().item<double>();
  // Outputs are of order 1: both errors are a few fp32 roundings.
  EXPECT_LE(wino_err, 1e-5);
  EXPECT_LE(wino_err, 8 * direct_err + 1e-6);
}

TEST(Winograd, MatchesConv3dOnTheVaeShapes) {
  at::manual_seed(0);
  const Case cases[] = {
      {1, 8, 16, 5, 16, 16, 3, {1, 1}, true},  // resnet conv
      {2, 5, 7, 4, 9, 11, 3, {1, 1}, true},    // odd sizes, batch 2
      {1, 6, 4, 3, 7, 6, 1, {1, 1}, false},    // one tap
      {1, 4, 4, 3, 8, 10, 3, {0, 0}, true},    // pre-padded input
      {1, 4, 4, 3, 8, 10, 3, {2, 1}, true},    // wide padding
      {1, 3, 8, 3, 1, 1, 3, {1, 1}, true},     // 1x1 frames
      {1, 3, 8, 3, 3, 3, 3, {0, 0}, true},     // one output pixel
  };
  for (const Case& c : cases) ExpectMatchesConv3d(c);
}

TEST(Winograd, ChunksOfFramesAndTileRowsJoinExactly) {
  at::manual_seed(1);
  ExpectMatchesConv3d({1, 128, 128, 11, 64, 64, 3, {1, 1}, true});  // several frame chunks
  ExpectMatchesConv3d({1, 64, 64, 3, 258, 258, 3, {1, 1}, true});   // several tile-row bands
}

TEST(Winograd, AppliesOnlyWhereItComputesTheSameConvolution) {
  const at::Tensor x = at::randn({1, 4, 3, 8, 8});
  const at::Tensor w = at::randn({4, 4, 3, 3, 3});
  EXPECT_TRUE(WinogradApplies(x, w, {1, 1, 1}, {1, 1}));
  EXPECT_FALSE(WinogradApplies(x, w, {1, 2, 2}, {1, 1}));                           // strided
  EXPECT_FALSE(WinogradApplies(x, at::randn({4, 4, 1, 1, 1}), {1, 1, 1}, {0, 0}));  // 1x1
  EXPECT_FALSE(WinogradApplies(x.to(at::kDouble), w, {1, 1, 1}, {1, 1}));
  EXPECT_FALSE(WinogradApplies(x.narrow(2, 0, 2), w, {1, 1, 1}, {1, 1}));  // fewer frames than taps
  EXPECT_FALSE(WinogradApplies(x, w.clone().requires_grad_(true), {1, 1, 1}, {1, 1}));
  {
    at::NoGradGuard no_grad;
    EXPECT_TRUE(WinogradApplies(x, w.clone().requires_grad_(true), {1, 1, 1}, {1, 1}));
  }
}

}  // namespace
}  // namespace seedvr::vae

// Overlapped spatial tiles of the DiT at restoration (spatial_tiles.h): one
// tile is exactly Restore; several tiles stay close to the whole frame with
// no seam; the layout covers the frame in whole patches; tiles are chosen
// from a memory budget.
#include "seedvr/models/generator/spatial_tiles.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "seedvr/config/config.h"
#include "seedvr/models/dit/dit_config.h"
#include "seedvr/models/dit/dit_memory.h"
#include "seedvr/models/dit/nadit.h"

namespace seedvr::generator {
namespace {

constexpr int64_t kText = 8;  // text tokens

dit::DiTConfig TinyConfig() {
  auto c = config::LoadTrainConfig("configs/tiny.yaml");
  EXPECT_TRUE(c.ok()) << c.status();
  dit::DiTConfig m = c->model;
  m.window_reference_grid = {0, 0};  // restoration's rule
  return m;
}

// configs/tiny.yaml's DiT with seeded random weights.
SeedVR2Generator TinyGenerator() {
  const dit::DiTConfig c = TinyConfig();
  at::manual_seed(0);
  dit::NaDiT dit(c);
  dit->eval();
  return SeedVR2Generator(dit, at::randn({kText, c.txt_in_dim}));
}

TEST(RestoreTiled, OneTileIsRestore) {
  at::NoGradGuard no_grad;
  SeedVR2Generator g = TinyGenerator();
  at::Tensor lq = at::randn({2, 16, 2, 8, 12}), noise = at::randn({2, 16, 2, 8, 12});
  const at::Tensor whole = g.Restore(lq, noise);
  EXPECT_TRUE(at::equal(RestoreTiled(g, lq, noise, {8, 12, 2, 2}), whole));
  EXPECT_TRUE(at::equal(RestoreTiled(g, lq, noise, {64, 64, 8, 8}), whole));  // clipped to the frame
}

// Mean |x[..., k+1] - x[..., k]| over everything but the last axis, per k.
at::Tensor ColumnSteps(const at::Tensor& x) {
  const int64_t n = x.size(-1) - 1;
  return (x.narrow(-1, 1, n) - x.narrow(-1, 0, n)).abs().flatten(0, -2).mean(0);
}

// One frame (T' = 1), 28 x 40 latent px in 16 x 16 tiles overlapping by 4:
// rows start at 0, 12 and columns at 0, 12, 24, so columns 12..15 and
// 24..27 (and rows 12..15) are blend regions.
TEST(RestoreTiled, SeveralTilesStayCloseToTheWholeFrame) {
  at::NoGradGuard no_grad;
  SeedVR2Generator g = TinyGenerator();
  at::manual_seed(1);
  at::Tensor lq = at::randn({1, 16, 1, 28, 40}), noise = at::randn({1, 16, 1, 28, 40});
  const at::Tensor whole = g.Restore(lq, noise);
  const at::Tensor tiled = RestoreTiled(g, lq, noise, {16, 16, 4, 4});
  // A tile's tokens attend only within it, so outputs differ; with these
  // random weights the context matters little: measured mean |tiled -
  // whole| = 0.0066 against mean |v| = 0.47 for the prediction v = noise -
  // whole (1.4%), max 0.035. Bounds at about twice that.
  const at::Tensor diff = (tiled - whole).abs();
  const double v = (noise - whole).abs().mean().item<double>();
  EXPECT_GT(diff.max().item<double>(), 0);  // the tiles did run on their own
  EXPECT_LT(diff.mean().item<double>(), 0.03 * v);
  EXPECT_LT(diff.max().item<double>(), 0.07);
  // Where tiles meet, the difference is no larger than inside them: per
  // column, mean |tiled - whole| over the blend columns is within 1.3x of
  // the other columns' (measured 0.0060 against 0.0067).
  const at::Tensor per_column = diff.flatten(0, -2).mean(0);
  const at::Tensor blend = at::cat({per_column.narrow(0, 12, 4), per_column.narrow(0, 24, 4)});
  const at::Tensor rest =
      at::cat({per_column.narrow(0, 0, 12), per_column.narrow(0, 16, 8), per_column.narrow(0, 28, 12)});
  EXPECT_LT(blend.mean().item<double>(), 1.3 * rest.mean().item<double>());
}

// Tiles that agree blend into exactly what they agree on: the weights sum
// to 1 wherever tiles overlap, also where the last tile overlaps more and
// where three tiles overlap (tile 6, overlap 4: a stride of 2).
TEST(RestoreTiled, AgreeingTilesBlendToTheirCommonValue) {
  at::NoGradGuard no_grad;
  const at::Tensor lq = at::randn({1, 16, 2, 28, 40}), noise = at::randn({1, 16, 2, 28, 40});
  auto identity = [](const at::Tensor& l, const at::Tensor&) { return l; };
  for (const LatentTiles& t : {LatentTiles{16, 16, 4, 4}, LatentTiles{10, 14, 6, 4}, LatentTiles{6, 6, 4, 4}}) {
    EXPECT_TRUE(at::allclose(RestoreTiled(identity, lq, noise, t, {2, 2}), lq, 1e-6, 1e-6))
        << t.tile_h << " x " << t.tile_w;
  }
}

// Seams. With the random DiT above, tiles disagree token by token (a white
// difference), so even tiles pasted with hard cuts show no seam. The worst
// case is tiles that disagree coherently: here each tile's restoration adds
// its own mean, so on a smooth input neighbours differ by a tile-wide
// offset. Seam metric: the largest mean |difference of neighbouring
// columns| inside the blend regions over the largest elsewhere (the input's
// own variation). Hard cuts in the middle of each overlap measure 5.1 (a
// jump); the blend 2.2: its raised cosine over 4 px moves the weights by at
// most 0.38 a column, so the offset is spread over the overlap.
TEST(RestoreTiled, BlendingSpreadsDisagreementOverTheOverlap) {
  at::NoGradGuard no_grad;
  at::manual_seed(2);
  const at::Tensor lq = at::upsample_bilinear2d(at::randn({1, 16, 3, 4}), {28, 40}, true).unsqueeze(2);
  const at::Tensor noise = at::zeros_like(lq);
  auto plus_tile_mean = [](const at::Tensor& l, const at::Tensor&) { return l + l.mean({3, 4}, true); };
  // Full-height tiles 16 wide overlapping by 4: columns start at 0, 12, 24.
  const at::Tensor blended = RestoreTiled(plus_tile_mean, lq, noise, {28, 16, 0, 4}, {2, 2});
  auto tile = [&](int64_t x0) { return plus_tile_mean(lq.narrow(-1, x0, 16), noise); };
  const at::Tensor hard =
      at::cat({tile(0).narrow(-1, 0, 14), tile(12).narrow(-1, 2, 12), tile(24).narrow(-1, 2, 14)}, -1);
  auto seam = [](const at::Tensor& out) {
    const at::Tensor steps = ColumnSteps(out);  // step x: columns x -> x + 1
    const at::Tensor blend = at::cat({steps.narrow(0, 12, 3), steps.narrow(0, 24, 3)});
    const at::Tensor rest = at::cat({steps.narrow(0, 0, 12), steps.narrow(0, 15, 9), steps.narrow(0, 27, 12)});
    return blend.max().item<double>() / rest.max().item<double>();
  };
  EXPECT_GT(seam(hard), 4.0);  // the metric sees a hard cut
  EXPECT_LT(seam(blended), 2.5);
}

TEST(TileLayout, StartsCoverTheFrameInWholePatches) {
  EXPECT_EQ(TileStarts(40, 16, 4), (std::vector<int64_t>{0, 12, 24}));
  EXPECT_EQ(TileStarts(30, 16, 4), (std::vector<int64_t>{0, 12, 14}));  // the last tile ends at the border
  EXPECT_EQ(TileStarts(16, 16, 4), (std::vector<int64_t>{0}));
  EXPECT_EQ(TileStarts(10, 16, 4), (std::vector<int64_t>{0}));
  for (int64_t size = 2; size <= 40; size += 2) {
    for (int64_t tile = 2; tile <= 24; tile += 2) {
      for (int64_t overlap = 0; overlap < tile; overlap += 2) {
        const std::vector<int64_t> s = TileStarts(size, tile, overlap);
        const std::string at = std::to_string(size) + "/" + std::to_string(tile) + "/" + std::to_string(overlap);
        EXPECT_EQ(s.front(), 0) << at;
        EXPECT_EQ(s.back() + std::min(tile, size), size) << at;
        for (size_t i = 0; i < s.size(); ++i) {
          EXPECT_EQ(s[i] % 2, 0) << at;
          if (i == 0) continue;
          const int64_t shared = s[i - 1] + tile - s[i];
          EXPECT_GE(shared, overlap) << at;                        // covered, overlapping at least as asked
          if (i + 1 < s.size()) {
            EXPECT_EQ(shared, overlap) << at;  // exactly, but for the last tile
          }
        }
      }
    }
  }
}

TEST(TileLayout, BadTilesAreRefused) {
  SeedVR2Generator g = TinyGenerator();
  const at::Tensor x = at::zeros({1, 16, 1, 8, 8});
  EXPECT_THROW(RestoreTiled(g, x, x, {5, 8, 2, 2}), c10::Error);   // not whole patches
  EXPECT_THROW(RestoreTiled(g, x, x, {4, 4, 4, 2}), c10::Error);   // overlap >= tile
  EXPECT_THROW(RestoreTiled(g, x, x, {4, 4, 2, -2}), c10::Error);  // negative overlap
  const at::Tensor odd = at::zeros({1, 16, 1, 7, 8});
  EXPECT_THROW(RestoreTiled(g, odd, odd, {4, 4, 2, 2}), c10::Error);  // frame not in whole patches
}

TEST(ChooseLatentTiles, WholeFrameWhenItFitsElseTheLargestTilesThatFit) {
  const dit::DiTConfig c = TinyConfig();
  const int64_t t = 5, h = 128, w = 192;
  auto bytes = [&](int64_t th, int64_t tw) { return dit::DiTInferenceBytes(c, {t, th / 2, tw / 2}, kText); };
  const double whole = bytes(h, w);

  auto all = ChooseLatentTiles(c, t, h, w, whole, kText);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->tile_h, h);
  EXPECT_EQ(all->tile_w, w);

  for (double fraction : {0.5, 0.2}) {
    auto tiles = ChooseLatentTiles(c, t, h, w, fraction * whole, kText);
    ASSERT_TRUE(tiles.ok()) << tiles.status();
    const std::string at = std::to_string(fraction);
    EXPECT_LT(tiles->tile_h, h) << at;
    EXPECT_LT(tiles->tile_w, w) << at;
    EXPECT_LE(bytes(tiles->tile_h, tiles->tile_w), fraction * whole) << at;
    // The next larger tiles of the frame's aspect (one patch more on the
    // longer side, scaled) would not fit.
    const double up = static_cast<double>(tiles->tile_w + 2) / static_cast<double>(w);
    EXPECT_GT(bytes(std::min<int64_t>(h, 2 * std::llround(up * h / 2)), tiles->tile_w + 2), fraction * whole) << at;
    EXPECT_NEAR(static_cast<double>(tiles->tile_w) / tiles->tile_h, 1.5, 0.15) << at;  // the frame's aspect
    for (int64_t v : {tiles->tile_h, tiles->tile_w, tiles->overlap_h, tiles->overlap_w}) EXPECT_EQ(v % 2, 0) << at;
    EXPECT_NEAR(tiles->overlap_w, tiles->tile_w / 8.0, 1.0) << at;  // about 1/8, in whole patches
    EXPECT_GE(tiles->overlap_h, 2) << at;
  }
}

TEST(ChooseLatentTiles, ImpossibleBudgetsNameTheBudgetAndTheMinimum) {
  const dit::DiTConfig c = TinyConfig();
  auto tiles = ChooseLatentTiles(c, 5, 64, 96, 1e6, kText);
  ASSERT_EQ(tiles.status().code(), absl::StatusCode::kResourceExhausted);
  const std::string m(tiles.status().message());
  EXPECT_NE(m.find("budget of 0.001 GB"), std::string::npos) << m;
  EXPECT_NE(m.find("16 x 16 latent px"), std::string::npos) << m;  // the smallest tile
  EXPECT_NE(m.find("needs"), std::string::npos) << m;
  EXPECT_EQ(ChooseLatentTiles(c, 5, 63, 96, 1e12, kText).status().code(), absl::StatusCode::kInvalidArgument);
}

// The released 3B under bf16 at 720p (21 latent frames, 90 x 160 latent px,
// 58 text tokens): a forward without autograd holds less than one with
// per-block checkpointing (6.6 against 34 GB), and grows with the frame.
TEST(DiTInferenceBytes, BelowCheckpointedTrainingAndGrowingWithTheFrame) {
  dit::DiTConfig c = dit::OfficialDiT3B();
  c.compute_dtype = "bfloat16";
  const dit::Grid3 grid = {21, 45, 80};
  const double inference = dit::DiTInferenceBytes(c, grid, 58);
  EXPECT_LT(inference, dit::DiTActivationBytes(c, grid, 58, 1).checkpointed);
  EXPECT_GT(inference, dit::DiTInferenceBytes(c, {21, 45, 40}, 58));
}

}  // namespace
}  // namespace seedvr::generator

// Bounded-memory paths of the VAE: causal temporal slicing is exact, spatial
// tiling is approximate with a measured seam error, and the memory plan
// escalates full -> sliced -> tiled as the bound tightens.
#include <ATen/ATen.h>

#include <cstdio>
#include <string>

#include "gtest/gtest.h"
#include "seedvr/models/vae/memory_plan.h"
#include "seedvr/models/vae/tiling.h"
#include "seedvr/models/vae/vae_model.h"
#include "seedvr/models/vae/vae_weights.h"
#include "seedvr/testing/fixtures.h"

namespace seedvr::vae {
namespace {

using Switch = VAERunOptions::Switch;

double MaxDiff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a - b).abs().max().item<double>();
}

// vae_a's config.yaml, spelled out so this test needs no YAML parser.
VideoVAE FixtureVAE() {
  vae::VAEConfig c;
  c.block_out_channels = {4, 8, 16, 16};
  c.norm_num_groups = 2;
  VideoVAE vae(c);
  EXPECT_TRUE(LoadVAEWeights(*vae, testing::FixturePath("vae_a/weights.pth")).ok());
  return vae;
}

// A smooth clip (low-frequency pattern plus a little noise), closer to video
// than uniform noise, so the tiling error reflects content, not white noise.
at::Tensor SmoothClip(int64_t t, int64_t h, int64_t w) {
  at::manual_seed(7);
  at::Tensor coarse = at::rand({1, 3 * t, h / 8, w / 8}) * 2 - 1;
  at::Tensor up = at::upsample_bilinear2d(coarse, {h, w}, /*align_corners=*/false);
  return (up.view({1, 3, t, h, w}) + 0.05 * at::randn({1, 3, t, h, w})).clamp(-1, 1);
}

TEST(VaeSlicing, SlicedEqualsFullSequence) {
  VideoVAE vae = FixtureVAE();
  VAERunOptions full, sliced;
  full.slicing = Switch::kOff;
  sliced.slicing = Switch::kOn;
  full.tile = sliced.tile = 0;
  at::Tensor v = SmoothClip(17, 32, 32);  // chunks 5, 4, 4, 4
  auto a = vae->Encode(v, full), b = vae->Encode(v, sliced);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->mean.size(2), 5);
  EXPECT_LE(MaxDiff(a->mean, b->mean), 1e-5);
  EXPECT_LE(MaxDiff(a->logvar, b->logvar), 1e-5);
  at::Tensor z = at::randn({1, 16, 5, 4, 4});  // chunks 2, 1, 1, 1
  auto da = vae->Decode(z, full), db = vae->Decode(z, sliced);
  ASSERT_TRUE(da.ok() && db.ok());
  EXPECT_EQ(da->size(2), 17);
  EXPECT_LE(MaxDiff(*da, *db), 1e-5);
}

TEST(VaeTiling, SpansCoverAndRampsSumToOne) {
  auto spans = TileSpans(20, 8, 2);
  ASSERT_EQ(spans.front().begin, 0);
  ASSERT_EQ(spans.back().end, 20);
  for (size_t i = 1; i < spans.size(); ++i) {
    EXPECT_GE(spans[i - 1].end - spans[i].begin, 2);
    EXPECT_EQ(spans[i].end - spans[i].begin, 8);
  }
  EXPECT_EQ(TileSpans(8, 8, 2).size(), 1u);
  for (bool cosine : {false, true}) {
    at::Tensor a = RampWeights(10, 0, 4, cosine), b = RampWeights(10, 4, 0, cosine);
    at::Tensor sum = a.narrow(0, 6, 4) + b.narrow(0, 0, 4);
    EXPECT_LE((sum - 1).abs().max().item<double>(), 1e-6);
    EXPECT_GT(a.narrow(0, 9, 1).item<double>(), 0.0);
  }
  // Cutting a canvas into tiles and blending them back is the identity.
  at::Tensor canvas = at::randn({1, 2, 3, 20, 28});
  auto rows = TileSpans(20, 8, 3), cols = TileSpans(28, 8, 3);
  TileBlender blend(canvas.sizes(), canvas.options());
  for (const auto& r : rows)
    for (const auto& c : cols)
      blend.Add(canvas.narrow(3, r.begin, r.end - r.begin).narrow(4, c.begin, c.end - c.begin),
                r.begin, c.begin, RampWeights(r.end - r.begin, r.overlap_prev, r.overlap_next, true),
                RampWeights(c.end - c.begin, c.overlap_prev, c.overlap_next, true));
  EXPECT_LE(MaxDiff(blend.Result(at::kFloat), canvas), 1e-5);
}

// Tiling-error bounds (max and mean |diff| of tiled vs untiled; 48px tiles,
// 16px overlap, 5x64x96 smooth clip, fixture weights). Measured with
// linear / cosine ramps: encode max 1.74 / 1.84, mean 0.198 / 0.206; decode
// max 1.38 / 1.46, mean 0.135 / 0.139 (untiled |mean| max 1.85, |decoded|
// max 1.58). The error comes from per-tile GroupNorm statistics and
// attention in this tiny random model (2 groups), not from the blend.
constexpr double kEncodeMaxBound = 2.2, kEncodeMeanBound = 0.25;
constexpr double kDecodeMaxBound = 1.8, kDecodeMeanBound = 0.18;

// Tiles see only part of each frame, so their per-frame GroupNorm statistics
// and mid-block attention differ from the whole frame's: tiling is an
// approximation. This measures how far it is from the untiled result on a
// frame that fits, and bounds it.
TEST(VaeTiling, SeamErrorAgainstUntiled) {
  VideoVAE vae = FixtureVAE();
  at::Tensor v = SmoothClip(5, 64, 96);
  VAERunOptions untiled;
  untiled.tile = 0;
  auto ref = vae->Encode(v, untiled);
  ASSERT_TRUE(ref.ok());
  auto ref_dec = vae->Decode(ref->mean, untiled);
  ASSERT_TRUE(ref_dec.ok());
  const double enc_scale = ref->mean.abs().max().item<double>();
  const double dec_scale = ref_dec->abs().max().item<double>();

  for (bool cosine : {false, true}) {
    VAERunOptions tiled;
    tiled.tile = 48;
    tiled.tile_overlap = 16;
    tiled.cosine_ramp = cosine;
    auto t = vae->Encode(v, tiled);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(vae->last_plan().tile, 48);
    auto td = vae->Decode(ref->mean, tiled);
    ASSERT_TRUE(td.ok()) << td.status();
    const double enc_err = MaxDiff(t->mean, ref->mean);
    const double enc_mean = (t->mean - ref->mean).abs().mean().item<double>();
    const double dec_err = MaxDiff(*td, *ref_dec);
    const double dec_mean = (*td - *ref_dec).abs().mean().item<double>();
    std::printf("tiling (%s ramp, 48px tiles, 16px overlap, 5x64x96): encode mean max|d| %.4f "
                "(mean %.4f, |ref| max %.3f); decode max|d| %.4f (mean %.4f, |ref| max %.3f)\n",
                cosine ? "cosine" : "linear", enc_err, enc_mean, enc_scale, dec_err, dec_mean,
                dec_scale);
    EXPECT_LE(enc_err, kEncodeMaxBound);
    EXPECT_LE(dec_err, kDecodeMaxBound);
    EXPECT_LE(enc_mean, kEncodeMeanBound);
    EXPECT_LE(dec_mean, kDecodeMeanBound);
  }

  // Tiling composes with exact slicing: sliced tiles == unsliced tiles.
  VAERunOptions a, b;
  a.tile = b.tile = 48;
  a.slicing = Switch::kOff;
  b.slicing = Switch::kOn;
  auto ta = vae->Decode(ref->mean, a), tb = vae->Decode(ref->mean, b);
  ASSERT_TRUE(ta.ok() && tb.ok());
  EXPECT_LE(MaxDiff(*ta, *tb), 1e-5);

  // A tile as large as the frame is the untiled path.
  VAERunOptions whole;
  whole.tile = 96;
  auto w = vae->Encode(v, whole);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(vae->last_plan().tile, 0);
  EXPECT_EQ(MaxDiff(w->mean, ref->mean), 0.0);
}

TEST(VaeMemoryPlan, EscalatesFullSlicedTiled) {
  vae::VAEConfig c;  // full width, 0.5 GB
  c.memory_limit_gb = 0;
  EXPECT_FALSE(PlanEncode(c, 17, 512, 512).slice);
  EXPECT_EQ(PlanEncode(c, 17, 512, 512).tile, 0);

  c.memory_limit_gb = 100;
  EXPECT_FALSE(PlanEncode(c, 17, 256, 256).slice);

  c.memory_limit_gb = 8;  // 17 frames at 512^2 do not fit, 5-frame chunks do
  VAEPlan p = PlanEncode(c, 17, 512, 512);
  EXPECT_TRUE(p.slice);
  EXPECT_EQ(p.tile, 0);
  EXPECT_LE(p.estimate_gb, 8);

  c.memory_limit_gb = 0.5;
  p = PlanEncode(c, 17, 512, 512);
  EXPECT_TRUE(p.slice);
  EXPECT_GT(p.tile, 0);
  EXPECT_LT(p.tile, 512);
  EXPECT_LE(p.estimate_gb, 0.5);
  VAEPlan d = PlanDecode(c, 5, 1024, 1024);
  EXPECT_TRUE(d.slice);
  EXPECT_GT(d.tile, 0);

  c.slicing_split_size = 0;  // slicing disabled: straight to tiles
  p = PlanEncode(c, 17, 512, 512);
  EXPECT_FALSE(p.slice);
  EXPECT_GT(p.tile, 0);
}

}  // namespace
}  // namespace seedvr::vae

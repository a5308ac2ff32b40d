// Bounded-memory paths of the VAE, all exact: causal temporal slicing,
// convolutions in spatial tiles and GroupNorms in chunks of groups (the
// official set_memory_limit), and the plan that picks full or sliced.
#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "seedvr/models/vae/memory_plan.h"
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

// The largest number of tiles any convolution of `m` (the encoder or the
// decoder) ran in last time.
int64_t MaxTiles(const torch::nn::Module& m, bool columns) {
  int64_t most = 1;
  for (const auto& child : m.modules())
    if (auto c = std::dynamic_pointer_cast<CausalConv3dImpl>(child))
      most = std::max(most, columns ? c->last_tiles()[1] : c->last_tiles()[0] * c->last_tiles()[1]);
  return most;
}

// Neither the default settings nor tight bounds approximate anything: a
// 256x256x17 encode and its decode equal the whole-frame, unsliced result
// up to float rounding, with every convolution of the stage-0 resolution
// split into dozens of tiles and the GroupNorms into single groups.
TEST(VaeSplit, TiledConvolutionsAndChunkedNormsEqualUnsplit) {
  VideoVAE vae = FixtureVAE();
  at::Tensor v = SmoothClip(17, 256, 256);
  VAERunOptions whole;  // one pass, nothing split
  whole.slicing = Switch::kOff;
  whole.conv_max_mem_gb = whole.norm_max_mem_gb = 0;
  auto ref = vae->Encode(v, whole);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(MaxTiles(*vae->encoder(), false), 1);
  auto ref_dec = vae->Decode(ref->mean, whole);
  ASSERT_TRUE(ref_dec.ok()) << ref_dec.status();

  auto defaults = vae->Encode(v);  // VAEConfig's (official) memory settings
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_LE(MaxDiff(defaults->mean, ref->mean), 1e-5);
  EXPECT_LE(MaxDiff(defaults->logvar, ref->logvar), 1e-5);

  VAERunOptions tight;  // 100 kB per convolution input, 10 kB per GroupNorm
  tight.conv_max_mem_gb = 1e-4;
  tight.norm_max_mem_gb = 1e-5;
  auto tiled = vae->Encode(v, tight);
  ASSERT_TRUE(tiled.ok()) << tiled.status();
  EXPECT_GT(MaxTiles(*vae->encoder(), false), 50);
  EXPECT_LE(MaxDiff(tiled->mean, ref->mean), 1e-5);
  EXPECT_LE(MaxDiff(tiled->logvar, ref->logvar), 1e-5);
  auto tiled_dec = vae->Decode(ref->mean, tight);
  ASSERT_TRUE(tiled_dec.ok()) << tiled_dec.status();
  EXPECT_GT(MaxTiles(*vae->decoder(), false), 50);
  // Decoded pixels (|x| up to ~1.6) sum longer chains of products: fp32
  // rounding in another order reaches ~1.2e-5 here.
  EXPECT_LE(MaxDiff(*tiled_dec, *ref_dec), 1e-4);
}

// Bounds below one output row's input split columns too; the halos at the
// frame's edges, the downsamplers' one-sided padding and the causal head
// frames all stay exact.
TEST(VaeSplit, RowAndColumnTilesEqualUnsplit) {
  VideoVAE vae = FixtureVAE();
  at::Tensor v = SmoothClip(9, 32, 48);
  VAERunOptions whole, tiny;
  whole.conv_max_mem_gb = whole.norm_max_mem_gb = 0;
  tiny.conv_max_mem_gb = 1e-6;  // 1 kB
  tiny.norm_max_mem_gb = 1e-6;
  for (Switch slicing : {Switch::kOff, Switch::kOn}) {
    whole.slicing = tiny.slicing = slicing;
    auto ref = vae->Encode(v, whole);
    auto tiled = vae->Encode(v, tiny);
    ASSERT_TRUE(ref.ok() && tiled.ok());
    EXPECT_GT(MaxTiles(*vae->encoder(), true), 1);
    EXPECT_LE(MaxDiff(tiled->mean, ref->mean), 1e-5);
    auto ref_dec = vae->Decode(ref->mean, whole);
    auto tiled_dec = vae->Decode(ref->mean, tiny);
    ASSERT_TRUE(ref_dec.ok() && tiled_dec.ok());
    EXPECT_GT(MaxTiles(*vae->decoder(), true), 1);
    EXPECT_LE(MaxDiff(*tiled_dec, *ref_dec), 1e-5);
  }
}

// The plan only chooses between two exact paths: full sequence when the
// activation estimate fits memory_limit_gb, else causal slices.
TEST(VaeMemoryPlan, FullOrSliced) {
  vae::VAEConfig c;  // full width, 0.5 GB
  c.memory_limit_gb = 0;
  EXPECT_FALSE(PlanEncode(c, 17, 512, 512).slice);

  c.memory_limit_gb = 100;
  EXPECT_FALSE(PlanEncode(c, 17, 256, 256).slice);

  c.memory_limit_gb = 8;  // 17 frames at 512^2 do not fit, 5-frame chunks do
  VAEPlan p = PlanEncode(c, 17, 512, 512);
  EXPECT_TRUE(p.slice);
  EXPECT_LE(p.estimate_gb, 8);

  c.memory_limit_gb = 0.5;  // a training crop: sliced, whole frames
  EXPECT_TRUE(PlanEncode(c, 17, 256, 256).slice);
  EXPECT_TRUE(PlanDecode(c, 5, 1024, 1024).slice);

  c.slicing_split_size = 0;  // slicing disabled: the full sequence
  EXPECT_FALSE(PlanEncode(c, 17, 512, 512).slice);
}

}  // namespace
}  // namespace seedvr::vae

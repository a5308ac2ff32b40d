#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <string>

#include "seedvr/core/tensor_file.h"
#include "seedvr/models/discriminator/dit.h"
#include "seedvr/models/discriminator/patch.h"
#include "seedvr/models/discriminator/video.h"
#include "seedvr/models/dit/nadit.h"

namespace seedvr::discriminator {
namespace {

static_assert(Discriminator<PatchDiscriminator> && Discriminator<VideoDiscriminator> && Discriminator<DiTDiscriminator>);
static_assert(ConditionedDiscriminator<DiTDiscriminator> && !ConditionedDiscriminator<PatchDiscriminator>);

TEST(PatchDiscriminator, LogitMapAndFeaturesOnALatentClip) {
  PatchDiscriminator d(PatchDiscriminatorOptions{16, 8, 3});
  at::Tensor x = at::randn({2, 16, 3, 32, 32});
  DiscriminatorOutput out = d->forward(x);
  // 3 stride-2 layers: 32 -> 4; time and the size-preserving tail keep size.
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 1, 3, 4, 4}));
  ASSERT_EQ(out.features.size(), 4u);
  EXPECT_EQ(out.features[0].size(1), 8);
  EXPECT_EQ(out.features[2].size(1), 32);
  // A tiny latent (64-pixel crop -> 8x8) still gives a map.
  EXPECT_EQ(d->forward(at::randn({1, 16, 2, 8, 8})).logits.sizes(), (std::vector<int64_t>{1, 1, 2, 1, 1}));
}

TEST(VideoDiscriminator, OneLogitPerClipAtAnySize) {
  VideoDiscriminator d(VideoDiscriminatorOptions{16, 8, 3, 4});
  for (auto shape : {std::vector<int64_t>{4, 16, 5, 32, 32}, std::vector<int64_t>{3, 16, 2, 8, 12}}) {
    DiscriminatorOutput out = d->forward(at::randn(shape));
    EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{shape[0], 1}));
    EXPECT_EQ(out.features.size(), 3u);
  }
}

TEST(VideoDiscriminator, MinibatchStdSeesBatchVariety) {
  at::manual_seed(1);
  VideoDiscriminator d(VideoDiscriminatorOptions{4, 4, 1, 2});
  at::Tensor a = at::randn({1, 4, 1, 8, 8});
  // Two copies of one clip vs two different clips: the first clip's logit
  // changes only through the minibatch-std channel.
  at::Tensor same = d->forward(at::cat({a, a})).logits;
  at::Tensor diff = d->forward(at::cat({a, at::randn({1, 4, 1, 8, 8})})).logits;
  EXPECT_GT((same[0] - diff[0]).abs().item<float>(), 1e-6);
}

TEST(Discriminators, GradientsReachTheInput) {
  for (int which = 0; which < 2; ++which) {
    at::Tensor x = at::randn({2, 16, 2, 16, 16}).requires_grad_(true);
    at::Tensor logits = which == 0 ? PatchDiscriminator(PatchDiscriminatorOptions{16, 8, 2})->forward(x).logits
                                   : VideoDiscriminator(VideoDiscriminatorOptions{16, 8, 2, 4})->forward(x).logits;
    logits.sum().backward();
    EXPECT_GT(x.grad().abs().sum().item<float>(), 0) << which;
  }
}

dit::DiTConfig TinyDiT() {
  dit::DiTConfig c;
  c.vid_dim = 32;
  c.txt_dim = 32;
  c.emb_dim = 192;
  c.heads = 2;
  c.head_dim = 16;
  c.num_layers = 3;
  c.mm_layers = 1;
  c.txt_in_dim = 8;
  c.rope_dim = 12;
  c.block_type.assign(3, "mmdit_sr");
  c.window.assign(3, {4, 3, 3});
  c.window_method = {"720pwin_by_size_bysize", "720pswin_by_size_bysize", "720pwin_by_size_bysize"};
  return c;
}

// APT §3.3: D judges the raw samples; only the timestep it is conditioned
// on is random. So its backbone input is the clip itself (channels last,
// condition channels zero) whatever the draw, while the timestep changes.
TEST(DiTDiscriminator, BackboneSeesCleanSamplesAndOnlyTheTimestepIsDrawn) {
  const dit::DiTConfig c = TinyDiT();
  DiTDiscriminator d(DiTDiscriminatorOptions{c, {0, 2}, 12.0, at::randn({5, 8})});
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  at::Tensor x = at::randn({2, 16, 2, 8, 8}, at::kFloat);
  const at::Tensor expected =
      at::cat({x, at::zeros({2, 17, 2, 8, 8})}, 1).permute({0, 2, 3, 4, 1}).reshape({2 * 2 * 8 * 8, 33});
  d->Resample(gen);
  const at::Tensor t1 = d->Timesteps(2);
  EXPECT_TRUE(at::equal(d->BackboneInput(x), expected));
  DiscriminatorOutput a = d->forward(x), b = d->forward(x);
  EXPECT_EQ(a.logits.sizes(), (std::vector<int64_t>{2, 1}));
  EXPECT_TRUE(at::equal(a.logits, b.logits));  // same draw within an update (R1, aR1/aR2 need it)
  ASSERT_EQ(a.features.size(), 2u);
  EXPECT_EQ(a.features[0].sizes(), (std::vector<int64_t>{2 * 2 * 4 * 4, 32}));
  d->Resample(gen);
  EXPECT_TRUE(at::equal(d->BackboneInput(x), expected));
  EXPECT_FALSE(at::equal(d->Timesteps(2), t1));
  EXPECT_TRUE((t1 >= 0).all().item<bool>() && (t1 < 1).all().item<bool>());
  EXPECT_FALSE(at::equal(d->forward(x).logits, a.logits));
  // The backbone keeps the DiT's official key names under "backbone.".
  EXPECT_TRUE(d->named_parameters().contains("backbone.blocks.0.attn.proj_qkv.vid.weight"));
}

// With dit_condition: lq the condition channels carry the LQ latent and a
// mask of ones, as the generator's get_condition lays them out.
TEST(DiTDiscriminator, LqConditionFillsTheConditionChannels) {
  DiTDiscriminator d(DiTDiscriminatorOptions{TinyDiT(), {1}, 12.0, at::randn({5, 8}), /*condition=*/true});
  at::Tensor x = at::randn({1, 16, 2, 4, 4}), lq = at::randn({1, 16, 2, 4, 4});
  d->Condition(lq);
  at::Tensor in = d->BackboneInput(x).view({2, 4, 4, 33});
  EXPECT_TRUE(at::equal(in.narrow(3, 0, 16), x[0].permute({1, 2, 3, 0})));
  EXPECT_TRUE(at::equal(in.narrow(3, 16, 16), lq[0].permute({1, 2, 3, 0})));
  EXPECT_TRUE(at::equal(in.select(3, 32), at::ones({2, 4, 4})));
}

// APT taps blocks 16, 26 and 36 of its 36 (1-indexed); the 3B's 32 blocks
// are tapped at the same relative depths.
TEST(DiTDiscriminator, TapsAtAptRelativeDepths) {
  EXPECT_EQ(AptFeatureLayers(36), (std::vector<int64_t>{15, 25, 35}));
  EXPECT_EQ(AptFeatureLayers(32), (std::vector<int64_t>{13, 22, 31}));
  EXPECT_EQ(AptFeatureLayers(1), (std::vector<int64_t>{0}));
}

// A single query attending to a set of tokens does not depend on their order.
TEST(DiTDiscriminator, CrossAttentionHeadIsOrderInvariant) {
  CrossAttentionHead head(32, 2);
  at::Tensor tokens = at::randn({2, 7, 32});
  at::Tensor out = head->forward(tokens);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 32}));
  EXPECT_TRUE(at::allclose(head->forward(tokens.flip(1)), out, 1e-5, 1e-6));
}

int64_t Numel(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

// Each discriminator's CountParameters (what the memory estimate uses)
// equals the parameter count of the module FromConfig builds, on latents and
// on pixels.
TEST(Discriminators, CountParametersEqualsTheBuiltModule) {
  config::TrainConfig c;
  c.model = TinyDiT();
  c.model.txt_in_dim = 8;
  c.discriminator.base_channels = 8;
  c.discriminator.num_layers = 3;
  for (const char* input : {"latent", "pixel"}) {
    c.discriminator.input = input;
    auto patch = PatchDiscriminatorImpl::FromConfig(c, {});
    ASSERT_TRUE(patch.ok()) << patch.status();
    EXPECT_EQ(PatchDiscriminatorImpl::CountParameters(c), Numel(**patch)) << input;
    auto video = VideoDiscriminatorImpl::FromConfig(c, {});
    ASSERT_TRUE(video.ok()) << video.status();
    EXPECT_EQ(VideoDiscriminatorImpl::CountParameters(c), Numel(**video)) << input;
  }
  c.discriminator.input = "latent";
  c.discriminator.dit_feature_layers = {0, 2};
  dit::NaDiT generator(c.model);
  auto dit = DiTDiscriminatorImpl::FromConfig(c, {generator.get(), at::randn({5, 8})});
  ASSERT_TRUE(dit.ok()) << dit.status();
  EXPECT_EQ(DiTDiscriminatorImpl::CountParameters(c), Numel(**dit));
  // It starts from the generator's weights.
  EXPECT_TRUE(at::equal((*dit)->backbone->named_parameters()["vid_in.proj.weight"],
                        generator->named_parameters()["vid_in.proj.weight"]));
  EXPECT_FALSE(DiTDiscriminatorImpl::FromConfig(c, {}).ok());  // needs the generator

  // discriminator.checkpoint: D starts from another DiT (APT: the diffusion
  // model's weights), without needing the generator.
  dit::NaDiT other(c.model);
  core::TensorList weights;
  for (const auto& p : other->named_parameters()) weights.push_back({p.key(), p.value().detach()});
  const std::string path = ::testing::TempDir() + "/d_init.safetensors";
  ASSERT_TRUE(core::WriteSafetensors(path, weights).ok());
  c.discriminator.checkpoint = path;
  auto from_file = DiTDiscriminatorImpl::FromConfig(c, {nullptr, at::randn({5, 8})});
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_TRUE(at::equal((*from_file)->backbone->named_parameters()["vid_in.proj.weight"],
                        other->named_parameters()["vid_in.proj.weight"]));
  c.discriminator.checkpoint = path + ".missing";
  auto missing = DiTDiscriminatorImpl::FromConfig(c, {nullptr, at::randn({5, 8})});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(std::string(missing.status().message()).find("discriminator.checkpoint"), std::string::npos);
}

}  // namespace
}  // namespace seedvr::discriminator

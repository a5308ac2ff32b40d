#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include "seedvr/models/discriminator/dit.h"
#include "seedvr/models/discriminator/patch.h"
#include "seedvr/models/discriminator/video.h"
#include "seedvr/models/dit/nadit.h"

namespace seedvr::discriminator {
namespace {

static_assert(Discriminator<PatchDiscriminator> && Discriminator<VideoDiscriminator> && Discriminator<DiTDiscriminator>);

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

TEST(DiTDiscriminator, OneNoiseDrawPerUpdateAndFeaturesFromTappedLayers) {
  const dit::DiTConfig c = TinyDiT();
  DiTDiscriminator d(DiTDiscriminatorOptions{c, {0, 2}, 12.0, at::randn({5, 8})});
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  d->Resample(gen);
  at::Tensor x = at::randn({2, 16, 2, 8, 8}, at::kFloat);
  DiscriminatorOutput a = d->forward(x), b = d->forward(x);
  EXPECT_EQ(a.logits.sizes(), (std::vector<int64_t>{2, 1}));
  EXPECT_TRUE(at::equal(a.logits, b.logits));  // same draw within an update (R1, aR1/aR2 need it)
  ASSERT_EQ(a.features.size(), 2u);
  EXPECT_EQ(a.features[0].sizes(), (std::vector<int64_t>{2 * 2 * 4 * 4, 32}));
  d->Resample(gen);
  EXPECT_FALSE(at::equal(d->forward(x).logits, a.logits));
  // The backbone keeps the DiT's official key names under "backbone.".
  EXPECT_TRUE(d->named_parameters().contains("backbone.blocks.0.attn.proj_qkv.vid.weight"));
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
}

}  // namespace
}  // namespace seedvr::discriminator

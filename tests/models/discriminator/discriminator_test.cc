#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "seedvr/models/discriminator/patch.h"
#include "seedvr/models/discriminator/video.h"

namespace seedvr {
namespace {

static_assert(Discriminator<PatchDiscriminator> && Discriminator<VideoDiscriminator>);

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

}  // namespace
}  // namespace seedvr

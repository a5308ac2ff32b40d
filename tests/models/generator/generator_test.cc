// The official condition augmentation's arithmetic (timestep_transform and
// schedule.forward, seedvr2-model.md §4 step 5).
#include "seedvr/models/generator/generator.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace seedvr::generator {
namespace {

// timestep_transform's anchors: video 256^2 x 37 px -> 1.0 and
// 1280 x 720 x 145 px -> 5.0; images 256^2 -> 1.0 and 1024^2 -> 3.2.
TEST(ConditionNoise, ShiftFollowsTheOfficialAnchors) {
  EXPECT_DOUBLE_EQ(ConditionShift(37, 256, 256), 1.0);
  EXPECT_DOUBLE_EQ(ConditionShift(145, 720, 1280), 5.0);
  EXPECT_DOUBLE_EQ(ConditionShift(1, 256, 256), 1.0);
  EXPECT_DOUBLE_EQ(ConditionShift(1, 1024, 1024), 3.2);
  // Linear in the pixel count: halfway between the video anchors.
  EXPECT_NEAR(ConditionShift(91, 720, 1280),
              1.0 + 4.0 * (91.0 * 720 * 1280 - 256.0 * 256 * 37) / (145.0 * 720 * 1280 - 256.0 * 256 * 37), 1e-12);
}

// t' = s t / (1 + (s - 1) t), then lq' = (1 - t') lq + t' eps; the
// official config's 0.25 at the 720p anchor (s = 5) gives t' = 0.625.
TEST(ConditionNoise, AugmentationMovesTheLqAlongTheFlow) {
  at::Tensor lq = at::randn({1, 16, 2, 4, 4}), eps = at::randn({1, 16, 2, 4, 4});
  EXPECT_TRUE(AugmentCondition(lq, eps, 0.0, 5.0).is_same(lq));
  EXPECT_TRUE(at::allclose(AugmentCondition(lq, eps, 0.25, 5.0), 0.375 * lq + 0.625 * eps, 1e-6, 1e-6));
  EXPECT_TRUE(at::allclose(AugmentCondition(lq, eps, 0.25, 1.0), 0.75 * lq + 0.25 * eps, 1e-6, 1e-6));
}

}  // namespace
}  // namespace seedvr::generator

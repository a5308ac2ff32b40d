// Lowering a config for the compiled trainer it names: the rules that tie
// config values to the compiled policies, each rejected before any work with
// an error naming the key, and the typed values the step reads.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "seedvr/config/config.h"
#include "seedvr/train/dispatch.h"

namespace seedvr::train {
namespace {

config::TrainConfig Tiny(std::vector<std::string> overrides) {
  auto c = config::LoadTrainConfig("configs/tiny.yaml", overrides);
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

void ExpectError(const config::TrainConfig& c, const std::vector<std::string>& parts, int world_size = 1) {
  auto r = SelectTrainer(c, world_size);
  ASSERT_FALSE(r.ok());
  for (const auto& part : parts) EXPECT_NE(r.status().message().find(part), std::string::npos) << r.status();
}

TEST(Lowering, UnknownPoliciesListWhatIsCompiled) {
  ExpectError(Tiny({"discriminator.type=stylegan"}), {"discriminator.type", "patch, video, dit", "stylegan"});
  ExpectError(Tiny({"loss.loss_type=wasserstein"}), {"loss.loss_type", "non_saturating, hinge, rpgan", "wasserstein"});
  auto ddp = SelectTrainer(Tiny({}), 2);
  ASSERT_TRUE(ddp.ok()) << ddp.status();
  EXPECT_EQ(std::string(ddp->first->preset), "PatchNonSaturatingDDP");
}

TEST(Lowering, SequenceParallelComposesWithTheStrategy) {
  auto sp = SelectTrainer(Tiny({"parallel.sp_size=2", "data.num_frames=9"}), 2);
  ASSERT_TRUE(sp.ok()) << sp.status();
  EXPECT_EQ(std::string(sp->first->preset), "PatchNonSaturatingDDP");
  ExpectError(Tiny({"parallel.sp_size=2", "data.num_frames=9"}), {"parallel.sp_size", "WORLD_SIZE=1"});
  ExpectError(Tiny({"parallel.sp_size=4", "data.num_frames=17"}), {"parallel.sp_size", "WORLD_SIZE=6"},
              /*world_size=*/6);
}

TEST(Lowering, SequenceParallelFramePadding) {
  // (T - 1) a multiple of 4 * sp_size, as the official cut_videos pads.
  auto c = config::LoadTrainConfig("configs/tiny.yaml", {"parallel.sp_size=2"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("data.num_frames"), std::string::npos) << c.status();
  EXPECT_NE(c.status().message().find("multiple of 8"), std::string::npos) << c.status();
  EXPECT_NE(c.status().message().find("try 9"), std::string::npos) << c.status();
  EXPECT_TRUE(config::LoadTrainConfig("configs/tiny.yaml", {"parallel.sp_size=4", "data.num_frames=17"}).ok());
}

TEST(Lowering, DiscriminatorTraitsAndKeys) {
  // The DiT discriminator has no double backward: exact R1 is refused.
  ExpectError(Tiny({"discriminator.type=dit"}), {"loss.lambda_r1", "dit discriminator", "loss.lambda_ar1"});
  ExpectError(Tiny({"discriminator.type=dit", "loss.lambda_r1=0", "discriminator.input=pixel"}),
              {"discriminator.input", "judges latents"});
  ExpectError(Tiny({"discriminator.type=dit", "loss.lambda_r1=0", "discriminator.dit_feature_layers=[1, 4]"}),
              {"discriminator.dit_feature_layers", "[0, 4)", "[1, 4]"});
  ExpectError(Tiny({"discriminator.type=dit", "loss.lambda_r1=0", "discriminator.dit_feature_layers=[3, 1]"}),
              {"discriminator.dit_feature_layers", "ascending"});
  EXPECT_TRUE(SelectTrainer(Tiny({"discriminator.type=dit", "loss.lambda_r1=0"}), 1).ok());
}

TEST(Lowering, TypedParameters) {
  auto r = SelectTrainer(Tiny({"discriminator.type=video", "loss.loss_type=hinge", "discriminator.input=pixel",
                               "loss.r1_interval=4", "optimizer.d_lr=1e-4", "optimizer.betas=[0.5, 0.99]",
                               "optimizer.d_betas=[0.0, 0.95]"}),
                         1);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(std::string(r->first->preset), "VideoHinge");
  const TrainerParams& p = r->second;
  EXPECT_EQ(p.d_input, DiscriminatorInput::kPixel);
  EXPECT_EQ(p.parallelism, "single");
  // Lazy R1 joins the D step's loss, so D's optimizer takes the config's
  // values unchanged (no StyleGAN2 correction for a separate R1 step).
  EXPECT_DOUBLE_EQ(p.d_optimizer.lr, 1e-4);
  EXPECT_DOUBLE_EQ(p.d_optimizer.beta1, 0.0);
  EXPECT_DOUBLE_EQ(p.d_optimizer.beta2, 0.95);
  EXPECT_DOUBLE_EQ(p.d_optimizer.weight_decay, 0.0);
  EXPECT_DOUBLE_EQ(p.g_optimizer.beta1, 0.5);
  EXPECT_EQ(p.r1.interval, 4);
  EXPECT_DOUBLE_EQ(p.weights.l1, 10.0);  // configs/tiny.yaml
}

}  // namespace
}  // namespace seedvr::train

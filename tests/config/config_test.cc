#include "seedvr/config/config.h"

#include <gtest/gtest.h>

#include "seedvr/config/model_config.h"
#include "seedvr/testing/fixtures.h"

namespace seedvr::config {
namespace {

// Asserts that parsing fails and that the message mentions each fragment.
void ExpectError(const absl::StatusOr<TrainConfig>& r, std::initializer_list<const char*> fragments) {
  ASSERT_FALSE(r.ok());
  for (const char* f : fragments) {
    EXPECT_NE(r.status().message().find(f), std::string::npos) << "missing '" << f << "' in: " << r.status();
  }
}

TEST(Config, ShippedConfigsLoad) {
  auto c3 = LoadTrainConfig("configs/train.yaml");
  ASSERT_TRUE(c3.ok()) << c3.status();
  EXPECT_EQ(c3->model.vid_dim, 2560);
  EXPECT_EQ(c3->model.window.size(), 32u);
  EXPECT_EQ(c3->model.window_method[1], "720pswin_by_size_bysize");
  EXPECT_EQ(c3->loss.r1_interval, 16);
  EXPECT_EQ(c3->optimizer.d_lr, 1e-4);
  auto c7 = LoadTrainConfig("configs/train_7b.yaml");
  ASSERT_TRUE(c7.ok()) << c7.status();
  EXPECT_EQ(c7->model.code_path, "dit");
  EXPECT_EQ(c7->model.num_layers, 36);
  EXPECT_EQ(c7->parallel.sp_size, 2);
  // SeedVR2's final recipe (arXiv 2506.05301 §4): RpGAN, aR1 = aR2 = 1000,
  // L1 0.1, FM 0.1, AdamW lr 1e-6 with weight decay 0.01, the DiT discriminator.
  auto recipe = LoadTrainConfig("configs/seedvr2_recipe.yaml");
  ASSERT_TRUE(recipe.ok()) << recipe.status();
  EXPECT_EQ(recipe->loss.loss_type, "rpgan");
  EXPECT_EQ(recipe->loss.lambda_ar1, 1000.0);
  EXPECT_EQ(recipe->loss.lambda_ar2, 1000.0);
  EXPECT_EQ(recipe->loss.lambda_l1, 0.1);
  EXPECT_EQ(recipe->loss.lambda_fm, 0.1);
  EXPECT_EQ(recipe->loss.lambda_r1, 0.0);
  EXPECT_EQ(recipe->optimizer.g_lr, 1e-6);
  EXPECT_EQ(recipe->optimizer.weight_decay, 0.01);
  EXPECT_EQ(recipe->discriminator.type, "dit");
  // The guide's config keeps GAN practice for D (APT: beta1 0, beta2 0.9).
  EXPECT_EQ(c3->optimizer.d_betas, (std::array<double, 2>{0.0, 0.9}));
  // Training windows are sized for the 720p frame restoration runs at.
  EXPECT_EQ(c3->model.window_reference_grid, (std::array<int64_t, 2>{45, 80}));
  auto own = LoadTrainConfig("configs/train.yaml", {"training.window_frame=[0, 0]"});
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->model.window_reference_grid, (std::array<int64_t, 2>{0, 0}));
  // Configs stored in checkpoints of earlier versions still load.
  EXPECT_TRUE(
      LoadTrainConfig("configs/train.yaml", {"vae.tile_overlap=16", "data.degradation.blur_aniso_prob=0.5"}).ok());
  // Keys only the DiT discriminator reads are refused with another type.
  ExpectError(LoadTrainConfig("configs/train.yaml", {"discriminator.checkpoint=d.pth"}),
              {"discriminator.checkpoint", "dit discriminator", "patch"});
  ExpectError(LoadTrainConfig("configs/train.yaml", {"data.degradation.betag_range=[0, 4]"}),
              {"data.degradation.betag_range", "0 < lo"});
  ExpectError(LoadTrainConfig("configs/train.yaml", {"training.window_frame=[720, 0]"}),
              {"training.window_frame", "multiples of 16", "[720, 0]"});
  auto tiny = LoadTrainConfig("configs/tiny.yaml");
  ASSERT_TRUE(tiny.ok()) << tiny.status();
  EXPECT_EQ(tiny->data.crop_size.h, 64);
}

TEST(Config, FixtureModelConfigsLoad) {
  for (const char* c : {"dit3b_a", "dit3b_d", "dit7b_a"}) {
    auto m = LoadDiTConfigFile(testing::FixturePath(std::string(c) + "/config.yaml"));
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(m->num_layers, 4);
    EXPECT_EQ(m->window.size(), 4u);
  }
  auto v = LoadVAEConfigFile(testing::FixturePath("vae_a/config.yaml"));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->block_out_channels, (std::vector<int64_t>{4, 8, 16, 16}));
  EXPECT_EQ(v->norm_num_groups, 2);
}

TEST(Config, UnknownKeyIsRejectedWithItsPath) {
  ExpectError(ParseTrainConfig("loss:\n  lambda_rl: 1.0\n"), {"loss.lambda_rl", "unknown key"});
  ExpectError(ParseTrainConfig("trainng:\n  max_steps: 3\n"), {"trainng", "unknown key"});
}

TEST(Config, WrongTypeNamesExpectedAndGiven) {
  ExpectError(ParseTrainConfig("training:\n  max_steps: lots\n"), {"training.max_steps", "an integer", "lots"});
  ExpectError(ParseTrainConfig("training:\n  batch_size: 1.5\n"), {"training.batch_size", "an integer", "1.5"});
  ExpectError(ParseTrainConfig("data:\n  crop_size: 256\n"), {"data.crop_size", "[H, W]"});
  ExpectError(ParseTrainConfig("model:\n  qk_bias: maybe\n"), {"model.qk_bias", "true or false"});
}

TEST(Config, OutOfRangeValuesAreRejected) {
  ExpectError(ParseTrainConfig("loss:\n  r1_interval: 0\n"), {"loss.r1_interval", ">= 1", "0"});
  ExpectError(ParseTrainConfig("optimizer:\n  g_lr: -1\n"), {"optimizer.g_lr"});
  ExpectError(ParseTrainConfig("data:\n  crop_size: [250, 256]\n"), {"data.crop_size", "multiples of 16"});
  ExpectError(ParseTrainConfig("parallel:\n  sp_size: 3\n"), {"parallel.sp_size", "divisor of model.heads (20)"});
  ExpectError(ParseTrainConfig("parallel:\n  timeout_s: 0\n"), {"parallel.timeout_s"});
  ExpectError(ParseTrainConfig("parallel:\n  bucket_mb: -1\n"), {"parallel.bucket_mb"});
  ExpectError(ParseTrainConfig("model:\n  heads: 10\n"), {"model.heads", "vid_dim"});
  ExpectError(ParseTrainConfig("model:\n  num_layers: 4\n  window: [[4, 3, 3]]\n"), {"model.window", "one entry per layer (4)"});
}

TEST(Config, ResizeToAreaIsAPixelAreaOrOff) {
  auto off = ParseTrainConfig("");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->data.resize_to_area, 0);
  auto on = ParseTrainConfig("data:\n  resize_to_area: 921600\n");
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_EQ(on->data.resize_to_area, 921600);
  ExpectError(ParseTrainConfig("data:\n  resize_to_area: -1\n"), {"data.resize_to_area", ">= 0", "-1"});
  ExpectError(ParseTrainConfig("data:\n  resize_to_area: 1280x720\n"), {"data.resize_to_area", "an integer"});
}

TEST(Config, AllErrorsAreReportedTogether) {
  auto r = ParseTrainConfig("loss:\n  r1_interval: 0\n  lambda_fm: x\ntraining:\n  seeed: 1\n");
  ExpectError(r, {"loss.r1_interval", "loss.lambda_fm", "training.seeed"});
}

TEST(Config, SetOverridesAnyKey) {
  auto r = ParseTrainConfig("training:\n  max_steps: 100\n",
                            {"training.max_steps=2", "loss.loss_type=hinge", "data.crop_size=[128, 64]"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->training.max_steps, 2);
  EXPECT_EQ(r->loss.loss_type, "hinge");
  EXPECT_EQ(r->data.crop_size.w, 64);
  ExpectError(ParseTrainConfig("", {"training.max_stepz=2"}), {"training.max_stepz", "unknown key"});
  ExpectError(ParseTrainConfig("", {"training"}), {"section.key=value"});
}

TEST(Config, CommandLineFlagsUseTheUsersNames) {
  auto r = ParseTrainCommandLine({"--config", "configs/train.yaml", "--data_root", "/videos/2024", "--batch_size", "2",
                                  "--num_frames=33", "--crop_size", "512", "512", "--sp_size", "2", "--save_dir", "out",
                                  "--resume", "out/checkpoint_10.pth", "--dit_checkpoint", "true", "--keep_last", "3", "--set",
                                  "training.max_steps=2"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->data.data_root, "/videos/2024");
  EXPECT_EQ(r->training.batch_size, 2);
  EXPECT_EQ(r->data.num_frames, 33);
  EXPECT_EQ(r->data.crop_size.h, 512);
  EXPECT_EQ(r->parallel.sp_size, 2);
  EXPECT_EQ(r->checkpoint.resume, "out/checkpoint_10.pth");
  EXPECT_EQ(r->training.dit_checkpoint, "true");  // a path, never a YAML bool
  EXPECT_EQ(r->training.max_steps, 2);
  EXPECT_EQ(r->checkpoint.keep_last, 3);
  EXPECT_FALSE(ParseTrainCommandLine({"--data_root", "x"}).ok());  // no --config
  auto bad = ParseTrainCommandLine({"--config", "configs/train.yaml", "--lr", "1"});
  ExpectError(bad, {"unknown flag --lr", "--crop_size H W"});
  ExpectError(ParseTrainCommandLine({"--config", "configs/train.yaml", "--crop_size", "256"}), {"expects 2 values"});
  ExpectError(ParseTrainCommandLine({"--config", "missing.yaml"}), {"missing.yaml"});
}

TEST(Config, DumpReparsesToTheSameConfig) {
  auto a = LoadTrainConfig("configs/train.yaml", {"loss.lambda_fm=0.1", "data.degradation.noise_sigma=[2, 20]"});
  ASSERT_TRUE(a.ok()) << a.status();
  std::string text = DumpTrainConfig(*a);
  auto b = ParseTrainConfig(text);
  ASSERT_TRUE(b.ok()) << b.status() << "\n" << text;
  EXPECT_EQ(DumpTrainConfig(*b), text);
  EXPECT_EQ(b->loss.lambda_fm, 0.1);
  EXPECT_EQ(b->data.degradation.noise_sigma.hi, 20.0);
}

}  // namespace
}  // namespace seedvr::config

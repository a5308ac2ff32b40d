// Training the VAE (train/vae_training.h) on two short synthetic clips with
// configs/tiny.yaml's VAE: the loss falls, the written file is the trained
// model, runs repeat exactly, an existing output is kept, bad settings are
// named.
#include "seedvr/train/vae_training.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/utils.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "seedvr/config/config.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/models/vae/vae_model.h"
#include "seedvr/models/vae/vae_weights.h"
#include "seedvr/testing/fixtures.h"
#include "tests/train/training_clips.h"

namespace seedvr::train {
namespace {

class VAETrainingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(testing::TempDir() + "/vae_training_data");
    ASSERT_TRUE(WriteTrainingClips(*root_, 20).ok());
  }

  // configs/tiny.yaml on 32x32 crops of 5 frames, `steps` steps, held out
  // on the training clips themselves, writing `output`.
  static config::TrainConfig Config(const std::string& output, int steps, std::vector<std::string> extra = {}) {
    std::vector<std::string> overrides = {"data.data_root=" + *root_,
                                          "data.crop_size=[32, 32]",
                                          "discriminator.num_layers=1",
                                          "data.num_workers=1",
                                          "training.eval_root=" + *root_,
                                          "training.vae_checkpoint=" + output,
                                          "vae_training.steps=" + std::to_string(steps),
                                          "vae_training.batch_size=1",
                                          "vae_training.warmup_steps=2",
                                          "vae_training.eval_frames=5"};
    overrides.insert(overrides.end(), extra.begin(), extra.end());
    auto c = config::LoadTrainConfig("configs/tiny.yaml", overrides);
    EXPECT_TRUE(c.ok()) << c.status();
    return *c;
  }

  static std::string* root_;
};
std::string* VAETrainingTest::root_ = nullptr;

double Mean(const std::vector<double>& v, size_t from, size_t n) {
  return std::accumulate(v.begin() + from, v.begin() + from + n, 0.0) / n;
}

TEST_F(VAETrainingTest, LossFallsAndTheWrittenFileIsTheTrainedModel) {
  const std::string out = testing::TempDir() + "/trained/vae.safetensors";
  const config::TrainConfig c = Config(out, 20);
  auto r = TrainVAE(c);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->losses.size(), 20u);
  EXPECT_LT(Mean(r->losses, 15, 5), 0.8 * Mean(r->losses, 0, 5));
  ASSERT_TRUE(r->evaluated);
  EXPECT_EQ(r->eval.clip_psnr_db.size(), 2u);
  EXPECT_GT(r->eval.psnr_db, 5);
  EXPECT_GT(r->eval.latent_std, 0);

  // A fresh model loads the file strictly and reconstructs bit for bit.
  at::manual_seed(1);
  vae::VideoVAE loaded(c.vae);
  ASSERT_TRUE(vae::LoadVAEWeights(*loaded, out).ok());
  torch::NoGradGuard no_grad;
  const at::Tensor x = at::rand({1, 3, 5, 32, 48}) * 2 - 1;
  auto a = r->vae->Encode(x);
  auto b = loaded->Encode(x);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(at::equal(a->mean, b->mean));
  auto ya = r->vae->Decode(a->mean);
  auto yb = loaded->Decode(b->mean);
  ASSERT_TRUE(ya.ok() && yb.ok());
  EXPECT_TRUE(at::equal(*ya, *yb));
}

TEST_F(VAETrainingTest, SameConfigGivesTheSameWeights) {
  const std::string dir = testing::TempDir() + "/repeat";
  auto a = TrainVAE(Config(dir + "/a.safetensors", 4));
  auto b = TrainVAE(Config(dir + "/b.safetensors", 4));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->losses, b->losses);
  const core::TensorList wa = VAEWeights(*a->vae), wb = VAEWeights(*b->vae);
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(at::equal(wa[i].tensor, wb[i].tensor)) << wa[i].name;
}

TEST_F(VAETrainingTest, AnExistingOutputIsKeptWithoutOverwrite) {
  const std::string dir = testing::TempDir() + "/existing";
  std::filesystem::create_directories(dir);
  const std::string out = dir + "/vae.safetensors";
  std::ofstream(out) << "earlier weights";
  auto refused = TrainVAE(Config(out, 1));
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::IsAlreadyExists(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find(out), std::string::npos) << refused.status();
  EXPECT_NE(refused.status().message().find("--overwrite"), std::string::npos) << refused.status();
  std::ifstream in(out);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "earlier weights");

  VAETrainingOptions overwrite;
  overwrite.overwrite = true;
  ASSERT_TRUE(TrainVAE(Config(out, 1, {"training.eval_root="}), overwrite).ok());
  vae::VideoVAE loaded(Config(out, 1).vae);
  EXPECT_TRUE(vae::LoadVAEWeights(*loaded, out).ok());
}

TEST(VAETrainingConfig, BadValuesAreRejectedNamingTheKey) {
  auto expect_error = [](const std::string& yaml, std::initializer_list<const char*> fragments) {
    auto r = config::ParseTrainConfig(yaml);
    ASSERT_FALSE(r.ok()) << yaml;
    for (const char* f : fragments) {
      EXPECT_NE(r.status().message().find(f), std::string::npos) << "missing '" << f << "' in: " << r.status();
    }
  };
  expect_error("vae_training:\n  kl_weight: -1\n", {"vae_training.kl_weight", "-1"});
  expect_error("vae_training:\n  steps: 0\n", {"vae_training.steps", "0"});
  expect_error("vae_training:\n  lr_schedule: linear\n", {"vae_training.lr_schedule", "cosine, constant", "linear"});
  expect_error("vae_training:\n  stepz: 10\n", {"vae_training.stepz", "unknown key"});
  auto ok = config::ParseTrainConfig("vae_training:\n  steps: 10\n  lr: 1.0e-3\n");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->vae_training.steps, 10);
  EXPECT_EQ(ok->vae_training.lr, 1e-3);
}

TEST_F(VAETrainingTest, OutputMustBeASafetensorsPath) {
  auto empty = TrainVAE(Config("", 1));
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("training.vae_checkpoint"), std::string::npos) << empty.status();
  auto pth = TrainVAE(Config(testing::TempDir() + "/vae.pth", 1));
  ASSERT_FALSE(pth.ok());
  EXPECT_NE(pth.status().message().find(".safetensors"), std::string::npos) << pth.status();
}

}  // namespace
}  // namespace seedvr::train

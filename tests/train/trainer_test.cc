// End-to-end trainer tests on tiny clips made here: every compiled trainer
// trains with the policies it names, checkpoints load into the DiT, and
// resuming is bit-exact.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "seedvr/config/config.h"
#include "seedvr/data/synthetic.h"
#include "seedvr/data/video_writer.h"
#include "seedvr/models/dit/dit_weights.h"
#include "seedvr/models/dit/nadit.h"
#include "seedvr/testing/fixtures.h"
#include "seedvr/text/text_embeddings.h"
#include "seedvr/train/checkpoint.h"
#include "seedvr/train/discriminators.h"
#include "seedvr/train/dispatch.h"

namespace seedvr::train {
namespace {

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(testing::TempDir() + "/trainer_data");
    std::filesystem::create_directories(*root_ + "/hq");
    for (int i = 0; i < 2; ++i) {
      data::SyntheticVideoOptions o;
      o.width = 96;
      o.height = 64;
      o.frames = 6;
      o.seed = 10 + i;
      ASSERT_TRUE(data::WriteVideo(*root_ + (i == 0 ? "/hq/a.mp4" : "/hq/b.mkv"), data::MakeSyntheticClip(o)).ok());
    }
    ASSERT_TRUE(
        text::WriteTextEmbeddings(*root_ + "/text.safetensors", text::MakeDeterministicEmbeddings(64), "test").ok());
  }

  // configs/tiny.yaml shrunk to 32x32 crops of 5 frames.
  static config::TrainConfig Config(const std::string& save_dir, std::vector<std::string> overrides = {}) {
    std::vector<std::string> all = {
        "data.data_root=" + *root_,     "data.crop_size=[32, 32]",
        "data.num_workers=1",           "training.text_embeddings=" + *root_ + "/text.safetensors",
        "training.eval_clips=0",        "checkpoint.save_dir=" + save_dir,
        "logging.progress_bar=false",   "loss.r1_interval=2",
        "discriminator.base_channels=8"};
    all.insert(all.end(), overrides.begin(), overrides.end());
    auto c = config::LoadTrainConfig("configs/tiny.yaml", all);
    EXPECT_TRUE(c.ok()) << c.status();
    return *c;
  }

  static std::string* root_;
};
std::string* TrainerTest::root_ = nullptr;

// Every compiled trainer trains two steps with the discriminator and loss
// its registry row names: the checkpoint records the policies the
// specialization was compiled with (their kName), and its discriminator
// state has that discriminator's parameter count.
class EveryTrainer : public TrainerTest, public ::testing::WithParamInterface<CompiledTrainer> {};

TEST_P(EveryTrainer, RunsTwoStepsWithThePoliciesItsNameSays) {
  const CompiledTrainer& t = GetParam();
  std::string dir = testing::TempDir() + "/trainer_" + t.preset;
  auto d = FindDiscriminator(t.discriminator);
  ASSERT_TRUE(d.ok()) << d.status();
  config::TrainConfig c =
      Config(dir, {"training.max_steps=2", std::string("discriminator.type=") + t.discriminator,
                   std::string("loss.loss_type=") + t.loss, "loss.lambda_ar1=1", "loss.lambda_ar2=1",
                   (*d)->traits.double_backward ? "loss.lambda_r1=10" : "loss.lambda_r1=0"});
  auto selected = SelectTrainer(c, 1);
  ASSERT_TRUE(selected.ok()) << selected.status();
  EXPECT_EQ(std::string(selected->first->preset), t.preset);
  ASSERT_TRUE(selected->first->run(selected->second).ok()) << t.preset;
  auto state = LoadCheckpoint(FinalCheckpointPath(dir));
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(std::get<int64_t>(state->find("step")->v), 2);
  const core::PyValue* trainer = state->find("trainer");
  ASSERT_NE(trainer, nullptr);
  EXPECT_EQ(std::get<std::string>(trainer->find("discriminator")->v), t.discriminator);
  EXPECT_EQ(std::get<std::string>(trainer->find("loss")->v), t.loss);
  EXPECT_EQ(std::get<std::string>(trainer->find("parallelism")->v), t.parallelism);
  auto disc = core::ToTensorList(*state->find("discriminator"), "discriminator");
  ASSERT_TRUE(disc.ok());
  int64_t numel = 0;
  for (const auto& p : *disc) numel += p.tensor.numel();
  EXPECT_EQ(numel, (*d)->count_parameters(c)) << t.preset;
  // The EMA weights load into the DiT under the official key names.
  auto ema = core::ToTensorList(*state->find("ema"), "ema");
  ASSERT_TRUE(ema.ok());
  dit::NaDiT model(c.model);
  EXPECT_TRUE(dit::LoadDiTWeights(*model, *ema).ok()) << t.preset;
}

INSTANTIATE_TEST_SUITE_P(Compiled, EveryTrainer, ::testing::ValuesIn(CompiledTrainers()),
                         [](const ::testing::TestParamInfo<CompiledTrainer>& info) { return info.param.preset; });

// Pixel-space discriminators judge clips decoded by the frozen VAE, and the
// generator's gradient flows back through the decoder.
TEST_F(TrainerTest, PixelDiscriminatorTrainsThroughTheDecoder) {
  std::string dir = testing::TempDir() + "/pixel";
  config::TrainConfig c =
      Config(dir, {"training.max_steps=1", "discriminator.input=pixel", "discriminator.type=video"});
  ASSERT_TRUE(Train(c).ok());
  auto state = LoadCheckpoint(FinalCheckpointPath(dir));
  ASSERT_TRUE(state.ok()) << state.status();
  auto d = core::ToTensorList(*state->find("discriminator"), "discriminator");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->front().tensor.size(1), 3);  // from_rgb takes RGB pixels
  auto g = core::ToTensorList(*state->find("generator"), "generator");
  at::manual_seed(c.training.seed);  // the same seeded init the trainer started from
  dit::NaDiT fresh(c.model);
  bool moved = false;
  for (const auto& t : *g) moved = moved || !at::equal(t.tensor, fresh->named_parameters()[t.name]);
  EXPECT_TRUE(moved);
}

TEST_F(TrainerTest, ResumeIsBitExact) {
  const std::vector<std::string> common = {"loss.lambda_ar1=1", "loss.lambda_l1=1", "checkpoint.save_every=2"};
  std::string straight = testing::TempDir() + "/straight", split = testing::TempDir() + "/split";
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), common.begin(), common.end());
    return extra;
  };
  ASSERT_TRUE(Train(Config(straight, with({"training.max_steps=4"}))).ok());
  ASSERT_TRUE(Train(Config(split, with({"training.max_steps=2"}))).ok());
  ASSERT_TRUE(
      Train(Config(split, with({"training.max_steps=4", "checkpoint.resume=" + CheckpointPath(split, 2)}))).ok());
  auto a = LoadCheckpoint(FinalCheckpointPath(straight));
  auto b = LoadCheckpoint(FinalCheckpointPath(split));
  ASSERT_TRUE(a.ok() && b.ok());
  for (const char* key : {"generator", "ema", "discriminator"}) {
    auto ta = core::ToTensorList(*a->find(key), key), tb = core::ToTensorList(*b->find(key), key);
    ASSERT_TRUE(ta.ok() && tb.ok());
    ASSERT_EQ(ta->size(), tb->size());
    for (size_t i = 0; i < ta->size(); ++i) {
      EXPECT_TRUE(at::equal((*ta)[i].tensor, (*tb)[i].tensor)) << key << " " << (*ta)[i].name;
    }
  }
  for (const char* key : {"g_optimizer", "d_optimizer"}) {
    auto ta = core::ToTensorList(*a->find(key)->find("exp_avg_sq"), key);
    auto tb = core::ToTensorList(*b->find(key)->find("exp_avg_sq"), key);
    ASSERT_TRUE(ta.ok() && tb.ok());
    for (size_t i = 0; i < ta->size(); ++i) EXPECT_TRUE(at::equal((*ta)[i].tensor, (*tb)[i].tensor)) << key;
  }
}

TEST_F(TrainerTest, BadInputsFailBeforeTraining) {
  std::string dir = testing::TempDir() + "/bad";
  auto missing = Train(Config(dir, {"training.text_embeddings=/nonexistent/text.safetensors"}));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("/nonexistent/text.safetensors"), std::string::npos) << missing;
  auto wrong_ckpt = Train(Config(dir, {"training.dit_checkpoint=" + testing::FixturePath("dit7b_a/weights.pth")}));
  ASSERT_FALSE(wrong_ckpt.ok());
  EXPECT_NE(wrong_ckpt.message().find("missing"), std::string::npos) << wrong_ckpt;
  auto resume = Train(Config(dir, {"checkpoint.resume=" + testing::FixturePath("dit3b_a/weights.pth")}));
  ASSERT_FALSE(resume.ok());
  EXPECT_NE(resume.message().find("not a seedvr training checkpoint"), std::string::npos) << resume;
  setenv("WORLD_SIZE", "2", 1);
  auto parallel = Train(Config(dir));
  unsetenv("WORLD_SIZE");
  ASSERT_FALSE(parallel.ok());
  EXPECT_NE(parallel.message().find("compiled:"), std::string::npos) << parallel;
  EXPECT_FALSE(std::filesystem::exists(FinalCheckpointPath(dir)));
}

}  // namespace
}  // namespace seedvr::train

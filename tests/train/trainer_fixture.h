// The tiny training setup the trainer tests share: two short synthetic
// clips, deterministic text embeddings, configs/tiny.yaml shrunk to 32x32
// crops of 5 frames, and the checks that compare whole training states.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "seedvr/config/config.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/testing/fixtures.h"
#include "seedvr/text/text_embeddings.h"
#include "seedvr/train/checkpoint.h"
#include "seedvr/train/dispatch.h"
#include "tests/train/training_clips.h"

namespace seedvr::train {

// The tensors of a checkpoint entry ("generator", "ema", ...).
inline core::TensorList Entry(const core::PyValue& state, const char* key) {
  auto list = core::ToTensorList(*state.find(key), key);
  EXPECT_TRUE(list.ok()) << list.status();
  return list.ok() ? *list : core::TensorList{};
}

// Both checkpoints hold bitwise-equal weights, EMA and AdamW moments.
inline void ExpectSameTrainingState(const core::PyValue& a, const core::PyValue& b) {
  for (const char* key : {"generator", "ema", "discriminator"}) {
    core::TensorList ta = Entry(a, key), tb = Entry(b, key);
    ASSERT_EQ(ta.size(), tb.size()) << key;
    for (size_t i = 0; i < ta.size(); ++i) {
      EXPECT_TRUE(at::equal(ta[i].tensor, tb[i].tensor)) << key << " " << ta[i].name;
    }
  }
  for (const char* key : {"g_optimizer", "d_optimizer"}) {
    for (const char* moment : {"exp_avg", "exp_avg_sq"}) {
      core::TensorList ta = Entry(*a.find(key), moment), tb = Entry(*b.find(key), moment);
      ASSERT_EQ(ta.size(), tb.size()) << key;
      for (size_t i = 0; i < ta.size(); ++i) EXPECT_TRUE(at::equal(ta[i].tensor, tb[i].tensor)) << key << " " << moment;
    }
  }
}

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(testing::TempDir() + "/trainer_data");
    ASSERT_TRUE(WriteTrainingClips(*root_, 10).ok());
    ASSERT_TRUE(
        text::WriteTextEmbeddings(*root_ + "/text.safetensors", text::MakeDeterministicEmbeddings(64), "test").ok());
  }

  // The overrides that shrink configs/tiny.yaml to 32x32 crops of 5 frames
  // of the test clips, then `extra`.
  static std::vector<std::string> Overrides(const std::string& save_dir, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> all = {"data.data_root=" + *root_,
                                    "data.crop_size=[32, 32]",
                                    "data.num_workers=1",
                                    "training.text_embeddings=" + *root_ + "/text.safetensors",
                                    "training.eval_clips=0",
                                    "checkpoint.save_dir=" + save_dir,
                                    "logging.progress_bar=false",
                                    "loss.r1_interval=2",
                                    "discriminator.base_channels=8",
                                    "discriminator.num_layers=1"};
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  }

  static config::TrainConfig Config(const std::string& save_dir, const std::vector<std::string>& overrides = {}) {
    auto c = config::LoadTrainConfig("configs/tiny.yaml", Overrides(save_dir, overrides));
    EXPECT_TRUE(c.ok()) << c.status();
    return *c;
  }

  // 4 steps straight equal 2 steps, resume, 2 steps, bit for bit; `extra`
  // adds overrides (the device, say) to both runs, `name` keeps folders apart.
  static void ExpectResumeIsBitExact(const std::string& name, const std::vector<std::string>& extra) {
    std::vector<std::string> common = {"loss.lambda_ar1=1", "loss.lambda_l1=1", "checkpoint.save_every=2",
                                       "condition.noise_scale=0.25"};
    common.insert(common.end(), extra.begin(), extra.end());
    const std::string straight = testing::TempDir() + "/" + name + "_straight";
    const std::string split = testing::TempDir() + "/" + name + "_split";
    auto with = [&](std::vector<std::string> more) {
      more.insert(more.end(), common.begin(), common.end());
      return more;
    };
    ASSERT_TRUE(Train(Config(straight, with({"training.max_steps=4"}))).ok());
    ASSERT_TRUE(Train(Config(split, with({"training.max_steps=2"}))).ok());
    ASSERT_TRUE(
        Train(Config(split, with({"training.max_steps=4", "checkpoint.resume=" + CheckpointPath(split, 2)}))).ok());
    auto a = LoadCheckpoint(FinalCheckpointPath(straight));
    auto b = LoadCheckpoint(FinalCheckpointPath(split));
    ASSERT_TRUE(a.ok() && b.ok());
    ExpectSameTrainingState(*a, *b);
  }

  static std::string* root_;
};
inline std::string* TrainerTest::root_ = nullptr;

}  // namespace seedvr::train

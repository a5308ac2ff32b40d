// Training checkpoints: keep_last rotation (with the EMA files beside them),
// the bf16 EMA export, format check, and atomic writes that survive a
// process killed mid-write.
#include "seedvr/train/checkpoint.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "seedvr/testing/disk_full.h"
#include "seedvr/testing/fixtures.h"

namespace seedvr::train {
namespace {

core::PyValue State(int64_t step, const at::Tensor& t) {
  auto d = std::make_shared<core::PyDict>();
  d->emplace_back(core::PyValue{std::string("format")}, core::PyValue{std::string(kCheckpointFormat)});
  d->emplace_back(core::PyValue{std::string("step")}, core::PyValue{step});
  d->emplace_back(core::PyValue{std::string("ema")}, core::FromTensorList({{"blocks.0.w", t}}));
  return core::PyValue{d};
}

TEST(Checkpoint, KeepLastBoundsTheFolder) {
  std::string dir = testing::TempDir() + "/keep";
  for (int64_t step : {10, 20, 30, 40}) ASSERT_TRUE(SaveCheckpoint(dir, step, false, State(step, at::ones({2})), 2).ok());
  ASSERT_TRUE(SaveCheckpoint(dir, 40, true, State(40, at::ones({2})), 2).ok());
  auto left = ListCheckpoints(dir);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].first, 30);
  EXPECT_TRUE(std::filesystem::exists(FinalCheckpointPath(dir)));
  for (int64_t step : {10, 20}) EXPECT_FALSE(std::filesystem::exists(EmaPath(dir, step))) << step;
  for (int64_t step : {30, 40}) EXPECT_TRUE(std::filesystem::exists(EmaPath(dir, step))) << step;
  // The EMA alone: a plain state dict, bf16, under the same names.
  auto ema = core::ReadStateDict(FinalEmaPath(dir));
  ASSERT_TRUE(ema.ok()) << ema.status();
  ASSERT_EQ(ema->size(), 1u);
  EXPECT_EQ(ema->front().name, "blocks.0.w");
  EXPECT_EQ(ema->front().tensor.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::equal(ema->front().tensor, at::ones({2}, at::kBFloat16)));
  EXPECT_FALSE(LoadCheckpoint(testing::FixturePath("dit3b_a/weights.pth")).ok());  // not a training checkpoint
}

// A full disk during a save: a clear error, the earlier checkpoint intact,
// nothing (not even a temporary) under the new names.
TEST(Checkpoint, AFullDiskFailsTheSaveAndKeepsEarlierCheckpoints) {
  std::string dir = testing::TempDir() + "/full";
  ASSERT_TRUE(SaveCheckpoint(dir, 1, false, State(1, at::full({16}, 1.0f)), 0).ok());
  absl::Status full;
  {
    testing::FileSizeLimit disk(4096);  // room for the small state, not for 4 MB
    full = SaveCheckpoint(dir, 2, false, State(2, at::zeros({1 << 20})), 0);
  }
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.message().find(CheckpointPath(dir, 2)), std::string::npos) << full;
  EXPECT_NE(full.message().find("write failed"), std::string::npos) << full;
  auto left = ListCheckpoints(dir);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].first, 1);
  EXPECT_FALSE(std::filesystem::exists(EmaPath(dir, 2)));
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
  }
  auto earlier = LoadCheckpoint(CheckpointPath(dir, 1));
  ASSERT_TRUE(earlier.ok()) << earlier.status();
  EXPECT_EQ(std::get<int64_t>(earlier->find("step")->v), 1);
}

// A process killed while writing a checkpoint leaves the previous one intact
// under the final name.
TEST(Checkpoint, KillDuringWriteKeepsThePreviousCheckpoint) {
  std::string dir = testing::TempDir() + "/kill";
  ASSERT_TRUE(SaveCheckpoint(dir, 5, true, State(5, at::full({4}, 5.0f)), 0).ok());
  for (int delay_ms : {0, 20, 80}) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // ~400 MB: long enough to be killed midway.
      SaveCheckpoint(dir, 6, true, State(6, at::zeros({100 << 20})), 0).ok();
      _exit(0);
    }
    usleep(delay_ms * 1000);
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    auto loaded = LoadCheckpoint(FinalCheckpointPath(dir));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    const int64_t step = std::get<int64_t>(loaded->find("step")->v);
    if (WIFSIGNALED(status)) EXPECT_EQ(step, 5) << "killed after " << delay_ms << " ms";
    EXPECT_TRUE(step == 5 || step == 6);
  }
}

}  // namespace
}  // namespace seedvr::train

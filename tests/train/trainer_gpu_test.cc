// The trainer on a GPU (tag "gpu"; every test skips without one): models,
// EMA and optimizer state are placed on the device, a bf16 step trains with
// fp32 master weights, and resuming on the GPU is bit-exact.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "seedvr/core/device.h"
#include "seedvr/train/checkpoint.h"
#include "seedvr/train/dispatch.h"
#include "tests/train/trainer_fixture.h"

namespace seedvr::train {
namespace {

class TrainerGpuTest : public TrainerTest {
 protected:
  void SetUp() override {
    if (core::CudaDeviceCount() == 0) GTEST_SKIP() << "no CUDA device";
  }
};

TEST_F(TrainerGpuTest, Bf16StepOnTheGpuKeepsFp32MasterWeights) {
  std::string dir = testing::TempDir() + "/gpu_bf16";
  const c10::Device gpu(c10::kCUDA, 0);
  core::ResetPeakAllocatedBytes(gpu);
  ASSERT_TRUE(Train(Config(dir, {"training.max_steps=2", "training.device=cuda"})).ok());
  const int64_t peak = core::PeakAllocatedBytes(gpu);
  std::printf("tiny bf16 run on %s: peak %.1f MiB\n", core::DeviceDescription(gpu).c_str(), peak / 1048576.0);
  EXPECT_GT(peak, 0);  // the work ran on the GPU
  auto state = LoadCheckpoint(FinalCheckpointPath(dir));
  ASSERT_TRUE(state.ok()) << state.status();
  for (const char* key : {"generator", "ema", "discriminator"}) {
    for (const auto& t : Entry(*state, key)) {
      EXPECT_EQ(t.tensor.scalar_type(), at::kFloat) << key << " " << t.name;
      EXPECT_TRUE(at::isfinite(t.tensor).all().item<bool>()) << key << " " << t.name;
    }
  }
}

TEST_F(TrainerGpuTest, ResumeOnTheGpuIsBitExact) { ExpectResumeIsBitExact("gpu", {"training.device=cuda"}); }

TEST_F(TrainerGpuTest, OffloadAndHostEmaTrainOnTheGpu) {
  std::string dir = testing::TempDir() + "/gpu_offload";
  ASSERT_TRUE(Train(Config(dir, {"training.max_steps=2", "training.device=cuda", "optimizer.offload=cpu",
                                 "training.ema_device=cpu"}))
                  .ok());
  auto state = LoadCheckpoint(FinalCheckpointPath(dir));
  ASSERT_TRUE(state.ok()) << state.status();
  for (const auto& t : Entry(*state, "ema")) EXPECT_TRUE(at::isfinite(t.tensor).all().item<bool>()) << t.name;
}

}  // namespace
}  // namespace seedvr::train

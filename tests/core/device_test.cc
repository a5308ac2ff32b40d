// Device and precision choice: spec parsing and its errors, the bf16 rule,
// and the CPU bf16 guard, which must give correct conv3d weight gradients
// where oneDNN's bf16 kernel does not.
#include "seedvr/core/device.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

namespace seedvr::core {
namespace {

TEST(DeviceTest, SpecsResolveOrNameTheKeyAndValue) {
  auto cpu = ResolveDevice("cpu", 0, "training.device");
  ASSERT_TRUE(cpu.ok());
  EXPECT_TRUE(cpu->is_cpu());
  auto bad = ResolveDevice("gpu0", 0, "--device");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "--device: expected auto, cpu, cuda or cuda:N, got 'gpu0'");
  EXPECT_FALSE(ResolveDevice("cuda:-1", 0, "k").ok());
  if (CudaDeviceCount() == 0) {
    auto any = ResolveDevice("auto", 3, "training.device");
    ASSERT_TRUE(any.ok());
    EXPECT_TRUE(any->is_cpu());
    auto gpu = ResolveDevice("cuda:1", 0, "training.device");
    ASSERT_FALSE(gpu.ok());
    EXPECT_NE(gpu.status().message().find("training.device: 'cuda:1' asks for a GPU"), std::string::npos)
        << gpu.status();
  } else {
    auto any = ResolveDevice("auto", 0, "training.device");
    ASSERT_TRUE(any.ok());
    EXPECT_TRUE(any->is_cuda());
  }
}

TEST(DeviceTest, Bf16IsTheGpuDefault) {
  const c10::Device cpu(c10::kCPU), gpu(c10::kCUDA, 0);
  EXPECT_TRUE(*ResolveBf16("auto", gpu, false, "k"));
  EXPECT_FALSE(*ResolveBf16("auto", cpu, false, "k"));
  EXPECT_TRUE(*ResolveBf16("auto", cpu, true, "k"));
  EXPECT_FALSE(*ResolveBf16("fp32", gpu, true, "k"));
  EXPECT_TRUE(*ResolveBf16("bf16", cpu, false, "k"));
  auto bad = ResolveBf16("fp16", cpu, false, "training.precision");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "training.precision: expected auto, bf16 or fp32, got 'fp16'");
}

// The shapes where oneDNN's bf16 conv3d weight gradient returned values up
// to 1e38 in about half of the runs: under the guard, every run is within
// bf16 rounding of the fp32 gradient, and the setting comes back after.
TEST(DeviceTest, CpuBf16GuardGivesCorrectConv3dWeightGradients) {
  const bool before = at::globalContext().userEnabledMkldnn();
  at::Tensor x = at::randn({1, 16, 2, 1, 1}, at::TensorOptions().dtype(at::kFloat).requires_grad(false));
  at::Tensor w32 = at::randn({32, 16, 3, 3, 3}).requires_grad_(true);
  at::Tensor ref = torch::autograd::grad({at::conv3d(x, w32, {}, 1, 1).pow(2).sum()}, {w32})[0];
  {
    CpuBf16Guard guard(c10::Device(c10::kCPU), true);
    for (int run = 0; run < 8; ++run) {
      at::Tensor w = w32.detach().to(at::kBFloat16).requires_grad_(true);
      at::Tensor y = at::conv3d(x.to(at::kBFloat16), w, {}, 1, 1);
      at::Tensor g = torch::autograd::grad({y.to(at::kFloat).pow(2).sum()}, {w})[0].to(at::kFloat);
      EXPECT_LE((g - ref).abs().max().item<double>(), 0.05 * ref.abs().max().item<double>()) << "run " << run;
    }
  }
  EXPECT_EQ(at::globalContext().userEnabledMkldnn(), before);
}

}  // namespace
}  // namespace seedvr::core

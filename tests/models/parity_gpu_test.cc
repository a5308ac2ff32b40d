// The DiT and the VAE on a GPU against the official fp32 fixtures (tag
// "gpu"; skips without one): fp32 within 1e-4, and bf16 compute (DiT
// autocast, VAE bf16 weights) printed against the same reference.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <string>

#include "seedvr/config/model_config.h"
#include "seedvr/core/device.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/models/dit/dit_weights.h"
#include "seedvr/models/dit/nadit.h"
#include "seedvr/models/vae/vae_model.h"
#include "seedvr/models/vae/vae_weights.h"
#include "seedvr/testing/fixtures.h"

namespace seedvr {
namespace {

const c10::Device kGpu(c10::kCUDA, 0);

class ParityGpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (core::CudaDeviceCount() == 0) GTEST_SKIP() << "no CUDA device";
  }
};

std::map<std::string, at::Tensor> ReadIO(const std::string& name) {
  auto io = core::ReadSafetensors(testing::FixturePath(name + "/io.safetensors"));
  EXPECT_TRUE(io.ok()) << io.status();
  std::map<std::string, at::Tensor> m;
  if (io.ok())
    for (auto& nt : *io) m[nt.name] = nt.tensor;
  return m;
}

double MaxDiff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(at::kCPU, at::kFloat) - b.to(at::kCPU, at::kFloat)).abs().max().item<double>();
}

double MaxAbs(const at::Tensor& a) { return a.abs().max().item<double>(); }

TEST_F(ParityGpuTest, DiTMatchesTheFixturesInFp32AndReportsBf16) {
  at::NoGradGuard no_grad;
  for (const std::string name : {"dit3b_a", "dit3b_d", "dit7b_a"}) {
    SCOPED_TRACE(name);
    auto config = config::LoadDiTConfigFile(testing::FixturePath(name + "/config.yaml"));
    ASSERT_TRUE(config.ok()) << config.status();
    auto io = ReadIO(name);
    for (const char* dtype : {"float32", "bfloat16"}) {
      dit::DiTConfig c = *config;
      c.compute_dtype = dtype;
      dit::NaDiT model(c);
      ASSERT_TRUE(dit::LoadDiTWeightsFile(*model, testing::FixturePath(name + "/weights.safetensors")).ok());
      model->eval();
      model->to(kGpu);
      at::Tensor out = model->forward(io.at("vid").to(kGpu), io.at("vid_shape"), io.at("txt").to(kGpu),
                                      io.at("txt_shape"), io.at("timestep").to(kGpu));
      const double diff = MaxDiff(out, io.at("out"));
      std::printf("%s on %s, %s: max|diff| %.3e (max|out| %.3f)\n", name.c_str(), core::DeviceDescription(kGpu).c_str(),
                  dtype, diff, MaxAbs(io.at("out")));
      if (std::string(dtype) == "float32") {
        EXPECT_LE(diff, 1e-4);
      }
    }
  }
}

TEST_F(ParityGpuTest, VaeMatchesTheFixturesInFp32AndReportsBf16) {
  at::NoGradGuard no_grad;
  auto config = config::LoadVAEConfigFile(testing::FixturePath("vae_a/config.yaml"));
  ASSERT_TRUE(config.ok()) << config.status();
  auto io = ReadIO("vae_a");
  for (at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    vae::VideoVAE model(*config);
    ASSERT_TRUE(vae::LoadVAEWeights(*model, testing::FixturePath("vae_a/weights.safetensors")).ok());
    model->eval();
    model->to(kGpu, dtype);
    auto post = model->Encode(io.at("video").to(kGpu, dtype));
    ASSERT_TRUE(post.ok()) << post.status();
    auto decoded = model->Decode(io.at("latent_in").to(kGpu, dtype));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    const double mean = MaxDiff(post->mean, io.at("posterior_mean"));
    const double dec = MaxDiff(*decoded, io.at("decoded"));
    std::printf("vae_a on %s, %s: posterior mean max|diff| %.3e, decoded max|diff| %.3e\n",
                core::DeviceDescription(kGpu).c_str(), c10::toString(dtype), mean, dec);
    if (dtype == at::kFloat) {
      EXPECT_LE(mean, 1e-4);
      EXPECT_LE(dec, 1e-4);
    }
  }
}

}  // namespace
}  // namespace seedvr

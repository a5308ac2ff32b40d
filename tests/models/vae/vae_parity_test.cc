// Parity of the C++ VAE with the official code on the `vae_a` fixture
// (fp32, full sequence and causally sliced, .pth and .safetensors weights,
// and with every 3x3 convolution as a Winograd F(2x2, 3x3) convolution),
// plus the error paths users hit first: strict loading, the frame rule, and
// single images.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <map>
#include <string>

#include "gtest/gtest.h"
#include "seedvr/config/model_config.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/models/vae/causal_conv.h"
#include "seedvr/models/vae/vae_model.h"
#include "seedvr/models/vae/vae_weights.h"
#include "seedvr/testing/fixtures.h"

namespace seedvr::vae {
namespace {

using Switch = VAERunOptions::Switch;

std::map<std::string, at::Tensor> ReadIO() {
  auto io = core::ReadSafetensors(testing::FixturePath("vae_a/io.safetensors"));
  EXPECT_TRUE(io.ok()) << io.status();
  std::map<std::string, at::Tensor> m;
  if (io.ok())
    for (auto& nt : *io) m[nt.name] = nt.tensor;
  return m;
}

vae::VAEConfig FixtureConfig() {
  auto c = config::LoadVAEConfigFile(testing::FixturePath("vae_a/config.yaml"));
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : vae::VAEConfig{};
}

double MaxDiff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(at::kFloat) - b.to(at::kFloat)).abs().max().item<double>();
}

struct FixtureCase {
  std::string weights;  // file under vae_a/
  ConvKernel kernel;
};

class VaeFixtureTest : public ::testing::TestWithParam<FixtureCase> {
 protected:
  void SetUp() override { SetConvKernel(GetParam().kernel); }
  void TearDown() override { SetConvKernel(ConvKernel::kAuto); }
};

TEST_P(VaeFixtureTest, MatchesOfficialFullAndSliced) {
  at::manual_seed(0);
  VideoVAE vae(FixtureConfig());
  ASSERT_TRUE(LoadVAEWeights(*vae, testing::FixturePath("vae_a/" + GetParam().weights)).ok());
  auto io = ReadIO();

  VAERunOptions full;
  full.slicing = Switch::kOff;
  VAERunOptions sliced;
  sliced.slicing = Switch::kOn;

  auto post = vae->Encode(io["video"], full);
  ASSERT_TRUE(post.ok()) << post.status();
  EXPECT_LE(MaxDiff(post->mean, io["posterior_mean"]), 1e-4);
  EXPECT_LE(MaxDiff(post->logvar, io["posterior_logvar"]), 1e-4);

  auto post_s = vae->Encode(io["video"], sliced);
  ASSERT_TRUE(post_s.ok()) << post_s.status();
  EXPECT_TRUE(vae->last_plan().slice);
  EXPECT_LE(MaxDiff(post_s->mean, io["mean_sliced"]), 1e-4);
  EXPECT_LE(MaxDiff(post_s->logvar, io["logvar_sliced"]), 1e-4);
  // Slicing is exact: equal to the full sequence up to float rounding.
  EXPECT_LE(MaxDiff(post_s->mean, post->mean), 1e-5);
  EXPECT_LE(MaxDiff(post_s->logvar, post->logvar), 1e-5);

  auto dec = vae->Decode(io["latent_in"], full);
  ASSERT_TRUE(dec.ok()) << dec.status();
  EXPECT_LE(MaxDiff(*dec, io["decoded"]), 1e-4);
  auto dec_s = vae->Decode(io["latent_in"], sliced);
  ASSERT_TRUE(dec_s.ok()) << dec_s.status();
  EXPECT_LE(MaxDiff(*dec_s, io["decoded_sliced"]), 1e-4);
  EXPECT_LE(MaxDiff(*dec_s, *dec), 1e-5);

  // The automatic plan at the fixture's size (0.5 GB) is the full sequence.
  auto dec_auto = vae->Decode(io["latent_in"]);
  ASSERT_TRUE(dec_auto.ok());
  EXPECT_FALSE(vae->last_plan().slice);

  // Convolutions in spatial tiles and GroupNorms in single groups (bounds of
  // 2 kB) still reproduce the official outputs.
  VAERunOptions split = sliced;
  split.conv_max_mem_gb = split.norm_max_mem_gb = 2e-6;
  auto post_t = vae->Encode(io["video"], split);
  ASSERT_TRUE(post_t.ok()) << post_t.status();
  EXPECT_LE(MaxDiff(post_t->mean, io["mean_sliced"]), 1e-4);
  auto dec_t = vae->Decode(io["latent_in"], split);
  ASSERT_TRUE(dec_t.ok()) << dec_t.status();
  EXPECT_LE(MaxDiff(*dec_t, io["decoded_sliced"]), 1e-4);
}

// Both checkpoint formats with the default kernels (the fixture's 4-16
// channels stay on oneDNN), and every 3x3 convolution on Winograd.
INSTANTIATE_TEST_SUITE_P(Formats, VaeFixtureTest,
                         ::testing::Values(FixtureCase{"weights.pth", ConvKernel::kAuto},
                                           FixtureCase{"weights.safetensors", ConvKernel::kAuto},
                                           FixtureCase{"weights.safetensors", ConvKernel::kWinograd}),
                         [](const ::testing::TestParamInfo<FixtureCase>& info) {
                           const std::string format = info.param.weights.substr(info.param.weights.find('.') + 1);
                           return format + (info.param.kernel == ConvKernel::kWinograd ? "_winograd" : "");
                         });

TEST(VaeWeights, StrictLoadingNamesMissingUnexpectedAndShapes) {
  VideoVAE vae(FixtureConfig());
  auto w = core::ReadStateDict(testing::FixturePath("vae_a/weights.safetensors"));
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w->size(), 250u);

  core::TensorList bad = *w;
  bad.erase(bad.begin());  // encoder.conv_in.weight
  bad.push_back({"encoder.quant_conv.weight", at::zeros({1})});
  for (auto& nt : bad)
    if (nt.name == "decoder.conv_out.bias") nt.tensor = at::zeros({4});
  absl::Status s = LoadVAEWeights(*vae, bad);
  ASSERT_FALSE(s.ok());
  const std::string msg(s.message());
  EXPECT_NE(msg.find("1 missing keys (in the model, not in the file):\n    encoder.conv_in.weight"),
            std::string::npos) << msg;
  EXPECT_NE(msg.find("1 unexpected keys (in the file, not in the model):\n    encoder.quant_conv.weight"),
            std::string::npos) << msg;
  EXPECT_NE(msg.find("decoder.conv_out.bias: checkpoint [4] vs model [3]"), std::string::npos)
      << msg;

  // A full-width model rejects the tiny weights with shape mismatches.
  VideoVAE big(vae::VAEConfig{});
  absl::Status s2 = LoadVAEWeights(*big, *w);
  ASSERT_FALSE(s2.ok());
  EXPECT_NE(std::string(s2.message()).find("encoder.conv_in.weight: checkpoint [4, 3, 3, 3, 3] "
                                           "vs model [128, 3, 3, 3, 3]"),
            std::string::npos)
      << s2.message();

  EXPECT_FALSE(LoadVAEWeights(*vae, std::string("/nonexistent/vae.pth")).ok());
}

TEST(VaeWeights, HalfPrecisionWeightsConvertToModelDtype) {
  VideoVAE vae(FixtureConfig());
  auto w = core::ReadStateDict(testing::FixturePath("vae_a/weights.safetensors"));
  ASSERT_TRUE(w.ok());
  core::TensorList half = *w;
  for (auto& nt : half) nt.tensor = nt.tensor.to(at::kBFloat16);
  ASSERT_TRUE(LoadVAEWeights(*vae, half).ok());
  EXPECT_EQ(vae->dtype(), at::kFloat);
  auto io = ReadIO();
  auto post = vae->Encode(io["video"]);
  ASSERT_TRUE(post.ok());
  // bf16 weights: ~3 significant digits.
  EXPECT_LE(MaxDiff(post->mean, io["posterior_mean"]), 5e-2);
}

TEST(VaeFrames, FrameRuleErrorsAndPadding) {
  VideoVAE vae(FixtureConfig());
  at::Tensor v = at::rand({1, 3, 8, 16, 16}) * 2 - 1;
  auto bad = vae->Encode(v);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(bad.status().message()).find("T = 4n+1"), std::string::npos)
      << bad.status();
  EXPECT_NE(std::string(bad.status().message()).find("got T = 8"), std::string::npos);

  VAERunOptions pad;
  pad.pad_last_frame = true;
  auto padded = vae->Encode(v, pad);
  ASSERT_TRUE(padded.ok()) << padded.status();
  EXPECT_EQ(padded->mean.size(2), 3);  // 8 -> 9 frames -> 3 latents
  // Padding equals encoding the explicitly padded clip.
  at::Tensor v9 = at::cat({v, v.narrow(2, 7, 1)}, 2);
  auto ref = vae->Encode(v9);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(MaxDiff(padded->mean, ref->mean), 0.0);

  EXPECT_FALSE(vae->Encode(at::rand({1, 3, 5, 12, 16})).ok());  // H % 8
  EXPECT_FALSE(vae->Encode(at::rand({1, 4, 5, 16, 16})).ok());  // channels
  EXPECT_FALSE(vae->Decode(at::rand({1, 8, 2, 2, 2})).ok());

  EXPECT_TRUE(IsValidFrameCount(1));
  EXPECT_TRUE(IsValidFrameCount(17));
  EXPECT_FALSE(IsValidFrameCount(16));
  EXPECT_EQ(PaddedFrameCount(14), 17);
  EXPECT_EQ(PaddedFrameCount(1), 1);
}

TEST(VaeFrames, SingleImageRoundTripShapes) {
  VideoVAE vae(FixtureConfig());
  ASSERT_TRUE(LoadVAEWeights(*vae, testing::FixturePath("vae_a/weights.pth")).ok());
  auto io = ReadIO();
  at::Tensor frame0 = io["video"].select(2, 0);  // (1, 3, 32, 48)
  auto img = vae->Encode(frame0);
  ASSERT_TRUE(img.ok()) << img.status();
  EXPECT_EQ(img->mean.sizes(), (at::IntArrayRef{1, 16, 1, 4, 6}));
  // Causality: the first latent of the clip only depends on frame 0.
  EXPECT_LE(MaxDiff(img->mean, io["posterior_mean"].narrow(2, 0, 1)), 1e-5);
  auto dec = vae->Decode(io["latent_in"].narrow(2, 0, 1));
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(dec->sizes(), (at::IntArrayRef{1, 3, 1, 32, 48}));
  EXPECT_LE(MaxDiff(*dec, io["decoded"].narrow(2, 0, 1)), 1e-4);
}

TEST(VaeLatents, DiTLayoutScalingAndSeededSampling) {
  VideoVAE vae(FixtureConfig());
  ASSERT_TRUE(LoadVAEWeights(*vae, testing::FixturePath("vae_a/weights.pth")).ok());
  auto io = ReadIO();
  auto mean_lat = vae->EncodeForDiT(io["video"]);
  ASSERT_TRUE(mean_lat.ok());
  EXPECT_EQ(mean_lat->sizes(), (at::IntArrayRef{3, 4, 6, 16}));
  EXPECT_LE(MaxDiff(*mean_lat, io["posterior_mean"][0].permute({1, 2, 3, 0}) * 0.9152), 1e-4);

  auto a = vae->EncodeForDiT(io["video"], at::make_generator<at::CPUGeneratorImpl>(42));
  auto b = vae->EncodeForDiT(io["video"], at::make_generator<at::CPUGeneratorImpl>(42));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(MaxDiff(*a, *b), 0.0);
  EXPECT_GT(MaxDiff(*a, *mean_lat), 1e-3);

  auto dec = vae->DecodeFromDiT(vae->ToDiTLatent(io["latent_in"]));
  ASSERT_TRUE(dec.ok());
  EXPECT_LE(MaxDiff(*dec, io["decoded"]), 1e-4);
}

}  // namespace
}  // namespace seedvr::vae

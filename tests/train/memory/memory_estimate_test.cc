// The memory estimator: exact parameter-derived parts for the released 3B,
// the directions every knob must move the estimate, and the GPU search.
#include "seedvr/train/memory_estimate.h"

#include <gtest/gtest.h>

#include "seedvr/config/config.h"
#include "seedvr/models/dit/dit_shapes.h"

namespace seedvr::train {
namespace {

config::TrainConfig Train3B() {
  auto c = config::LoadTrainConfig("configs/train.yaml");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

MemoryEstimate Estimate(const config::TrainConfig& c, MemoryOptions o = {}) {
  auto e = EstimateMemory(c, o);
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? *e : MemoryEstimate{};
}

TEST(MemoryEstimateTest, ParameterPartsAreExactFor3B) {
  const config::TrainConfig c = Train3B();
  const MemoryEstimate e = Estimate(c);
  constexpr double kParams = 3'391'475'776.0;
  EXPECT_EQ(e.generator_params, 3'391'475'776);
  EXPECT_EQ(e.weights, kParams * 4);
  EXPECT_EQ(e.gradients, kParams * 4);
  EXPECT_EQ(e.ema, kParams * 4);
  EXPECT_TRUE(e.bf16);
  EXPECT_EQ(e.autocast_weights, kParams * 2);
  // Two fp32 moments, plus the step temporaries of the largest tensor
  // (emb_in.proj_out, 15360 x 2560).
  EXPECT_EQ(e.optimizer, kParams * 8 + 2.0 * 15360 * 2560 * 4);
  EXPECT_EQ(e.vae_params, 250'648'227);
  EXPECT_EQ(e.vae_weights, 250'648'227.0 * 2);  // bf16 on a GPU, as the official pipeline runs it
  EXPECT_EQ(e.host, 0);
}

// EMA and optimizer offload move exactly their bytes to host memory; the
// device and precision keys choose the dtypes.
TEST(MemoryEstimateTest, OffloadAndPrecisionFollowTheConfig) {
  const config::TrainConfig base = Train3B();
  constexpr double kParams = 3'391'475'776.0;
  const MemoryEstimate on_device = Estimate(base);
  config::TrainConfig c = base;
  c.training.ema_device = "cpu";
  c.optimizer.offload = "cpu";
  const MemoryEstimate offloaded = Estimate(c);
  EXPECT_EQ(offloaded.ema, 0);
  EXPECT_EQ(offloaded.optimizer, 0);
  EXPECT_EQ(offloaded.host, kParams * 4 + kParams * 12);  // EMA; master + two moments
  EXPECT_DOUBLE_EQ(on_device.total - offloaded.total, on_device.ema + on_device.optimizer);
  c = base;
  c.training.vae_precision = "fp32";
  EXPECT_EQ(Estimate(c).vae_weights, 250'648'227.0 * 4);
  c = base;
  c.training.device = "cpu";
  c.training.precision = "fp32";
  const MemoryEstimate cpu = Estimate(c);
  EXPECT_FALSE(cpu.bf16);
  EXPECT_FALSE(cpu.vae_bf16);
  EXPECT_EQ(cpu.autocast_weights, 0);
}

TEST(MemoryEstimateTest, TokensFollowTheClip) {
  config::TrainConfig c = Train3B();
  c.data.num_frames = 16;  // rounded up to 17 -> 5 latent frames
  c.data.crop_size = {720, 1280};
  const MemoryEstimate e = Estimate(c);
  EXPECT_EQ(e.frames, 17);
  EXPECT_EQ(e.latent_frames, 5);
  EXPECT_EQ(e.video_tokens, 5 * 45 * 80);
  // Sequence parallel pads (T - 1) to a multiple of 4 * sp.
  MemoryOptions o;
  o.sp_size = 4;
  c.data.num_frames = 21;
  EXPECT_EQ(Estimate(c, o).frames, 33);
}

TEST(MemoryEstimateTest, MoreFramesOrPixelsMeanMoreActivations) {
  config::TrainConfig c = Train3B();
  const MemoryEstimate base = Estimate(c);
  config::TrainConfig frames = c;
  frames.data.num_frames = 33;
  config::TrainConfig crop = c;
  crop.data.crop_size = {512, 512};
  config::TrainConfig batch = c;
  batch.training.batch_size = 2;
  for (const config::TrainConfig& bigger : {frames, crop, batch}) {
    const MemoryEstimate e = Estimate(bigger);
    EXPECT_GT(e.activations_full, base.activations_full);
    EXPECT_GT(e.activations_checkpointed, base.activations_checkpointed);
    EXPECT_GT(e.vae_encode, base.vae_encode);
    EXPECT_GT(e.total, base.total);
    EXPECT_EQ(e.weights, base.weights);
  }
}

TEST(MemoryEstimateTest, CheckpointingSavesActivations) {
  config::TrainConfig c = Train3B();
  c.data.crop_size = {512, 512};
  const MemoryEstimate on = Estimate(c);
  EXPECT_TRUE(on.checkpointing);
  EXPECT_LT(on.activations_checkpointed, on.activations_full / 4);
  EXPECT_EQ(on.activations, on.activations_checkpointed);
  c.model.gradient_checkpointing = false;
  const MemoryEstimate off = Estimate(c);
  EXPECT_EQ(off.activations, off.activations_full);
  EXPECT_GT(off.total, on.total);
}

TEST(MemoryEstimateTest, SequenceParallelHalvesActivations) {
  config::TrainConfig c = Train3B();
  c.data.num_frames = 33;  // (33 - 1) is a multiple of 4 * 2: no padding
  const MemoryEstimate one = Estimate(c);
  MemoryOptions o;
  o.sp_size = 2;
  const MemoryEstimate two = Estimate(c, o);
  EXPECT_EQ(two.frames, one.frames);
  EXPECT_DOUBLE_EQ(two.activations_full, one.activations_full / 2);
  EXPECT_DOUBLE_EQ(two.activations_checkpointed, one.activations_checkpointed / 2);
  EXPECT_EQ(two.weights, one.weights);
  EXPECT_EQ(two.optimizer, one.optimizer);
  o.sp_size = 3;  // 20 heads do not split 3 ways
  EXPECT_FALSE(EstimateMemory(c, o).ok());
}

TEST(MemoryEstimateTest, ZeroTwoDividesOptimizerStatesAndEmaOverEveryRank) {
  const config::TrainConfig c = Train3B();
  MemoryOptions o;
  o.dp_size = 4;
  const MemoryEstimate ddp = Estimate(c, o);
  o.zero2 = 1;
  const MemoryEstimate zero2 = Estimate(c, o);
  EXPECT_DOUBLE_EQ(zero2.optimizer, 3'391'475'776.0 * 8 / 4 + 2.0 * 15360 * 2560 * 4);
  EXPECT_DOUBLE_EQ(zero2.ema, ddp.ema / 4);
  EXPECT_EQ(ddp.weights, zero2.weights);      // weights stay whole
  EXPECT_EQ(ddp.gradients, zero2.gradients);  // reduced after backward, whole until then
  o.sp_size = 2;                              // 4 x 2 ranks share the state
  EXPECT_DOUBLE_EQ(Estimate(c, o).ema, ddp.ema / 8);
  // The config key selects it too.
  config::TrainConfig k = c;
  k.parallel.strategy = "zero2";
  MemoryOptions dp4;
  dp4.dp_size = 4;
  EXPECT_EQ(Estimate(k, dp4).ema, zero2.ema);
}

TEST(MemoryEstimateTest, MinimumGpus) {
  config::TrainConfig c = Train3B();
  // A huge card: one GPU.
  auto one = MinimumGpus(c, 1e12);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->gpus, 1);
  // 80 GB at 720p x 33: needs sharding and/or sp; the layout found fits and
  // one GPU fewer does not.
  c.data.crop_size = {720, 1280};
  c.data.num_frames = 33;
  auto fit = MinimumGpus(c, 80e9);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_GT(fit->gpus, 1);
  EXPECT_LE(fit->estimate.total, 80e9);
  EXPECT_EQ(fit->dp_size * fit->sp_size, fit->gpus);
  for (int64_t sp = 1; sp < fit->gpus; ++sp) {
    const int64_t gpus = fit->gpus - 1;
    if (gpus % sp != 0 || c.model.heads % sp != 0) continue;
    for (int zero2 : {0, 1}) {
      MemoryOptions o;
      o.sp_size = sp;
      o.dp_size = gpus / sp;
      o.zero2 = zero2;
      EXPECT_GT(Estimate(c, o).total, 80e9) << "sp " << sp << " zero2 " << zero2;
    }
  }
  // A card smaller than the weights that are never zero2.
  auto none = MinimumGpus(c, 16e9, 64);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(none.status().message().find("does not fit"), std::string::npos);
}

// Each discriminator counts its own parameters (checked against the built
// modules in tests/models/discriminator); the estimate takes them by
// discriminator.type.
TEST(MemoryEstimateTest, DiscriminatorPartComesFromTheNamedDiscriminator) {
  config::TrainConfig c = Train3B();
  // Patch on latents: 16->64 (3x4x4, bias), 64->128, 128->256 (no bias,
  // instance norm affine), 256->512 (3x3x3), head 512->1.
  const int64_t patch = 16 * 64 * 48 + 64 + 64 * 128 * 48 + 256 + 128 * 256 * 48 + 512 + 256 * 512 * 27 + 1024 +
                        512 * 27 + 1;
  EXPECT_EQ(Estimate(c).discriminator_params, patch);
  EXPECT_EQ(Estimate(c).discriminator_state, patch * 16.0);  // fp32 weights, grads, two AdamW moments
  c.discriminator.type = "dit";
  EXPECT_GT(Estimate(c).discriminator_params, dit::CountDiTParameters(c.model));
  // The named discriminator's own keys are checked, as when training.
  c.discriminator.dit_feature_layers = {16, 99};
  auto bad_layers = EstimateMemory(c);
  ASSERT_FALSE(bad_layers.ok());
  EXPECT_NE(bad_layers.status().message().find("discriminator.dit_feature_layers"), std::string::npos)
      << bad_layers.status();
  c.discriminator.type = "stylegan";
  auto unknown = EstimateMemory(c);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("discriminator.type: expected one of patch, video, dit, got stylegan"),
            std::string::npos)
      << unknown.status();
}

}  // namespace
}  // namespace seedvr::train

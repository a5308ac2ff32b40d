// End-to-end trainer tests on tiny clips made here: every compiled trainer
// trains with the policies it names, checkpoints load into the DiT, and
// resuming is bit-exact.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "seedvr/config/config.h"
#include "seedvr/core/device.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/models/dit/dit_weights.h"
#include "seedvr/models/dit/nadit.h"
#include "seedvr/testing/fixtures.h"
#include "seedvr/testing/processes.h"
#include "seedvr/train/checkpoint.h"
#include "seedvr/train/discriminators.h"
#include "seedvr/train/dispatch.h"
#include "tests/train/trainer_fixture.h"

namespace seedvr::train {
namespace {

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
  // Multi-process strategies run here as a world of one rank (real c10d
  // groups, with rank 0 serving the store); tests/train:torchrun_test runs
  // them on two.
  const bool multi_process = std::string(t.parallelism) != "single";
  config::TrainConfig c = Config(
      dir,
      {"training.max_steps=2", std::string("discriminator.type=") + t.discriminator,
       std::string("loss.loss_type=") + t.loss, "loss.lambda_ar1=1", "loss.lambda_ar2=1",
       (*d)->traits.double_backward ? "loss.lambda_r1=10" : "loss.lambda_r1=0",
       // The DiT discriminator also sees the LQ latent (its Condition hook).
       std::string(t.discriminator) == "dit" ? "discriminator.dit_condition=lq" : "discriminator.dit_condition=none",
       std::string("parallel.strategy=") + (multi_process ? t.parallelism : "ddp")});
  auto selected = SelectTrainer(c, multi_process ? 2 : 1);
  ASSERT_TRUE(selected.ok()) << selected.status();
  EXPECT_EQ(std::string(selected->first->preset), t.preset);
  std::shared_ptr<parallel::ProcessGroups> groups;
  if (multi_process) {
    parallel::LaunchEnv one;
    one.master_port = 0;  // any free port
    auto created = parallel::ProcessGroups::Create(one, {});
    ASSERT_TRUE(created.ok()) << created.status();
    groups = *created;
  }
  ASSERT_TRUE(RunTrainer(*selected->first, selected->second, groups).ok()) << t.preset;
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
  std::filesystem::remove_all(dir);  // 27 trainers' checkpoints add up
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

// With no adversarial and no feature-matching weight a step is L1 alone:
// the discriminator keeps its weights and logs nothing, the generator
// learns, and every evaluation (eval_every) logs its pixel figures and
// leaves a sample sheet.
TEST_F(TrainerTest, L1OnlyStepsLeaveTheDiscriminatorOutAndEvaluationsLeaveSamples) {
  const std::string dir = testing::TempDir() + "/l1_only";
  ASSERT_TRUE(
      Train(Config(dir, {"training.max_steps=2", "loss.lambda_adv=0", "loss.lambda_fm=0", "checkpoint.save_every=1",
                         "training.eval_root=" + *root_, "training.eval_clips=2", "training.eval_every=1"}))
          .ok());
  auto first = LoadCheckpoint(CheckpointPath(dir, 1));
  auto last = LoadCheckpoint(FinalCheckpointPath(dir));
  ASSERT_TRUE(first.ok() && last.ok());
  const core::TensorList d1 = Entry(*first, "discriminator"), d2 = Entry(*last, "discriminator");
  const core::TensorList g1 = Entry(*first, "generator"), g2 = Entry(*last, "generator");
  for (size_t i = 0; i < d1.size(); ++i) EXPECT_TRUE(at::equal(d1[i].tensor, d2[i].tensor)) << d1[i].name;
  bool moved = false;
  for (size_t i = 0; i < g1.size(); ++i) moved = moved || !at::equal(g1[i].tensor, g2[i].tensor);
  EXPECT_TRUE(moved);
  std::ifstream log(dir + "/train_log.jsonl");
  std::string line;
  int evals = 0;
  while (std::getline(log, line)) {
    EXPECT_EQ(line.find("d_adv"), std::string::npos) << line;
    if (line.find("eval_restored_psnr") != std::string::npos) {
      ++evals;
      for (const char* key :
           {"eval_lq_psnr", "eval_vae_psnr", "eval_lq_vae_psnr", "eval_restored_hf_ratio", "eval_lq_hf_ratio"}) {
        EXPECT_NE(line.find(key), std::string::npos) << line;
      }
    }
  }
  EXPECT_EQ(evals, 3);  // before, during (step 1), after
  for (int step : {0, 1, 2}) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/samples_" + std::to_string(step) + ".png")) << step;
  }
}

TEST_F(TrainerTest, ResumeIsBitExact) { ExpectResumeIsBitExact("cpu", {}); }

// The guide's advice when D wins (lower d_lr, resume) must take effect: the
// config's optimizer settings replace the checkpoint's, and a line says so.
TEST_F(TrainerTest, ResumeTakesTheConfigsLearningRate) {
  std::string dir = testing::TempDir() + "/lower_d_lr";
  ASSERT_TRUE(Train(Config(dir, {"training.max_steps=2", "checkpoint.save_every=2"})).ok());
  ::testing::internal::CaptureStdout();
  const absl::Status resumed = Train(
      Config(dir, {"training.max_steps=3", "optimizer.d_lr=5e-5", "checkpoint.resume=" + CheckpointPath(dir, 2)}));
  const std::string out = ::testing::internal::GetCapturedStdout();
  ASSERT_TRUE(resumed.ok()) << resumed;
  EXPECT_NE(out.find("d_optimizer lr 0.0002 -> 5e-05"), std::string::npos) << out;
  auto state = LoadCheckpoint(FinalCheckpointPath(dir));
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(std::get<double>(state->find("d_optimizer")->find("lr")->v), 5e-5);
}

// bf16 autocast for the DiT and the discriminator, and a bf16 VAE, on the
// CPU (the same code path as on a GPU): runs are finite and reproducible,
// the master weights, optimizer state and EMA stay fp32, and the EMA is also
// written alone in bf16 under the official keys, loadable into the DiT.
TEST_F(TrainerTest, Bf16TrainsWithFp32MasterWeightsAndWritesABf16Ema) {
  std::string dir = testing::TempDir() + "/bf16";
  config::TrainConfig c = Config(dir, {"training.max_steps=2", "training.device=cpu", "training.precision=bf16",
                                       "training.vae_precision=bf16", "loss.lambda_ar1=1"});
  const absl::Status trained = Train(c);
  ASSERT_TRUE(trained.ok()) << trained;
  auto state = LoadCheckpoint(FinalCheckpointPath(dir));
  ASSERT_TRUE(state.ok()) << state.status();
  // Deterministic too: a second run is bit-identical (core::CpuBf16Guard).
  const std::string again = testing::TempDir() + "/bf16_again";
  c.checkpoint.save_dir = again;
  ASSERT_TRUE(Train(c).ok());
  auto second = LoadCheckpoint(FinalCheckpointPath(again));
  ASSERT_TRUE(second.ok()) << second.status();
  ExpectSameTrainingState(*state, *second);
  for (const char* key : {"generator", "ema", "discriminator"}) {
    for (const auto& t : Entry(*state, key)) {
      EXPECT_EQ(t.tensor.scalar_type(), at::kFloat) << key << " " << t.name;
      EXPECT_TRUE(at::isfinite(t.tensor).all().item<bool>()) << key << " " << t.name;
    }
  }
  EXPECT_EQ(Entry(*state->find("g_optimizer"), "exp_avg_sq").front().tensor.scalar_type(), at::kFloat);
  auto ema = core::ReadStateDict(FinalEmaPath(dir));
  ASSERT_TRUE(ema.ok()) << ema.status();
  const core::TensorList master = Entry(*state, "ema");
  ASSERT_EQ(ema->size(), master.size());
  for (size_t i = 0; i < ema->size(); ++i) {
    EXPECT_EQ((*ema)[i].name, master[i].name);
    EXPECT_EQ((*ema)[i].tensor.scalar_type(), at::kBFloat16);
    EXPECT_TRUE(at::equal((*ema)[i].tensor, master[i].tensor.to(at::kBFloat16))) << master[i].name;
  }
  dit::NaDiT model(c.model);
  EXPECT_TRUE(dit::LoadDiTWeights(*model, *ema).ok());
}

// optimizer.offload: cpu (host master weights and moments, host step) and
// training.ema_device: cpu give the same run as keeping everything in place.
TEST_F(TrainerTest, OffloadedOptimizerAndHostEmaEqualTheInPlaceRun) {
  std::string plain = testing::TempDir() + "/in_place", offload = testing::TempDir() + "/offload";
  ASSERT_TRUE(Train(Config(plain, {"training.max_steps=2", "loss.lambda_l1=1"})).ok());
  ASSERT_TRUE(Train(Config(offload, {"training.max_steps=2", "loss.lambda_l1=1", "optimizer.offload=cpu",
                                     "training.ema_device=cpu"}))
                  .ok());
  auto a = LoadCheckpoint(FinalCheckpointPath(plain));
  auto b = LoadCheckpoint(FinalCheckpointPath(offload));
  ASSERT_TRUE(a.ok() && b.ok());
  ExpectSameTrainingState(*a, *b);
}

// A GPU asked for where none is usable stops before any work, naming the key.
TEST_F(TrainerTest, DeviceErrorsNameTheKeyBeforeTraining) {
  std::string dir = testing::TempDir() + "/device";
  auto bad = Train(Config(dir, {"training.device=tpu"}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("training.device: expected auto, cpu, cuda or cuda:N, got 'tpu'"), std::string::npos)
      << bad;
  if (core::CudaDeviceCount() == 0) {
    auto cuda = Train(Config(dir, {"training.device=cuda"}));
    ASSERT_FALSE(cuda.ok());
    EXPECT_NE(cuda.message().find("training.device: 'cuda' asks for a GPU"), std::string::npos) << cuda;
  }
  auto far = Train(Config(dir, {"training.device=cuda:64"}));
  ASSERT_FALSE(far.ok());
  EXPECT_NE(far.message().find("cuda:64"), std::string::npos) << far;
  EXPECT_FALSE(std::filesystem::exists(FinalCheckpointPath(dir)));
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
  // A multi-process launch without its rendezvous, and sequence-parallel
  // groups the world cannot be split into, stop before connecting to anything.
  setenv("WORLD_SIZE", "2", 1);
  auto no_store = Train(Config(dir));
  ASSERT_FALSE(no_store.ok());
  EXPECT_NE(no_store.message().find("MASTER_ADDR"), std::string::npos) << no_store;
  setenv("MASTER_ADDR", "127.0.0.1", 1);
  setenv("MASTER_PORT", "1", 1);
  auto parallel = Train(Config(dir, {"parallel.sp_size=4", "data.num_frames=17"}));
  for (const char* v : {"WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"}) unsetenv(v);
  ASSERT_FALSE(parallel.ok());
  EXPECT_NE(parallel.message().find("parallel.sp_size: 4"), std::string::npos) << parallel;
  EXPECT_FALSE(std::filesystem::exists(FinalCheckpointPath(dir)));
}

// A second run into a save_dir that holds one is refused before any work,
// leaving the first run's log and checkpoints as they were; --overwrite
// replaces that run.
TEST_F(TrainerTest, ASecondRunIntoTheSameSaveDirIsRefusedUnlessOverwritten) {
  const std::string dir = testing::TempDir() + "/reused";
  ASSERT_TRUE(Train(Config(dir, {"training.max_steps=2", "checkpoint.save_every=1"})).ok());
  const std::string log = testing::ReadText(dir + "/train_log.jsonl");
  auto again = Train(Config(dir, {"training.max_steps=1"}));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition) << again;
  EXPECT_NE(again.message().find("--resume " + dir + "/checkpoint_<step>.pth"), std::string::npos) << again;
  EXPECT_EQ(testing::ReadText(dir + "/train_log.jsonl"), log);
  EXPECT_EQ(ListCheckpoints(dir).size(), 2u);

  std::vector<std::string> args = {"--config", "configs/tiny.yaml", "--overwrite"};
  for (const std::string& o : Overrides(dir, {"training.max_steps=1"})) args.insert(args.end(), {"--set", o});
  auto overwrite = config::ParseTrainCommandLine(args);
  ASSERT_TRUE(overwrite.ok()) << overwrite.status();
  EXPECT_TRUE(overwrite->checkpoint.overwrite);
  ASSERT_TRUE(Train(*overwrite).ok());
  auto left = ListCheckpoints(dir);
  ASSERT_EQ(left.size(), 1u);  // step 1 of the new run; the old step 2 is gone
  EXPECT_EQ(left[0].first, 1);
}

}  // namespace
}  // namespace seedvr::train

// Training under torchrun with two real ranks (Gloo on the CPU), through
// //tools:train: two data-parallel ranks equal one process fed both ranks'
// clips, two sequence-parallel ranks equal one process on the same clip, a
// torchrun run resumes bit for bit and continues on another world
// size, a killed or hung rank stops every rank with a message naming it, and
// a stop signal ends the run after a step with a checkpoint of that step.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "seedvr/testing/processes.h"
#include "tests/train/trainer_fixture.h"

namespace seedvr::train {
namespace {

class TorchrunTest : public TrainerTest {
 public:
  // torchrun --standalone --nproc-per-node=2 --no-python tools/train
  //   --config configs/tiny.yaml --set <Overrides(save_dir, extra)>,
  // output to `log`; `env` is added to the launch's environment.
  static pid_t Launch(const std::string& save_dir, const std::vector<std::string>& extra, const std::string& log,
                      const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv = {testing::Python(),    "-m",          "torch.distributed.run", "--standalone",
                                     "--nproc-per-node=2", "--no-python", "tools/train",           "--config",
                                     "configs/tiny.yaml"};
    for (const std::string& o : Overrides(save_dir, extra)) argv.insert(argv.end(), {"--set", o});
    return testing::Spawn(argv, env, log);
  }

  static void Torchrun(const std::string& save_dir, const std::vector<std::string>& extra) {
    const std::string log = save_dir + ".log";
    pid_t pid = Launch(save_dir, extra, log);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(testing::WaitExit(pid, std::chrono::seconds(240)), 0) << testing::ReadText(log);
  }

  // 4 steps straight equal 2 + resume + 2 under `strategy`, bit for bit, and
  // one process continues the run.
  static void ExpectResumes(const std::string& strategy);
};

// ‖a - b‖ / ‖b‖ of every tensor of a checkpoint entry.
void ExpectClose(const core::PyValue& a, const core::PyValue& b, const char* key, double tolerance) {
  core::TensorList ta = Entry(a, key), tb = Entry(b, key);
  ASSERT_EQ(ta.size(), tb.size()) << key;
  for (size_t i = 0; i < ta.size(); ++i) {
    const double err = (ta[i].tensor - tb[i].tensor).norm().item<double>() / tb[i].tensor.norm().item<double>();
    EXPECT_LT(err, tolerance) << key << " " << ta[i].name;
  }
}

TEST_F(TorchrunTest, TwoRanksEqualOneProcessFedBothRanksClips) {
  const std::vector<std::string> common = {"training.max_steps=3", "loss.lambda_ar1=1", "loss.lambda_l1=1",
                                           "checkpoint.save_every=3"};
  const std::string two = testing::TempDir() + "/dp_two_ranks";
  const std::string one = testing::TempDir() + "/dp_one_process";
  Torchrun(two, common);
  // One process takes both ranks' clips as two accumulated micro-batches.
  std::vector<std::string> accumulated = common;
  accumulated.push_back("training.grad_accum=2");
  ASSERT_TRUE(Train(Config(one, accumulated)).ok());
  auto a = LoadCheckpoint(FinalCheckpointPath(two));
  auto b = LoadCheckpoint(FinalCheckpointPath(one));
  ASSERT_TRUE(a.ok() && b.ok());
  for (const char* key : {"generator", "ema", "discriminator"}) ExpectClose(*a, *b, key, 1e-6);
}

// The value of "key" in the train_log.jsonl line of `step`.
double LoggedMetric(const std::string& dir, int step, const std::string& key) {
  std::stringstream lines(testing::ReadText(dir + "/train_log.jsonl"));
  const std::string prefix = "{\"step\":" + std::to_string(step) + ",";
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    const size_t at = line.find("\"" + key + "\":");
    if (at == std::string::npos) break;
    return std::stod(line.substr(at + key.size() + 3));
  }
  ADD_FAILURE() << "no " << key << " at step " << step << " in " << dir << "/train_log.jsonl";
  return 0;
}

TEST_F(TorchrunTest, SequenceParallelStepEqualsOneProcess) {
  // The DiT discriminator splits its tokens too; 9 frames make 3 latent
  // frames, (9 - 1) a multiple of 4 * sp_size.
  const std::vector<std::string> common = {"training.max_steps=1", "data.num_frames=9", "discriminator.type=dit",
                                           "loss.lambda_r1=0",     "loss.lambda_ar1=1", "loss.lambda_l1=1"};
  const std::string one = testing::TempDir() + "/sp_one_process";
  ASSERT_TRUE(Train(Config(one, common)).ok());
  // Either strategy composes with the sequence split.
  for (const std::string strategy : {"ddp", "zero2"}) {
    const std::string two = testing::TempDir() + "/sp_two_ranks_" + strategy;
    std::vector<std::string> split = common;
    split.insert(split.end(), {"parallel.sp_size=2", "parallel.strategy=" + strategy});
    Torchrun(two, split);
    for (const char* key : {"d_adv", "g_adv", "fm", "l1", "ar1", "g_grad_norm", "d_grad_norm"}) {
      const double want = LoggedMetric(one, 1, key), got = LoggedMetric(two, 1, key);
      EXPECT_LE(std::abs(got - want), 1e-4 * std::max(1.0, std::abs(want)))
          << strategy << " " << key << ": " << got << " vs " << want;
      std::printf("step 1 %-12s sp 2 %s: %.6g  one process: %.6g\n", key, strategy.c_str(), got, want);
    }
  }
}

void TorchrunTest::ExpectResumes(const std::string& strategy) {
  const std::string straight = testing::TempDir() + "/torchrun_straight_" + strategy;
  const std::string split = testing::TempDir() + "/torchrun_split_" + strategy;
  const std::vector<std::string> common = {"loss.lambda_ar1=1", "checkpoint.save_every=2",
                                           "parallel.strategy=" + strategy};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.end(), common.begin(), common.end());
    return more;
  };
  Torchrun(straight, with({"training.max_steps=4"}));
  Torchrun(split, with({"training.max_steps=2"}));
  Torchrun(split, with({"training.max_steps=4", "checkpoint.resume=" + CheckpointPath(split, 2)}));
  auto a = LoadCheckpoint(FinalCheckpointPath(straight));
  auto b = LoadCheckpoint(FinalCheckpointPath(split));
  ASSERT_TRUE(a.ok() && b.ok());
  ExpectSameTrainingState(*a, *b);
  // Rank 0 wrote the same files a single process writes; the EMA loads in
  // PyTorch as a bf16 state dict.
  const std::string check = testing::TempDir() + "/ema_check.log";
  pid_t py = testing::Spawn({testing::Python(), "-c",
                             "import sys, torch; sd = torch.load(sys.argv[1], weights_only=True); "
                             "assert len(sd) > 0 and all(v.dtype == torch.bfloat16 for v in sd.values())",
                             FinalEmaPath(straight)},
                            {}, check);
  EXPECT_EQ(testing::WaitExit(py, std::chrono::seconds(120)), 0) << testing::ReadText(check);
  // One process continues the two-rank run and says how it re-splits.
  ::testing::internal::CaptureStdout();
  absl::Status resumed =
      Train(Config(split, with({"training.max_steps=3", "checkpoint.resume=" + CheckpointPath(split, 2)})));
  const std::string out = ::testing::internal::GetCapturedStdout();
  ASSERT_TRUE(resumed.ok()) << resumed;
  EXPECT_NE(out.find("saved with 2 data-parallel ranks and continues on 1"), std::string::npos) << out;
}

TEST_F(TorchrunTest, ResumesBitForBitAndContinuesOnAnotherWorldSize) { ExpectResumes("ddp"); }

// ZeRO-2 checkpoints hold whole, gathered tensors: the same files.
TEST_F(TorchrunTest, ZeroTwoResumesBitForBitAndContinuesOnAnotherWorldSize) { ExpectResumes("zero2"); }

// The "G AdamW <x> MiB" figure of rank 0's start-up line.
double GeneratorOptimizerMiB(const std::string& log) {
  const std::string text = testing::ReadText(log);
  const size_t at = text.find("G AdamW ");
  EXPECT_NE(at, std::string::npos) << text;
  return at == std::string::npos ? 0 : std::stod(text.substr(at + 8));
}

TEST_F(TorchrunTest, ZeroTwoEqualsDataParallelWithHalfTheOptimizerState) {
  const std::vector<std::string> common = {"training.max_steps=3", "loss.lambda_ar1=1", "loss.lambda_l1=1",
                                           "checkpoint.save_every=3"};
  const std::string ddp = testing::TempDir() + "/zero_vs_ddp_ddp";
  const std::string zero = testing::TempDir() + "/zero_vs_ddp_zero2";
  Torchrun(ddp, common);
  std::vector<std::string> sharded = common;
  sharded.push_back("parallel.strategy=zero2");
  Torchrun(zero, sharded);
  auto a = LoadCheckpoint(FinalCheckpointPath(zero));
  auto b = LoadCheckpoint(FinalCheckpointPath(ddp));
  ASSERT_TRUE(a.ok() && b.ok());
  for (const char* key : {"generator", "ema", "discriminator"}) ExpectClose(*a, *b, key, 1e-6);
  for (const char* key : {"g_optimizer", "d_optimizer"}) {
    for (const char* moment : {"exp_avg", "exp_avg_sq"}) ExpectClose(*a->find(key), *b->find(key), moment, 1e-6);
  }
  const double ratio = GeneratorOptimizerMiB(zero + ".log") / GeneratorOptimizerMiB(ddp + ".log");
  std::printf("generator AdamW state per rank, zero2 / ddp on 2 ranks: %.4f\n", ratio);
  EXPECT_NEAR(ratio, 0.5, 0.01);
}

// A long torchrun run, two steps in: the launcher's pid and rank 1's.
struct LongRun {
  pid_t torchrun = -1;
  pid_t rank1 = -1;
  std::string dir, log;
};

LongRun StartLongRun(const std::string& name, const std::vector<std::string>& extra) {
  LongRun run;
  run.dir = testing::TempDir() + "/" + name;
  run.log = run.dir + ".log";
  const std::string tag = "SEEDVR_TEST_RUN=" + name + std::to_string(::getpid());
  std::vector<std::string> overrides = {"training.max_steps=100000"};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  run.torchrun = TorchrunTest::Launch(run.dir, overrides, run.log, {tag});
  EXPECT_GT(run.torchrun, 0);
  const auto started = std::chrono::steady_clock::now();
  auto steps = [&] {
    const std::string jsonl = testing::ReadText(run.dir + "/train_log.jsonl");
    return std::count(jsonl.begin(), jsonl.end(), '\n');
  };
  while (steps() < 2 && std::chrono::steady_clock::now() - started < std::chrono::seconds(120)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GE(steps(), 2) << testing::ReadText(run.log);
  std::vector<pid_t> rank1 = testing::FindProcesses({tag, "RANK=1"});
  EXPECT_EQ(rank1.size(), 1u);
  if (rank1.size() == 1) run.rank1 = rank1[0];
  return run;
}

TEST_F(TorchrunTest, KillingARankStopsEveryRankNamingIt) {
  LongRun run = StartLongRun("torchrun_kill", {"checkpoint.save_every=1", "checkpoint.keep_last=2"});
  ASSERT_GT(run.rank1, 0);
  ::kill(run.rank1, SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  const int code = testing::WaitExit(run.torchrun, std::chrono::seconds(90));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  const std::string out = testing::ReadText(run.log);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(code, -1) << "torchrun still ran 90 s after the kill\n" << out;
  EXPECT_LT(seconds, 60) << out;
  EXPECT_NE(out.find("train: rank 0: "), std::string::npos) << out;
  EXPECT_NE(out.find("rank 1 stopped responding"), std::string::npos) << out;
  // Every checkpoint left is complete; no partial file stays behind.
  auto saved = ListCheckpoints(run.dir);
  ASSERT_FALSE(saved.empty());
  for (const auto& [step, path] : saved) EXPECT_TRUE(LoadCheckpoint(path).ok()) << path;
  for (const auto& entry : std::filesystem::directory_iterator(run.dir)) {
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
  }
}

// Every checkpoint in `dir` loads, the newest is of the last logged step, and
// no temporary is left.
void ExpectStoppedCleanly(const std::string& dir, const std::string& out) {
  const std::string jsonl = testing::ReadText(dir + "/train_log.jsonl");
  const int64_t logged = std::count(jsonl.begin(), jsonl.end(), '\n');
  auto saved = ListCheckpoints(dir);
  ASSERT_FALSE(saved.empty()) << out;
  EXPECT_EQ(saved.back().first, logged) << out;
  for (const auto& [step, path] : saved) EXPECT_TRUE(LoadCheckpoint(path).ok()) << path;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
  }
  EXPECT_NE(out.find("continue with --resume " + CheckpointPath(dir, logged)), std::string::npos) << out;
}

// Ctrl-C on one process: the step finishes, its checkpoint is written, the
// exit status is SIGINT's (130), and the run continues from it.
TEST_F(TorchrunTest, SigintFinishesTheStepSavesAndExitsWithItsStatus) {
  const std::string dir = testing::TempDir() + "/sigint";
  std::vector<std::string> argv = {"tools/train", "--config", "configs/tiny.yaml"};
  for (const std::string& o : Overrides(dir, {"training.max_steps=100000", "checkpoint.save_every=1000"})) {
    argv.insert(argv.end(), {"--set", o});
  }
  const pid_t pid = testing::Spawn(argv, {}, dir + ".log");
  ASSERT_GT(pid, 0);
  const auto started = std::chrono::steady_clock::now();
  auto steps = [&] {
    const std::string jsonl = testing::ReadText(dir + "/train_log.jsonl");
    return std::count(jsonl.begin(), jsonl.end(), '\n');
  };
  while (steps() < 2 && std::chrono::steady_clock::now() - started < std::chrono::seconds(120)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGINT);
  EXPECT_EQ(testing::WaitExit(pid, std::chrono::seconds(120)), 128 + SIGINT) << testing::ReadText(dir + ".log");
  ExpectStoppedCleanly(dir, testing::ReadText(dir + ".log"));
  auto saved = ListCheckpoints(dir);
  ASSERT_FALSE(saved.empty());
  const int64_t stopped_at = saved.back().first;
  const std::string next = "training.max_steps=" + std::to_string(stopped_at + 1);
  ASSERT_TRUE(Train(Config(dir, {"checkpoint.resume=" + saved.back().second, next})).ok());
  EXPECT_TRUE(std::filesystem::exists(CheckpointPath(dir, stopped_at + 1)));
}

// torchrun stopped with SIGTERM passes it to every rank: they agree on the
// step to stop after, save it together and exit.
TEST_F(TorchrunTest, SigtermStopsEveryRankAfterTheSameStepWithACheckpoint) {
  LongRun run = StartLongRun("torchrun_sigterm", {"checkpoint.save_every=1000"});
  ::kill(run.torchrun, SIGTERM);
  const int code = testing::WaitExit(run.torchrun, std::chrono::seconds(90));
  const std::string out = testing::ReadText(run.log);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(code, -1) << "torchrun still ran 90 s after SIGTERM\n" << out;
  ExpectStoppedCleanly(run.dir, out);
}

TEST_F(TorchrunTest, AHungRankTimesOutTheOthersNamingIt) {
  LongRun run = StartLongRun("torchrun_hang", {"parallel.timeout_s=5", "checkpoint.save_every=1000"});
  ASSERT_GT(run.rank1, 0);
  ::kill(run.rank1, SIGSTOP);  // alive, silent: no collective, no heartbeat
  const auto hung = std::chrono::steady_clock::now();
  std::string out;
  while (std::chrono::steady_clock::now() - hung < std::chrono::seconds(60)) {
    out = testing::ReadText(run.log);
    if (out.find("rank 1 stopped responding") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - hung).count();
  ::kill(run.rank1, SIGKILL);
  EXPECT_NE(testing::WaitExit(run.torchrun, std::chrono::seconds(90)), 0);
  out = testing::ReadText(run.log);
  EXPECT_NE(out.find("train: rank 0: "), std::string::npos) << out;
  EXPECT_NE(out.find("rank 1 stopped responding"), std::string::npos) << out;
  EXPECT_LT(seconds, 30) << out;  // the 5 s timeout and 3 s of watching heartbeats
}

}  // namespace
}  // namespace seedvr::train

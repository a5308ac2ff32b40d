// Training checkpoints: keep_last rotation (with the EMA files beside them),
// the bf16 EMA export, format check, atomic writes that survive a process
// killed mid-write, and the check of every entry a resume or infer reads.
#include "seedvr/train/checkpoint.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "seedvr/config/config.h"
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
  auto earlier = core::ReadPth(CheckpointPath(dir, 1));  // whole, though not a complete training state
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
    auto loaded = core::ReadPth(FinalCheckpointPath(dir));  // whole, though not a complete training state
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    const int64_t step = std::get<int64_t>(loaded->find("step")->v);
    if (WIFSIGNALED(status)) {
      EXPECT_EQ(step, 5) << "killed after " << delay_ms << " ms";
    }
    EXPECT_TRUE(step == 5 || step == 6);
  }
}

core::PyValue Str(const char* s) { return core::PyValue{std::string(s)}; }

core::PyValue Dict(std::vector<std::pair<const char*, core::PyValue>> items) {
  auto d = std::make_shared<core::PyDict>();
  for (auto& [k, v] : items) d->emplace_back(Str(k), std::move(v));
  return core::PyValue{d};
}

core::PyValue Optimizer() {
  return Dict({{"step", core::PyValue{int64_t{4}}},
               {"lr", core::PyValue{1e-5}},
               {"beta1", core::PyValue{0.9}},
               {"beta2", core::PyValue{0.999}},
               {"eps", core::PyValue{1e-8}},
               {"weight_decay", core::PyValue{0.01}},
               {"exp_avg", core::FromTensorList({{"w", at::zeros({2})}})},
               {"exp_avg_sq", core::FromTensorList({{"w", at::zeros({2})}})}});
}

// Every entry TrainingCore::State writes, with small tensors.
core::PyValue FullState() {
  return Dict({{"format", Str(kCheckpointFormat)},
               {"step", core::PyValue{int64_t{4}}},
               {"d_step", core::PyValue{int64_t{4}}},
               {"generator", core::FromTensorList({{"w", at::ones({2})}})},
               {"ema", core::FromTensorList({{"w", at::ones({2})}})},
               {"discriminator", core::FromTensorList({{"d", at::ones({3})}})},
               {"g_optimizer", Optimizer()},
               {"d_optimizer", Optimizer()},
               {"loader", Dict({{"epoch", core::PyValue{int64_t{0}}},
                                {"index", core::PyValue{int64_t{4}}},
                                {"dp_size", core::PyValue{int64_t{1}}}})},
               {"config", Str("training:\n  max_steps: 8\n")}});
}

// `state` with the entry at `path` replaced by `value` (or removed when
// `value` is nullopt).
core::PyValue With(core::PyValue state, std::vector<std::string> path, std::optional<core::PyValue> value) {
  core::PyDict* dict = std::get<std::shared_ptr<core::PyDict>>(state.v).get();
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    for (auto& [k, v] : *dict) {
      if (std::get<std::string>(k.v) == path[i]) dict = std::get<std::shared_ptr<core::PyDict>>(v.v).get();
    }
  }
  auto it = std::find_if(dict->begin(), dict->end(),
                         [&](const auto& kv) { return std::get<std::string>(kv.first.v) == path.back(); });
  if (!value) {
    dict->erase(it);
  } else if (it == dict->end()) {
    dict->emplace_back(core::PyValue{path.back()}, *value);
  } else {
    it->second = *value;
  }
  return state;
}

// Writes `state` like a checkpoint on disk and loads it back.
absl::StatusOr<core::PyValue> SaveAndLoad(const core::PyValue& state) {
  const std::string path = testing::TempDir() + "/crafted.pth";
  if (absl::Status s = core::WritePth(path, state); !s.ok()) return s;
  return LoadCheckpoint(path);
}

void ExpectRefused(const core::PyValue& state, std::initializer_list<const char*> fragments) {
  auto r = SaveAndLoad(state);
  ASSERT_FALSE(r.ok());
  for (const char* f : fragments) {
    EXPECT_NE(r.status().message().find(f), std::string::npos) << "missing '" << f << "' in: " << r.status();
  }
}

TEST(CheckpointEntries, CompleteCheckpointLoads) {
  auto r = SaveAndLoad(FullState());
  ASSERT_TRUE(r.ok()) << r.status();
  // The random state of earlier versions is not read, whatever it holds
  // (here 3 bytes): it neither aborts nor refuses the checkpoint.
  auto rng = SaveAndLoad(With(FullState(), {"rng"}, Dict({{"cpu", core::PyValue{at::zeros({3}, at::kByte)}}})));
  EXPECT_TRUE(rng.ok()) << rng.status();
}

// Issue 18, kind 11: optimizer values and counters that no run could have
// saved are refused by name instead of resumed.
TEST(CheckpointEntries, NegativeLearningRateOrStepIsRefused) {
  ExpectRefused(With(FullState(), {"g_optimizer", "lr"}, core::PyValue{-1e-4}), {"['g_optimizer']['lr']", "-0.0001"});
  ExpectRefused(With(FullState(), {"step"}, core::PyValue{int64_t{-5}}), {"['step']", ">= 0", "-5"});
  ExpectRefused(With(FullState(), {"d_optimizer", "step"}, core::PyValue{int64_t{-1}}), {"['d_optimizer']['step']"});
  ExpectRefused(With(FullState(), {"d_optimizer", "beta2"}, core::PyValue{1.5}), {"['d_optimizer']['beta2']", "1.5"});
  ExpectRefused(With(FullState(), {"g_optimizer", "eps"}, core::PyValue{std::nan("")}), {"['g_optimizer']['eps']"});
  ExpectRefused(With(FullState(), {"loader", "index"}, core::PyValue{int64_t{-3}}), {"['loader']['index']", "-3"});
  ExpectRefused(With(FullState(), {"loader", "dp_size"}, core::PyValue{int64_t{0}}), {"['loader']['dp_size']"});
}

// Issue 18, kind 11: a NaN in the EMA would restore black frames and report
// success; every weight entry must be finite.
TEST(CheckpointEntries, NonFiniteWeightsAreRefused) {
  at::Tensor nan = at::ones({2});
  nan[1].fill_(std::nan(""));
  ExpectRefused(With(FullState(), {"ema"}, core::FromTensorList({{"blocks.0.w", nan}})),
                {"['ema']", "blocks.0.w", "NaN"});
  ExpectRefused(With(FullState(), {"generator"}, core::FromTensorList({{"w", at::full({2}, INFINITY)}})),
                {"['generator']", "'w'"});
  ExpectRefused(With(FullState(), {"vae"}, core::FromTensorList({{"conv.w", nan}})), {"['vae']", "conv.w"});
  // Released weights (infer checks them the same way), in bf16 too.
  EXPECT_FALSE(CheckFinite({{"w", nan.to(at::kBFloat16)}}, "released.pth").ok());
  EXPECT_TRUE(CheckFinite({{"w", at::ones({2}, at::kBFloat16)}, {"ids", at::ones({2}, at::kLong)}}, "x").ok());
}

// Issue 18, kind 17: a string or float step, a list d_step, a missing ema:
// each is an error naming the entry, never an abort or a null dereference.
TEST(CheckpointEntries, MistypedOrMissingEntriesAreNamed) {
  ExpectRefused(With(FullState(), {"step"}, Str("12")), {"['step']", "an integer", "'12'"});
  ExpectRefused(With(FullState(), {"step"}, core::PyValue{12.0}), {"['step']", "an integer", "12"});
  ExpectRefused(With(FullState(), {"d_step"}, core::PyValue{std::make_shared<core::PyList>()}),
                {"['d_step']", "a list"});
  ExpectRefused(With(FullState(), {"ema"}, std::nullopt), {"no 'ema' entry"});
  ExpectRefused(With(FullState(), {"ema"}, core::PyValue{at::ones({2})}), {"['ema']", "a dict"});
  ExpectRefused(With(FullState(), {"loader"}, std::nullopt), {"no 'loader' entry"});
  ExpectRefused(With(FullState(), {"loader", "epoch"}, core::PyValue{true}), {"['loader']['epoch']", "True"});
  ExpectRefused(With(FullState(), {"g_optimizer", "exp_avg"}, std::nullopt), {"['g_optimizer']", "exp_avg"});
  ExpectRefused(With(FullState(), {"g_optimizer", "lr"}, Str("fast")), {"['g_optimizer']['lr']", "fast"});
  ExpectRefused(With(FullState(), {"config"}, core::PyValue{int64_t{1}}), {"['config']", "a string"});
  ExpectRefused(With(FullState(), {"discriminator", "d"}, core::PyValue{int64_t{1}}), {"discriminator", "'d'"});
}

// Issue 18, kind 17: a stored config whose YAML has a complex key is a config
// error naming the checkpoint, as infer reports it.
TEST(CheckpointEntries, StoredConfigWithComplexKeyIsAnError) {
  auto loaded = SaveAndLoad(With(FullState(), {"config"}, Str("? [a, b]\n: 1\n")));
  ASSERT_TRUE(loaded.ok()) << loaded.status();  // a string, as the layout says
  auto config =
      config::ParseTrainConfig(std::get<std::string>(loaded->find("config")->v), {}, "crafted.pth (stored config)");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("crafted.pth (stored config)"), std::string::npos) << config.status();
  EXPECT_NE(config.status().message().find("plain key names"), std::string::npos) << config.status();
}

// The same checks on a checkpoint written by Python's torch.save, the way a
// hand-edited checkpoint arrives.
TEST(CheckpointEntries, TorchWrittenFloatStepIsNamed) {
  const std::string good = testing::TempDir() + "/good.pth";
  const std::string edited = testing::TempDir() + "/edited.pth";
  ASSERT_TRUE(core::WritePth(good, FullState()).ok());
  const std::string cmd = testing::Python() +
                          " -c \"import torch, sys; s = torch.load(sys.argv[1], weights_only=True); "
                          "s['step'] = 4.0; torch.save(s, sys.argv[2])\" " +
                          good + " " + edited;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto r = LoadCheckpoint(edited);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("['step']: expected an integer >= 0, got 4"), std::string::npos) << r.status();
}

}  // namespace
}  // namespace seedvr::train

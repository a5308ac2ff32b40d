// Process groups and data parallel on real processes (Gloo on the CPU),
// each rank a copy of this binary (testing/ranks.h).
#include "seedvr/parallel/process_groups.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "seedvr/config/config.h"
#include "seedvr/models/dit/nadit.h"
#include "seedvr/models/generator/generator.h"
#include "seedvr/parallel/data_parallel.h"
#include "seedvr/testing/ranks.h"

namespace seedvr::parallel {
namespace {

using testing::ConnectRank;
using testing::IsRankWorker;
using testing::RunRanks;

double SumOver(const c10::intrusive_ptr<c10d::ProcessGroup>& group, double value) {
  std::vector<at::Tensor> t = {at::full({1}, value, at::kDouble)};
  auto work = group->allreduce(t);
  EXPECT_TRUE(Wait(*work, std::chrono::seconds(30), "allreduce").ok());
  return t[0].item<double>();
}

TEST(Worker, Layout) {
  if (!IsRankWorker()) GTEST_SKIP() << "a rank of ProcessGroups.FourRanksMakeTwoSequenceParallelPairs";
  auto g = ConnectRank(2);
  ASSERT_NE(g, nullptr);
  const int r = g->rank();
  EXPECT_EQ(g->world_size(), 4);
  EXPECT_EQ(g->sp_rank(), r % 2);
  EXPECT_EQ(g->dp_rank(), r / 2);
  EXPECT_EQ(g->dp_size(), 2);
  ASSERT_NE(g->sequence_parallel(), nullptr);
  // Consecutive ranks share a sequence-parallel group; a data-parallel
  // group takes one rank of each.
  EXPECT_EQ(SumOver(g->sequence_parallel(), r), (r / 2) * 4 + 1);
  EXPECT_EQ(SumOver(g->data_parallel(), r), 2 * (r % 2) + 2);
  EXPECT_EQ(SumOver(g->world(), r), 6);
}

TEST(ProcessGroups, FourRanksMakeTwoSequenceParallelPairs) {
  if (IsRankWorker()) GTEST_SKIP();
  RunRanks("Layout", 4);
}

// The tiny config's real DiT restoring one latent clip, L1 to a target.
struct Batch {
  at::Tensor lq, noise, target;
};

Batch MakeBatch(int index) {
  at::manual_seed(100 + index);
  return {at::randn({1, 16, 2, 4, 4}), at::randn({1, 16, 2, 4, 4}), at::randn({1, 16, 2, 4, 4})};
}

generator::SeedVR2Generator TinyGenerator() {
  auto c = config::LoadTrainConfig("configs/tiny.yaml", {});
  EXPECT_TRUE(c.ok()) << c.status();
  at::manual_seed(7);
  dit::NaDiT dit(c->model);
  return generator::SeedVR2Generator(dit, at::randn({6, c->model.txt_in_dim}));
}

at::Tensor Loss(generator::SeedVR2Generator& g, const Batch& b) {
  return (g.Restore(b.lq, b.noise) - b.target).abs().mean();
}

TEST(Worker, DataParallelGradients) {
  if (!IsRankWorker()) GTEST_SKIP() << "a rank of DataParallel.TwoRanksAverageGradientsLikeOneProcessOnBothRanksClips";
  auto groups = ConnectRank(1);
  ASSERT_NE(groups, nullptr);
  const int rank = groups->rank();
  DataParallel dp(groups, StrategyOptions{.first_bucket_bytes = 1 << 16, .bucket_bytes = 1 << 18});
  generator::SeedVR2Generator g = TinyGenerator();
  std::vector<at::Tensor> params;
  for (const auto& [name, p] : g.NamedParameters()) params.push_back(p);
  dp.Attach(Role::kGenerator, params);
  // Two micro-batches per rank, reduced on the last one only.
  for (int a = 0; a < 2; ++a) {
    at::Tensor loss = Loss(g, MakeBatch(2 * rank + a)) / 2;
    if (a == 1) dp.PrepareBackward(Role::kGenerator, loss);
    loss.backward();
  }
  // One process over both ranks' clips.
  generator::SeedVR2Generator reference = TinyGenerator();
  for (int i = 0; i < 4; ++i) (Loss(reference, MakeBatch(i)) / 4).backward();
  const auto ref = reference.NamedParameters();
  for (size_t i = 0; i < params.size(); ++i) {
    ASSERT_TRUE(params[i].grad().defined()) << ref[i].first;
    const at::Tensor want = ref[i].second.grad();
    const double err = (params[i].grad() - want).norm().item<double>() / want.norm().item<double>();
    EXPECT_LT(err, 1e-6) << ref[i].first;
  }
  std::vector<double> metrics = {static_cast<double>(rank), 1.0};
  ASSERT_TRUE(dp.Average(metrics).ok());
  EXPECT_EQ(metrics, (std::vector<double>{0.5, 1.0}));
  EXPECT_TRUE(dp.Agree(1.25, std::chrono::seconds(30), "a test point").ok());
  const absl::Status differ = dp.Agree(rank, std::chrono::seconds(30), "a test point");
  EXPECT_NE(std::string(differ.message()).find("diverged"), std::string::npos) << differ;
}

TEST(DataParallel, TwoRanksAverageGradientsLikeOneProcessOnBothRanksClips) {
  if (IsRankWorker()) GTEST_SKIP();
  RunRanks("DataParallelGradients", 2);
}

TEST(LaunchEnv, ErrorsNameTheVariable) {
  if (IsRankWorker()) GTEST_SKIP();
  auto expect_error = [](std::vector<std::pair<const char*, const char*>> vars, const std::string& name) {
    for (const char* v : {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "LOCAL_RANK"}) ::unsetenv(v);
    for (const auto& [k, v] : vars) ::setenv(k, v, 1);
    auto env = LaunchEnv::FromEnvironment();
    ASSERT_FALSE(env.ok()) << name;
    EXPECT_NE(std::string(env.status().message()).find(name), std::string::npos) << env.status();
  };
  expect_error({{"WORLD_SIZE", "two"}}, "WORLD_SIZE");
  expect_error({{"WORLD_SIZE", "2"}, {"RANK", "2"}}, "RANK");
  expect_error({{"WORLD_SIZE", "2"}, {"RANK", "1"}}, "MASTER_ADDR");
  expect_error({{"WORLD_SIZE", "2"}, {"RANK", "1"}, {"MASTER_ADDR", "x"}, {"MASTER_PORT", "70000"}}, "MASTER_PORT");
  for (const char* v : {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"}) ::unsetenv(v);
  auto plain = LaunchEnv::FromEnvironment();
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->world_size, 1);
  LaunchEnv three;
  three.world_size = 3;
  GroupOptions o;
  o.sp_size = 2;
  auto groups = ProcessGroups::Create(three, o);
  ASSERT_FALSE(groups.ok());
  EXPECT_NE(std::string(groups.status().message()).find("parallel.sp_size"), std::string::npos);
}

}  // namespace
}  // namespace seedvr::parallel

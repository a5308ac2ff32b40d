#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/utils.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "seedvr/testing/disk_full.h"
#include "seedvr/testing/fixtures.h"
#include "seedvr/train/adamw.h"
#include "seedvr/train/ema.h"
#include "seedvr/train/monitor.h"

namespace seedvr::train {
namespace {

TEST(AdamW, TwoStepsByHand) {
  at::Tensor p = at::tensor({1.0, -2.0}, at::kDouble).requires_grad_(true);
  AdamW opt({{"p", p}}, AdamWOptions{0.1, 0.9, 0.99, 1e-8, 0.01});
  double m[2] = {0, 0}, v[2] = {0, 0}, x[2] = {1.0, -2.0};
  const double g[2][2] = {{0.5, -1.0}, {0.25, 2.0}};
  for (int t = 1; t <= 2; ++t) {
    p.mutable_grad() = at::tensor({g[t - 1][0], g[t - 1][1]}, at::kDouble);
    opt.Step();
    for (int i = 0; i < 2; ++i) {
      x[i] *= 1 - 0.1 * 0.01;
      m[i] = 0.9 * m[i] + 0.1 * g[t - 1][i];
      v[i] = 0.99 * v[i] + 0.01 * g[t - 1][i] * g[t - 1][i];
      const double mh = m[i] / (1 - std::pow(0.9, t)), vh = v[i] / (1 - std::pow(0.99, t));
      x[i] -= 0.1 * mh / (std::sqrt(vh) + 1e-8);
    }
  }
  EXPECT_NEAR(p[0].item<double>(), x[0], 1e-12);
  EXPECT_NEAR(p[1].item<double>(), x[1], 1e-12);
}

TEST(AdamW, StateRoundTripsAndIsChecked) {
  at::Tensor a = at::randn({3}).requires_grad_(true), b = at::randn({2, 2}).requires_grad_(true);
  AdamW opt({{"a", a}, {"b", b}}, {});
  a.mutable_grad() = at::ones({3});
  b.mutable_grad() = at::ones({2, 2});
  opt.Step();
  AdamW other({{"a", a.detach().clone()}, {"b", b.detach().clone()}}, {});
  auto same = other.LoadState(opt.State(), "test");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, "");
  EXPECT_EQ(other.steps(), 1);
  // The options it was built with (the run's config) win, and the change is
  // reported: lowering the lr on resume must take effect.
  AdamWOptions lower;
  lower.lr = 5e-5;
  AdamW resumed({{"a", a.detach().clone()}, {"b", b.detach().clone()}}, lower);
  auto changed = resumed.LoadState(opt.State(), "test");
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(resumed.options().lr, 5e-5);
  EXPECT_EQ(*changed, "lr 0.0001 -> 5e-05");
  AdamW wrong({{"a", a.detach().clone()}}, {});
  auto s = wrong.LoadState(opt.State(), "ckpt.pth");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("ckpt.pth"), std::string::npos);
}

TEST(AdamW, ClipsTheGlobalNorm) {
  at::Tensor a = at::zeros({2}).requires_grad_(true);
  AdamW opt({{"a", a}}, {});
  a.mutable_grad() = at::tensor({3.0f, 4.0f});
  EXPECT_NEAR(opt.ClipGradNorm(1.0), 5.0, 1e-6);
  EXPECT_NEAR(a.grad().norm().item<float>(), 1.0, 1e-5);
}

TEST(Ema, FollowsTheWeights) {
  at::Tensor w = at::zeros({2}).requires_grad_(true);
  Ema ema({{"w", w}}, 0.9, /*warmup=*/false);
  { torch::NoGradGuard g; w.fill_(1.0); }
  ema.Update(0);
  ema.Update(1);
  // 0 -> 0.1 -> 0.19
  EXPECT_NEAR(ema.weights()[0].tensor[0].item<float>(), 0.19, 1e-6);
  EXPECT_EQ(ema.weights()[0].name, "w");
}

// Warm-up d_n = min(decay, (1 + n) / (10 + n)): 0.1 at the first update, the
// configured decay once (1 + n) / (10 + n) passes it (n >= 44,991 for
// 0.9998). After 1,000 updates the initial weights' share is the product of
// the decays, 9! / (1001 x ... x 1009) ~ 4e-22, instead of 0.9998^1000 = 0.82.
TEST(Ema, WarmUpForgetsTheInitialWeights) {
  at::Tensor w = at::zeros({1}).requires_grad_(true);
  Ema ema({{"w", w}}, 0.9998, /*warmup=*/true);
  EXPECT_DOUBLE_EQ(ema.DecayAt(0), 0.1);
  EXPECT_DOUBLE_EQ(ema.DecayAt(90), 91.0 / 100.0);
  EXPECT_DOUBLE_EQ(ema.DecayAt(50000), 0.9998);
  {
    torch::NoGradGuard g;
    w.fill_(1.0);
  }
  double initial_share = 1;
  for (int64_t n = 0; n < 1000; ++n) {
    ema.Update(n);
    initial_share *= ema.DecayAt(n);
  }
  EXPECT_LT(initial_share, 1e-3);
  EXPECT_NEAR(ema.weights()[0].tensor[0].item<float>(), 1 - initial_share, 1e-5);
}

TEST(Monitor, WritesJsonlAndPlotAndStopsOnNaN) {
  std::string dir = testing::TempDir() + "/monitor";
  {
    Monitor m({dir, 3, 1, false});
    ASSERT_TRUE(m.Record(1, {{"d_adv", 1.2}, {"g_adv", 0.7}}).ok());
    ASSERT_TRUE(m.Record(2, {{"d_adv", 1.1}, {"g_adv", 0.6}}).ok());
    auto nan = m.Record(3, {{"d_adv", std::nan("")}});
    ASSERT_FALSE(nan.ok());
    EXPECT_NE(nan.message().find("d_adv"), std::string::npos);
    ASSERT_TRUE(m.WritePlot().ok());
  }
  std::ifstream log(dir + "/train_log.jsonl");
  std::string line1;
  std::getline(log, line1);
  EXPECT_EQ(line1, "{\"step\":1,\"d_adv\":1.2,\"g_adv\":0.7}");
  std::ifstream html(dir + "/loss_curves.html");
  std::string all((std::istreambuf_iterator<char>(html)), {});
  EXPECT_NE(all.find("<polyline"), std::string::npos);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Resuming at step 3 of a log the interrupted run wrote up to step 5: steps
// 4 and 5 go (the resumed run writes them again), nothing repeats.
TEST(Monitor, ResumeCutsTheLogBackToTheResumedStep) {
  const std::string dir = testing::TempDir() + "/monitor_resume";
  {
    Monitor first({dir, 10, 1, false});
    for (int64_t step = 1; step <= 5; ++step) ASSERT_TRUE(first.Record(step, {{"g_l1", 0.5}}).ok());
  }
  {
    Monitor resumed({dir, 10, 1, false, 200, /*resume_step=*/3});
    ASSERT_TRUE(resumed.Record(4, {{"g_l1", 0.25}}).ok());
  }
  EXPECT_EQ(ReadAll(dir + "/train_log.jsonl"),
            "{\"step\":1,\"g_l1\":0.5}\n{\"step\":2,\"g_l1\":0.5}\n{\"step\":3,\"g_l1\":0.5}\n"
            "{\"step\":4,\"g_l1\":0.25}\n");
  // Resuming at the log's last step keeps it whole; a new run starts it over.
  { Monitor at_end({dir, 10, 1, false, 200, /*resume_step=*/4}); }
  const std::string kept = ReadAll(dir + "/train_log.jsonl");
  EXPECT_EQ(std::count(kept.begin(), kept.end(), '\n'), 4);
  { Monitor fresh({dir, 10, 1, false}); }
  EXPECT_EQ(ReadAll(dir + "/train_log.jsonl"), "");
}

// A full disk: the log's failed write is reported once (not at every step),
// training goes on, and recovery is reported.
TEST(Monitor, AFailedLogWriteWarnsOnceAndTrainingGoesOn) {
  const std::string dir = testing::TempDir() + "/monitor_full";
  Monitor m({dir, 10, 100, false});
  ASSERT_TRUE(m.Record(1, {{"g_l1", 0.5}}).ok());
  // The terminal goes to a pipe: the size limit would fail a file capturing it.
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  std::fflush(stdout);
  const int saved_stdout = ::dup(STDOUT_FILENO);
  ::dup2(pipe_fds[1], STDOUT_FILENO);
  {
    testing::FileSizeLimit disk(ReadAll(dir + "/train_log.jsonl").size());
    for (int64_t step = 2; step <= 4; ++step) EXPECT_TRUE(m.Record(step, {{"g_l1", 0.5}}).ok());
  }
  ASSERT_TRUE(m.Record(5, {{"g_l1", 0.5}}).ok());
  std::fflush(stdout);
  ::dup2(saved_stdout, STDOUT_FILENO);
  ::close(saved_stdout);
  ::close(pipe_fds[1]);
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0;) out.append(buffer, n);
  ::close(pipe_fds[0]);
  EXPECT_NE(out.find("warning: cannot write " + dir + "/train_log.jsonl at step 2"), std::string::npos) << out;
  EXPECT_EQ(out.find("at step 3"), std::string::npos) << out;
  EXPECT_NE(out.find("works again from step 5"), std::string::npos) << out;
  EXPECT_NE(ReadAll(dir + "/train_log.jsonl").find("{\"step\":5,"), std::string::npos);
}

}  // namespace
}  // namespace seedvr::train

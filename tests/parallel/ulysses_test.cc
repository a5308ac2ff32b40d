// Ulysses sequence parallelism on real processes (Gloo on the CPU, each rank
// a copy of this binary, testing/ranks.h): the DiT with its tokens split over
// the ranks equals one process on the official-code parity fixtures, forward
// within 1e-5 and gradients within 1e-4 relative. dit3b_a (3B path) and
// dit7b_a (7B path) run on 2 ranks; dit3b_d (two samples, 3 heads, shards
// that need padding) on 3, with gradient checkpointing.
#include "seedvr/parallel/ulysses.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include <map>
#include <string>
#include <vector>

#include "seedvr/config/model_config.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/models/dit/dit_weights.h"
#include "seedvr/models/dit/nadit.h"
#include "seedvr/testing/ranks.h"

namespace seedvr::parallel {
namespace {

using testing::IsRankWorker;
using testing::RunRanks;

dit::NaDiT LoadFixtureModel(const std::string& name) {
  auto c = config::LoadDiTConfigFile(testing::FixturePath(name + "/config.yaml"));
  EXPECT_TRUE(c.ok()) << c.status();
  dit::NaDiT model(*c);
  auto s = dit::LoadDiTWeightsFile(*model, testing::FixturePath(name + "/weights.safetensors"));
  EXPECT_TRUE(s.ok()) << s;
  return model;
}

// out = DiT(io), and the gradients of sum(out * grad_seed) with respect to
// vid and every parameter (zeros where a parameter is unused), flattened.
struct Result {
  at::Tensor out;
  std::vector<at::Tensor> grads;
};

Result Run(dit::NaDiT& model, const std::map<std::string, at::Tensor>& io) {
  at::Tensor vid = io.at("vid").clone().requires_grad_(true);
  Result r;
  r.out = model->forward(vid, io.at("vid_shape"), io.at("txt"), io.at("txt_shape"), io.at("timestep"));
  std::vector<at::Tensor> wrt = {vid};
  for (const auto& p : model->parameters()) wrt.push_back(p);
  auto grads = torch::autograd::grad({(r.out * io.at("grad_seed")).sum()}, wrt, {}, false, false,
                                     /*allow_unused=*/true);
  for (size_t i = 0; i < grads.size(); ++i) r.grads.push_back(grads[i].defined() ? grads[i] : at::zeros_like(wrt[i]));
  return r;
}

void CheckCase(const std::string& name, int sp_size, bool checkpointing) {
  auto groups = testing::ConnectRank(sp_size);
  ASSERT_NE(groups, nullptr);
  ASSERT_EQ(groups->sp_size(), sp_size);
  auto io_list = core::ReadSafetensors(testing::FixturePath(name + "/io.safetensors"));
  ASSERT_TRUE(io_list.ok()) << io_list.status();
  std::map<std::string, at::Tensor> io;
  for (const auto& t : *io_list) io[t.name] = t.tensor;

  dit::NaDiT one = LoadFixtureModel(name), split = LoadFixtureModel(name);
  one->set_gradient_checkpointing(checkpointing);
  split->set_gradient_checkpointing(checkpointing);
  split->set_sequence_parallel(MakeSequenceParallel(*groups));
  const Result want = Run(one, io), got = Run(split, io);

  ASSERT_EQ(got.out.sizes(), want.out.sizes());
  const double out_diff = (got.out - want.out).abs().max().item<double>();
  EXPECT_LE(out_diff, 1e-5);
  EXPECT_LE((got.out - io.at("out")).abs().max().item<double>(), 1e-4);

  // Each rank holds its share of the sum of the ranks' gradients (ulysses.h):
  // summed over the group and divided by sp, they are one process's.
  std::vector<at::Tensor> flat;
  for (const auto& g : got.grads) flat.push_back(g.reshape(-1));
  std::vector<at::Tensor> all = {at::cat(flat)};
  ASSERT_TRUE(Wait(*groups->sequence_parallel()->allreduce(all), std::chrono::seconds(60), "summing gradients").ok());
  all[0].div_(sp_size);
  const auto names = split->named_parameters().keys();
  int64_t offset = 0;
  double worst = 0;
  for (size_t i = 0; i < want.grads.size(); ++i) {
    const at::Tensor& ref = want.grads[i];
    const at::Tensor g = all[0].narrow(0, offset, ref.numel()).view_as(ref);
    offset += ref.numel();
    const double scale = ref.abs().max().item<double>();
    if (scale == 0) {
      EXPECT_EQ(g.abs().max().item<double>(), 0) << (i == 0 ? "vid" : names[i - 1]);
      continue;
    }
    const double rel = (g - ref).abs().max().item<double>() / scale;
    worst = std::max(worst, rel);
    EXPECT_LE(rel, 1e-4) << (i == 0 ? "vid" : names[i - 1]);
  }
  std::printf("%s, sp %d: out max|diff| %.3e, worst gradient relative max|diff| %.3e over %zu tensors\n", name.c_str(),
              sp_size, out_diff, worst, want.grads.size());
}

TEST(Worker, DiT3B) {
  if (!IsRankWorker()) GTEST_SKIP() << "a rank of Ulysses.TwoRanksEqualOneProcess";
  CheckCase("dit3b_a", 2, false);
}

TEST(Worker, DiT7B) {
  if (!IsRankWorker()) GTEST_SKIP() << "a rank of Ulysses.TwoRanksEqualOneProcess";
  CheckCase("dit7b_a", 2, false);
}

TEST(Worker, DiT3BTwoSamples) {
  if (!IsRankWorker()) GTEST_SKIP() << "a rank of Ulysses.ThreeRanksPaddedShardsTwoSamplesCheckpointed";
  CheckCase("dit3b_d", 3, true);
}

TEST(Ulysses, TwoRanksEqualOneProcess) {
  if (IsRankWorker()) GTEST_SKIP();
  RunRanks("DiT3B", 2);
  RunRanks("DiT7B", 2);
}

TEST(Ulysses, ThreeRanksPaddedShardsTwoSamplesCheckpointed) {
  if (IsRankWorker()) GTEST_SKIP();
  RunRanks("DiT3BTwoSamples", 3);
}

}  // namespace
}  // namespace seedvr::parallel

// The data-parallel gradient all-reduce, through the trainer's own strategy
// (parallel::DataParallel: c10d's Reducer, bucketed, launched from backward
// hooks), for two gradient sets:
//   tiny  the configs/tiny.yaml generator (its DiT) and patch discriminator
//   3b    one transformer block of the 3B generator (configs/train.yaml with
//         one layer, an MM block: the embeddings, the block and the output
//         layer); the whole 3B reduces at most num_layers (32) times this
//         set, which at 12 GB of fp32 gradients does not fit two ranks here
// at bucket sizes of 1, 5, 25 (PyTorch DDP's default) and 100 MiB. Each
// iteration is one backward whose gradients are all-reduced; the baseline
// (bucket_mb 0) is the same backward on one process with nothing to reduce.
// bytes_per_second counts the fp32 gradient bytes reduced per second of wall
// time.
//
//   torchrun --standalone --nproc-per-node=2 --no-python \
//       .bazel/bin/benchmarks/parallel/allreduce_benchmark
//
// Gloo on CPU tensors; on a GPU (a --config=cuda build) the same binary
// reduces CUDA tensors with NCCL (ranks_main.h).
#include <ATen/ATen.h>
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "benchmarks/parallel/ranks_main.h"
#include "seedvr/config/config.h"
#include "seedvr/core/cli.h"
#include "seedvr/core/device.h"
#include "seedvr/models/discriminator/patch.h"
#include "seedvr/models/dit/nadit.h"
#include "seedvr/parallel/data_parallel.h"
#include "seedvr/parallel/process_groups.h"

namespace seedvr::parallel {
namespace {

[[noreturn]] void Fail(const absl::Status& status) { BenchFail(std::string(status.message())); }

// The parameters of a gradient set, built once, on the benchmark's device.
const std::vector<at::Tensor>& GradientSet(const std::string& name) {
  static std::map<std::string, std::vector<at::Tensor>> sets;
  auto it = sets.find(name);
  if (it != sets.end()) return it->second;
  const std::string file = name == "tiny" ? "configs/tiny.yaml" : "configs/train.yaml";
  auto c = config::LoadTrainConfig(file, {});
  if (!c.ok()) Fail(c.status());
  if (name == "3b") {
    c->model.num_layers = 1;
    c->model.mm_layers = 1;  // a block with separate video and text weights, the larger kind
    for (auto* per_layer : {&c->model.block_type, &c->model.window_method}) per_layer->resize(1);
    c->model.window.resize(1);
  }
  at::manual_seed(0);
  std::vector<at::Tensor> params;
  dit::NaDiT dit(c->model);
  dit->to(BenchDevice());
  for (const auto& p : dit->parameters()) params.push_back(p);
  if (name == "tiny") {
    auto d = discriminator::PatchDiscriminatorImpl::FromConfig(*c, {});
    if (!d.ok()) Fail(d.status());
    (*d)->to(BenchDevice());
    for (const auto& p : (*d)->parameters()) params.push_back(p);
  }
  return sets[name] = params;
}

// A loss whose backward writes a gradient for every parameter and costs
// little beyond it, so the time is the reduction's.
at::Tensor Loss(const std::vector<at::Tensor>& params) {
  at::Tensor loss = at::zeros({}, params[0].options());
  for (const at::Tensor& p : params) loss = loss + p.sum();
  return loss;
}

void BM_GradientAllReduce(benchmark::State& state, const std::string& set) {
  const std::vector<at::Tensor>& params = GradientSet(set);
  const int64_t bucket_mb = state.range(0);
  int64_t bytes = 0;
  for (const at::Tensor& p : params) bytes += p.numel() * 4;
  std::unique_ptr<DataParallel> dp;
  if (bucket_mb > 0) {
    dp = std::make_unique<DataParallel>(BenchGroups(), StrategyOptions{.bucket_bytes = bucket_mb << 20});
    dp->Attach(Role::kGenerator, params);
  }
  for (auto _ : state) {
    at::Tensor loss = Loss(params);
    if (dp) dp->PrepareBackward(Role::kGenerator, loss);
    loss.backward();
    core::Synchronize(BenchDevice());
    for (const at::Tensor& p : params) const_cast<at::Tensor&>(p).mutable_grad() = at::Tensor();
  }
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["ranks"] = BenchGroups()->dp_size();
  state.counters["grad_MiB"] = static_cast<double>(bytes) / (1 << 20);
}

BENCHMARK_CAPTURE(BM_GradientAllReduce, tiny, std::string("tiny"))
    ->Arg(0)
    ->Arg(1)
    ->Arg(5)
    ->Arg(25)
    ->Arg(100)
    ->Iterations(20)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_GradientAllReduce, 3b_one_block, std::string("3b"))
    ->Arg(0)
    ->Arg(1)
    ->Arg(5)
    ->Arg(25)
    ->Arg(100)
    ->Iterations(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace seedvr::parallel

int main(int argc, char** argv) { return seedvr::parallel::RunBenchmarksOnRanks(argc, argv, /*sp_size=*/1); }

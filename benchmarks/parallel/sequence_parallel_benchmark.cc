// One attention layer of the DiT (qkv projection, attention over one window
// of L video tokens, output projection), forward and backward, split over
// the ranks of a torchrun launch three ways:
//   one_rank      the whole sequence on rank 0 (the others wait): sp = 1
//   ulysses       each rank projects its L/N tokens; an all-to-all trades
//                 the sequence split for a head split before attention and
//                 back after it (parallel/ulysses.h, what the trainer runs)
//   allgather_kv  each rank keeps its L/N queries with every head and
//                 all-gathers K and V (reduce-scatter in backward)
// at L = 1024, 2048 and 4096 tokens. Width: 8 heads x 64 (the CPU here
// cannot run the 3B's 20 x 128 at these lengths in a benchmark's time; the
// exchanged bytes scale with width). Counters: MiB each rank sends per
// iteration, forward and backward (Ulysses: 2 x 4 c H D (N-1)/N values;
// all-gather: 2 x 2 c H D (N-1), c = L/N), and the ranks.
//
//   torchrun --standalone --nproc-per-node=2 --no-python \
//       .bazel/bin/benchmarks/parallel/sequence_parallel_benchmark
//
// Gloo on the CPU; NCCL on GPUs (ranks_main.h). Iterations are fixed.
#include <ATen/ATen.h>
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <string>

#include "benchmarks/parallel/ranks_main.h"
#include "seedvr/models/dit/attention.h"
#include "seedvr/parallel/ulysses.h"

namespace seedvr::parallel {
namespace {

constexpr int64_t kHeads = 8, kHeadDim = 64, kDim = kHeads * kHeadDim;

enum class Variant { kOneRank, kUlysses, kAllGatherKV };

// Full attention of q over k, v: [n, h, D] x [L, h, D] -> [n, h * D].
at::Tensor Attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  return dit::SegmentAttention(q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0), kHeadDim)
      .squeeze(0)
      .reshape({q.size(0), -1});
}

// The layer on this rank's tokens x [n, dim] of a sequence of `length`.
at::Tensor Layer(Variant variant, const at::Tensor& x, int64_t length, const at::Tensor& w_qkv, const at::Tensor& w_out,
                 const SequenceParallelHandle& sp) {
  at::Tensor qkv = at::linear(x, w_qkv).view({x.size(0), 3, kHeads, kHeadDim});
  at::Tensor o;
  switch (variant) {
    case Variant::kOneRank:
      o = Attend(qkv.select(1, 0), qkv.select(1, 1), qkv.select(1, 2));
      break;
    case Variant::kUlysses: {
      at::Tensor t = SequenceToHeads(qkv, length, sp);  // [L, 3, H/N, D]
      at::Tensor a = Attend(t.select(1, 0), t.select(1, 1), t.select(1, 2));
      o = HeadsToSequence(a.view({length, 1, kHeads / sp->size, kHeadDim}), sp).view({-1, kDim});
      break;
    }
    case Variant::kAllGatherKV: {
      at::Tensor kv = GatherSequence(qkv.narrow(1, 1, 2), length, sp);  // [L, 2, H, D]
      o = Attend(qkv.select(1, 0), kv.select(1, 0), kv.select(1, 1));
      break;
    }
  }
  return at::linear(o, w_out);
}

void BM_AttentionLayer(benchmark::State& state, Variant variant) {
  const std::shared_ptr<ProcessGroups>& groups = BenchGroups();
  SequenceParallelHandle sp = MakeSequenceParallel(*groups);
  const int ranks = groups->sp_size();
  const int64_t length = state.range(0);
  const auto opts = at::TensorOptions().device(BenchDevice());
  at::manual_seed(0);  // the same weights and tokens on every rank
  at::Tensor w_qkv = (at::randn({3 * kDim, kDim}) * 0.02).to(opts).requires_grad_(true);
  at::Tensor w_out = (at::randn({kDim, kDim}) * 0.02).to(opts).requires_grad_(true);
  at::Tensor tokens = at::randn({length, kDim}).to(opts);
  const bool split = variant != Variant::kOneRank && sp;
  at::Tensor x = split ? ScatterSequence(tokens, sp).contiguous() : tokens;
  const bool idle = variant == Variant::kOneRank && groups->rank() != 0;
  for (auto _ : state) {
    if (idle) continue;
    at::Tensor y = Layer(split ? variant : Variant::kOneRank, x, length, w_qkv, w_out, sp);
    y.sum().backward();
    core::Synchronize(BenchDevice());
    w_qkv.mutable_grad() = at::Tensor();
    w_out.mutable_grad() = at::Tensor();
  }
  const double c = static_cast<double>((length + ranks - 1) / ranks) * kDim;  // c H D values
  double sent = 0;
  if (variant == Variant::kUlysses) sent = 2 * 4 * c * (ranks - 1) / ranks;
  if (variant == Variant::kAllGatherKV) sent = 2 * 2 * c * (ranks - 1);
  state.counters["MiB_sent_per_rank"] = sent * 4 / (1 << 20);
  state.counters["ranks"] = variant == Variant::kOneRank ? 1 : ranks;
  // Every rank leaves the case together, so the next one starts aligned.
  if (auto s = CheckAgreement(*groups, 0, std::chrono::minutes(5), "the end of a case"); !s.ok()) {
    BenchFail(std::string(s.message()));
  }
}

// Sequence lengths and fixed iterations, the same for every variant.
void Lengths(benchmark::internal::Benchmark* b) {
  b->Arg(1024)->Arg(2048)->Arg(4096)->Iterations(3)->UseRealTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK_CAPTURE(BM_AttentionLayer, one_rank, Variant::kOneRank)->Apply(Lengths);
BENCHMARK_CAPTURE(BM_AttentionLayer, ulysses, Variant::kUlysses)->Apply(Lengths);
BENCHMARK_CAPTURE(BM_AttentionLayer, allgather_kv, Variant::kAllGatherKV)->Apply(Lengths);

}  // namespace
}  // namespace seedvr::parallel

int main(int argc, char** argv) { return seedvr::parallel::RunBenchmarksOnRanks(argc, argv, /*sp_size=*/0); }

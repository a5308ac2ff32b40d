// Microbenchmarks of the SeedVR2 DiT on the CPU:
//   - forward and forward+backward of the tiny fixture configuration
//     (dit3b_a: vid_dim 64, 4 layers, latent 3x12x20) and of a medium 3B-path
//     configuration (vid_dim 512, 8 heads x 64, 8 layers, latent 5x32x32);
//   - the window attention core, batched by window shape (the model's path,
//     with and without its per-call token budget) against the natural
//     per-window loop: a 720p-like token grid (18 regular windows of ~405
//     tokens, or 32 shifted windows) and a batch of 16 small samples.
// Forward and forward+backward report the GFLOP/s of the model's matrix
// products and their fraction of the fp32 GEMM rate measured in the same
// run (gemm_frac). Random weights: speed does not depend on their values.
//
//   bazel run -c opt //benchmarks/dit:dit_benchmark
#include <ATen/ATen.h>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "benchmarks/common/gemm_rate.h"
#include "seedvr/models/dit/dit_memory.h"
#include "seedvr/models/dit/nadit.h"

namespace seedvr::dit {
namespace {

dit::DiTConfig BaseConfig(int64_t dim, int64_t heads, int64_t head_dim, int64_t layers, int64_t rope_dim) {
  dit::DiTConfig c;
  c.vid_dim = dim;
  c.txt_dim = dim;
  c.emb_dim = 6 * dim;
  c.heads = heads;
  c.head_dim = head_dim;
  c.rope_dim = rope_dim;
  c.num_layers = layers;
  c.mm_layers = layers / 2;
  c.txt_in_dim = 40;
  c.block_type.assign(layers, "mmdit_sr");
  c.window.assign(layers, {4, 3, 3});
  for (int64_t i = 0; i < layers; ++i) {
    c.window_method.push_back(i % 2 ? "720pswin_by_size_bysize" : "720pwin_by_size_bysize");
  }
  return c;
}

struct Inputs {
  at::Tensor vid, vid_shape, txt, txt_shape, timestep;
};

Inputs MakeInputs(const Grid3& latent, int64_t txt_len, int64_t txt_dim) {
  Inputs in;
  in.vid = at::randn({latent[0] * latent[1] * latent[2], 33});
  in.vid_shape = at::tensor({latent[0], latent[1], latent[2]}, at::kLong).view({1, 3});
  in.txt = at::randn({txt_len, txt_dim});
  in.txt_shape = at::tensor({txt_len}, at::kLong).view({1, 1});
  in.timestep = at::tensor({1000.0f});
  return in;
}

// range(0): 0 = tiny, 1 = medium.
struct Setup {
  NaDiT model{nullptr};
  Inputs in;
  double forward_flops = 0;  // of the model's matrix products (dit_memory.h)
  explicit Setup(int64_t which) {
    at::manual_seed(0);
    const DiTConfig c = which == 0 ? BaseConfig(64, 2, 32, 4, 32) : BaseConfig(512, 8, 64, 8, 64);
    const Grid3 grid = which == 0 ? Grid3{3, 12, 20} : Grid3{5, 32, 32};
    const int64_t text = which == 0 ? 7 : 32;
    model = NaDiT(c);
    in = MakeInputs(grid, text, 40);
    const Grid3 tokens{grid[0] / c.patch_size[0], grid[1] / c.patch_size[1], grid[2] / c.patch_size[2]};
    forward_flops = DiTForwardFlops(c, tokens, text, 1);
    model->eval();
  }
};

// GFLOP/s of the model's matrix products and their fraction of the fp32
// GEMM rate measured in the same run, over `seconds` of wall time (the model
// runs on every thread); `passes` = 1 (forward) or 3 (forward + backward,
// the backward counted as twice the forward).
void ReportGemmFraction(benchmark::State& state, double forward_flops, double passes, double seconds) {
  const double rate = benchmarks::GemmRate();
  const double flops_per_second = forward_flops * passes * static_cast<double>(state.iterations()) / seconds;
  state.counters["gflops"] = flops_per_second / 1e9;
  state.counters["gemm_gflops"] = rate / 1e9;
  state.counters["gemm_frac"] = flops_per_second / rate;
}

// Seconds of wall time `body` takes.
template <typename F>
double Seconds(F&& body) {
  const auto t0 = std::chrono::steady_clock::now();
  body();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void BM_Forward(benchmark::State& state) {
  Setup s(state.range(0));
  at::NoGradGuard no_grad;
  double seconds = 0;
  for (auto _ : state) {
    seconds += Seconds([&] {
      auto out = s.model->forward(s.in.vid, s.in.vid_shape, s.in.txt, s.in.txt_shape, s.in.timestep);
      benchmark::DoNotOptimize(out.data_ptr());
    });
  }
  ReportGemmFraction(state, s.forward_flops, 1, seconds);
  state.SetLabel(state.range(0) == 0 ? "tiny 3x12x20" : "medium 5x32x32 d512 L8");
}
BENCHMARK(BM_Forward)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ForwardBackward(benchmark::State& state) {
  Setup s(state.range(0));
  s.model->set_gradient_checkpointing(state.range(1) != 0);
  double seconds = 0;
  for (auto _ : state) {
    seconds += Seconds([&] {
      auto vid = s.in.vid.clone().requires_grad_(true);
      auto out = s.model->forward(vid, s.in.vid_shape, s.in.txt, s.in.txt_shape, s.in.timestep);
      out.sum().backward();
      benchmark::DoNotOptimize(vid.grad().data_ptr());
    });
  }
  s.model->zero_grad();
  ReportGemmFraction(state, s.forward_flops, 3, seconds);
  state.SetLabel(std::string(state.range(0) == 0 ? "tiny" : "medium") +
                 (state.range(1) ? " checkpointed" : ""));
}
BENCHMARK(BM_ForwardBackward)->Args({0, 0})->Args({1, 0})->Args({1, 1})->Unit(benchmark::kMillisecond)->UseRealTime();

// Window attention core at 8 heads x 64 with 3B RoPE and 32 text tokens per
// sample. range(0): 0 = one (2, 45, 80) token grid, regular windows (18
// windows of ~405 tokens); 1 = same grid, shifted windows (32 windows, 9
// shapes); 2 = 16 samples of (1, 6, 10) tokens (16 windows of 60 tokens).
// range(1) (batched only): max tokens per attention call; 0 = unlimited
// (one call per window shape).
struct AttentionSetup {
  SequenceLayout layout;
  WindowPlan plan;
  AttentionContext ctx;
  at::Tensor q_v, k_v, v_v, q_t, k_t, v_t;
  struct LoopWindow {
    int64_t sample;
    at::Tensor index;
    RopeTable rope;
  };
  std::vector<LoopWindow> windows;

  explicit AttentionSetup(int64_t which) {
    at::manual_seed(0);
    const int64_t lt = 32, h = 8, d = 64;
    std::vector<Grid3> grids = which == 2 ? std::vector<Grid3>(16, Grid3{1, 6, 10}) : std::vector<Grid3>{{2, 45, 80}};
    const auto method = which == 1 ? WindowMethod::kShifted720p : WindowMethod::kRegular720p;
    const at::Tensor freqs = LangRopeFreqs(64 / 3);
    layout = SequenceLayout::Make(grids, std::vector<int64_t>(grids.size(), lt));
    // The natural loop has no batched-text quirk; compare like with like.
    plan = MakeWindowPlan(layout, {4, 3, 3}, method, RopeKind::kMMLang3d, freqs, /*mm_text_quirk=*/false);
    ctx.plan = &plan;
    const int64_t lv = layout.vid_total, ltt = layout.txt_total;
    q_v = at::randn({lv, h, d});
    k_v = at::randn({lv, h, d});
    v_v = at::randn({lv, h, d});
    q_t = at::randn({ltt, h, d});
    k_t = at::randn({ltt, h, d});
    v_t = at::randn({ltt, h, d});
    for (int64_t b = 0; b < layout.batch(); ++b) {
      const Grid3& grid = layout.vid_grid[b];
      for (const auto& w : plan.windows[b]) {
        std::vector<int64_t> idx;
        for (int64_t t = w.begin[0]; t < w.end[0]; ++t)
          for (int64_t y = w.begin[1]; y < w.end[1]; ++y)
            for (int64_t x = w.begin[2]; x < w.end[2]; ++x)
              idx.push_back(layout.vid_offset[b] + (t * grid[1] + y) * grid[2] + x);
        windows.push_back({b, at::tensor(c10::ArrayRef<int64_t>(idx), at::kLong),
                           WindowRopeTable(RopeKind::kMMLang3d, freqs, w.shape(), lt)});
      }
    }
  }

  // The natural loop: one attention call per (window || text) segment.
  std::pair<at::Tensor, at::Tensor> Loop() const {
    const int64_t h = q_v.size(1), d = q_v.size(2);
    auto vid_o = at::empty({q_v.size(0), h * d});
    auto txt_o = at::zeros({q_t.size(0), h * d});
    for (const auto& w : windows) {
      const int64_t n = w.index.numel(), lt = layout.txt_len[w.sample], off = layout.txt_offset[w.sample];
      auto q = at::cat({ApplyRope(q_v.index_select(0, w.index), w.rope), q_t.narrow(0, off, lt)}).unsqueeze(0);
      auto k = at::cat({ApplyRope(k_v.index_select(0, w.index), w.rope), k_t.narrow(0, off, lt)}).unsqueeze(0);
      auto v = at::cat({v_v.index_select(0, w.index), v_t.narrow(0, off, lt)}).unsqueeze(0);
      auto o = SegmentAttention(q, k, v, d).squeeze(0).reshape({n + lt, h * d});
      vid_o.index_copy_(0, w.index, o.narrow(0, 0, n));
      txt_o.narrow(0, off, lt).add_(o.narrow(0, n, lt) / static_cast<double>(plan.windows[w.sample].size()));
    }
    return {vid_o, txt_o};
  }
};

const char* AttentionCase(int64_t which) {
  return which == 0 ? "2x45x80 regular" : which == 1 ? "2x45x80 shifted" : "16 x 1x6x10";
}

void BM_WindowAttentionBatched(benchmark::State& state) {
  AttentionSetup s(state.range(0));
  s.ctx.max_tokens_per_call = state.range(1) > 0 ? state.range(1) : (int64_t{1} << 40);
  at::NoGradGuard no_grad;
  int64_t calls = 0;
  for (const auto& g : s.plan.groups) {
    const int64_t per = std::max<int64_t>(1, s.ctx.max_tokens_per_call / (g.vid_len() + g.txt_len));
    calls += (g.count + per - 1) / per;
  }
  for (auto _ : state) {
    auto r = WindowedJointAttention(s.q_v, s.k_v, s.v_v, s.q_t, s.k_t, s.v_t, s.ctx, true);
    benchmark::DoNotOptimize(r.first.data_ptr());
  }
  state.SetLabel(std::string(AttentionCase(state.range(0))) + ": " + std::to_string(s.windows.size()) +
                 " windows, " + std::to_string(calls) + " calls");
}
BENCHMARK(BM_WindowAttentionBatched)
    ->Args({0, 2048})->Args({0, 0})->Args({1, 2048})->Args({1, 0})->Args({2, 2048})->Args({2, 0})
    ->Unit(benchmark::kMillisecond);

void BM_WindowAttentionLoop(benchmark::State& state) {
  AttentionSetup s(state.range(0));
  at::NoGradGuard no_grad;
  // Same numbers as the batched path (checked once, outside the timing).
  auto a = WindowedJointAttention(s.q_v, s.k_v, s.v_v, s.q_t, s.k_t, s.v_t, s.ctx, true);
  auto b = s.Loop();
  const double diff = std::max((a.first - b.first).abs().max().item<double>(),
                               (a.second - b.second).abs().max().item<double>());
  if (diff > 1e-4) state.SkipWithError("batched and per-window attention disagree");
  for (auto _ : state) {
    auto r = s.Loop();
    benchmark::DoNotOptimize(r.first.data_ptr());
  }
  state.SetLabel(std::string(AttentionCase(state.range(0))) + ": " + std::to_string(s.windows.size()) +
                 " windows, one call each");
}
BENCHMARK(BM_WindowAttentionLoop)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace seedvr::dit

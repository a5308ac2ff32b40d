// Microbenchmarks of the SeedVR causal video VAE on the CPU: encode and
// decode at a small width ([8, 16, 32, 32], the demo's) and at the full
// SeedVR widths ([128, 256, 512, 512]), each with the model's default
// kernels (Winograd F(2x2, 3x3) for the 3x3 convolutions of 128 channels or
// more, oneDNN for the rest), with oneDNN alone and with LibTorch's own
// choice of kernel (vae::SetConvKernel), so one run gives the before/after
// ratios. Built with the binaries' malloc, TCMalloc (tools/build/defs.bzl);
// glibc's, for its page faults: add
// --custom_malloc=@bazel_tools//tools/cpp:malloc.
//
// Clips: 17 x 128 x 128 at the small width, 5 x 128 x 128 at full width
// (latents 5 x 16 x 16 and 2 x 16 x 16); fp32, batch 1, no slicing, random
// weights (speed does not depend on their values), one untimed warm-up
// call per case. Counters per iteration:
//   conv_gflops   the convolutions' FLOPs / time, counting a direct
//                 convolution's FLOPs also where Winograd computes it with
//                 fewer
//   gemm_gflops   the fp32 GEMM rate measured in the same run
//                 (benchmarks/common/gemm_rate.h)
//   gemm_frac     conv_gflops / gemm_gflops (oneDNN's direct convolutions
//                 can pass 1 where they beat the BLAS's SGEMM, Winograd
//                 further)
//   page_faults   minor page faults (getrusage), i.e. fresh memory the
//                 kernel had to clear and map
//
//   bazel run -c opt //benchmarks/vae:vae_benchmark
#include <ATen/ATen.h>
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "benchmarks/common/gemm_rate.h"
#include "seedvr/models/vae/causal_conv.h"
#include "seedvr/models/vae/vae_model.h"

namespace seedvr::vae {
namespace {

int64_t MinorFaults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// range(0): 0 = small width, 1 = full width.
struct Setup {
  VideoVAE vae{nullptr};
  at::Tensor video, latents;
  explicit Setup(int64_t full) {
    at::manual_seed(0);
    VAEConfig c;
    if (!full) {
      c.block_out_channels = {8, 16, 32, 32};
      c.norm_num_groups = 4;
    }
    vae = VideoVAE(c);
    vae->eval();
    const int64_t frames = full ? 5 : 17;
    video = at::rand({1, 3, frames, 128, 128}) * 2 - 1;
    latents = at::randn({1, c.latent_channels, (frames - 1) / 4 + 1, 16, 16});
  }
};

// range(0): 0 = small width, 1 = full width. range(1): the ConvKernel
// (Cases lists kAuto, the model's default, kOneDnn and kLibTorchDefault).
template <bool kEncode>
void BM_VAE(benchmark::State& state) {
  const double rate = benchmarks::GemmRate();
  Setup s(state.range(0));
  const auto kernel = static_cast<ConvKernel>(state.range(1));
  SetConvKernel(kernel);
  VAERunOptions o;
  o.slicing = VAERunOptions::Switch::kOff;
  at::NoGradGuard no_grad;
  auto run = [&]() -> absl::Status {
    if constexpr (kEncode) {
      auto out = s.vae->Encode(s.video, o);
      if (!out.ok()) return out.status();
      benchmark::DoNotOptimize(out->mean.data_ptr());
    } else {
      auto out = s.vae->Decode(s.latents, o);
      if (!out.ok()) return out.status();
      benchmark::DoNotOptimize(out->data_ptr());
    }
    return absl::OkStatus();
  };
  if (auto st = run(); !st.ok()) return state.SkipWithError(std::string(st.message()).c_str());
  int64_t flops = 0, faults = 0;
  double seconds = 0;
  for (auto _ : state) {
    const int64_t f0 = Conv3dFlops(), p0 = MinorFaults();
    const auto t0 = std::chrono::steady_clock::now();
    if (auto st = run(); !st.ok()) return state.SkipWithError(std::string(st.message()).c_str());
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    flops += Conv3dFlops() - f0;
    faults += MinorFaults() - p0;
  }
  SetConvKernel(ConvKernel::kAuto);
  const auto n = static_cast<double>(state.iterations());
  state.counters["conv_gflops"] = flops / seconds / 1e9;
  state.counters["gemm_gflops"] = rate / 1e9;
  state.counters["gemm_frac"] = flops / seconds / rate;
  state.counters["page_faults"] = faults / n;
  state.SetLabel(std::string(state.range(0) ? "full width 5x128x128" : "small width 17x128x128") +
                 (kernel == ConvKernel::kAuto     ? ", Winograd where it pays"
                  : kernel == ConvKernel::kOneDnn ? ", oneDNN"
                                                  : ", LibTorch default"));
}

void Cases(benchmark::internal::Benchmark* b) {
  const auto k = [](ConvKernel c) { return static_cast<int64_t>(c); };
  b->ArgsProduct({{0, 1}, {k(ConvKernel::kAuto), k(ConvKernel::kOneDnn), k(ConvKernel::kLibTorchDefault)}})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}
BENCHMARK(BM_VAE<true>)->Name("BM_Encode")->Apply(Cases);
BENCHMARK(BM_VAE<false>)->Name("BM_Decode")->Apply(Cases);

}  // namespace
}  // namespace seedvr::vae

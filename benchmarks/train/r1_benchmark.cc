// Discriminator-step cost with exact R1 at several lazy intervals, against no
// R1 and against approximated R1, so the amortised price of regularisation
// is visible. One "step" is what the trainer does per D update: forward on
// real and generated latents, adversarial loss, the regulariser when due,
// backward and AdamW.
//   bazel run -c opt //benchmarks/train:r1_benchmark
#include <ATen/ATen.h>
#include <benchmark/benchmark.h>

#include "seedvr/losses/adversarial.h"
#include "seedvr/losses/regularizers.h"
#include "seedvr/models/discriminator/patch.h"
#include "seedvr/models/discriminator/video.h"
#include "seedvr/train/adamw.h"

namespace seedvr::train {
namespace {

enum Mode : int64_t { kNone = 0, kExact = 1, kApproximated = 2 };

template <class D, class Options>
void DStep(benchmark::State& state) {
  const Mode mode = static_cast<Mode>(state.range(0));
  const int64_t interval = state.range(1);
  at::manual_seed(0);
  D d(Options{16, 32, 3});
  std::vector<std::pair<std::string, at::Tensor>> params;
  for (const auto& p : d->named_parameters()) params.emplace_back(p.key(), p.value());
  losses::LazyR1 r1{mode == kExact ? 10.0 : 0.0, interval};
  AdamW opt(params, {1e-4, 0.0, 0.9, 1e-8, 0.0});
  // A 256x256 crop of 17 frames in latent space: [B, 16, 5, 32, 32].
  at::Tensor real = at::randn({1, 16, 5, 32, 32}), fake = at::randn({1, 16, 5, 32, 32});
  auto logits = [&](const at::Tensor& x) { return d->forward(x).logits; };
  int64_t step = 0;
  for (auto _ : state) {
    opt.ZeroGrad();
    at::Tensor real_logits = logits(real);
    at::Tensor loss = losses::NonSaturating::Discriminator(real_logits, logits(fake));
    if (mode == kExact && r1.Due(step)) loss = loss + r1.Loss(losses::R1Penalty(logits, real));
    if (mode == kApproximated) {
      loss = loss + 100.0 * losses::ApproximatedPenalty(logits, real_logits, real, at::randn_like(real), 0.1);
    }
    loss.backward();
    opt.Step();
    ++step;
  }
  state.counters["steps_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void Args(benchmark::internal::Benchmark* b) {
  b->Args({kNone, 1})->Args({kExact, 1})->Args({kExact, 4})->Args({kExact, 16})->Args({kApproximated, 1});
  b->ArgNames({"mode", "r1_interval"})->Unit(benchmark::kMillisecond)->MinTime(2.0);
}

BENCHMARK(DStep<discriminator::PatchDiscriminator, discriminator::PatchDiscriminatorOptions>)->Name("PatchD")->Apply(Args);
BENCHMARK(DStep<discriminator::VideoDiscriminator, discriminator::VideoDiscriminatorOptions>)->Name("VideoD")->Apply(Args);

}  // namespace
}  // namespace seedvr::train

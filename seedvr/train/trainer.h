// The APT trainer, composed at compile time from four policies, each with
// its contract at the top of its own header:
//
//   Generator      models/generator/generator.h      (SeedVR2Generator)
//   Discriminator  models/discriminator/discriminator.h  (patch | video | dit)
//   Loss           losses/adversarial.h               (non_saturating | hinge | rpgan)
//   Parallelism    parallel/parallelism.h             (single | ddp | zero2)
//
// One step, as SeedVR2 and APT describe it: HQ and LQ clips are encoded by
// the frozen VAE; the generator restores x̂ = noise - v at t = 1000; the
// discriminator is updated d_steps times (adversarial loss, lazy exact R1
// when D has double backward, approximated R1/R2), then the generator with
// D frozen (adversarial, feature matching, L1); the EMA follows the
// generator. With loss.lambda_adv and lambda_fm both 0 the step is L1 alone
// and the discriminator is left out (a warm-up before APT, or the L1-only
// baseline a GAN run is compared with). This template holds only what
// depends on the policies (the two updates); batches, optimizers, EMA,
// checkpoint state and evaluation live in TrainingCore (training_core.h),
// compiled once.
//
// The parallelism strategy sees only parameter sets and losses: before the
// backward of each update's last micro-batch it is told which set that
// backward completes (it reduces the gradients during it, or, sharding the
// optimizer state, at the step: training_core.h), and it averages the step's
// metrics over ranks. Under sequence parallelism it also names
// the Ulysses group the generator (and a DiT discriminator) split tokens over.
//
// TrainerInterface is what the run loop (run.h) drives, so the loop too is
// compiled once for every specialization.
#pragma once

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "seedvr/core/device.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/data/loader.h"
#include "seedvr/losses/adversarial.h"
#include "seedvr/losses/feature_matching.h"
#include "seedvr/losses/regularizers.h"
#include "seedvr/models/discriminator/discriminator.h"
#include "seedvr/models/generator/generator.h"
#include "seedvr/parallel/parallelism.h"
#include "seedvr/train/frozen_vae.h"
#include "seedvr/train/monitor.h"
#include "seedvr/train/params.h"
#include "seedvr/train/training_core.h"

namespace seedvr::train {

class TrainerInterface {
 public:
  virtual ~TrainerInterface() = default;
  // "patch discriminator, hinge loss, single"
  virtual std::string Description() const = 0;
  virtual int64_t step() const = 0;
  // One generator update and its discriminator updates; returns the metrics.
  virtual absl::StatusOr<Metrics> Step() = 0;
  // Collective: every rank calls it; complete on the main rank.
  virtual core::PyValue State() = 0;
  // What the optimizers and the EMA hold on this rank.
  virtual std::string StateSummary() const = 0;
  // Returns a line saying what was resumed (TrainingCore::LoadState).
  virtual absl::StatusOr<std::string> LoadState(const core::PyValue& state, const std::string& where) = 0;
  // Collective: every rank calls it; the main rank evaluates.
  virtual absl::StatusOr<EvalResult> Evaluate(data::DataLoader* eval_loader, int64_t clips) = 0;
  // This rank writes logs and checkpoints and evaluates.
  virtual bool is_main() const = 0;
  // Waits at most `timeout` for every rank to reach this point and checks
  // that they hold the same weights.
  virtual absl::Status Sync(std::chrono::milliseconds timeout, const std::string& what) = 0;
  // Collective: whether `flag` is set on any rank.
  virtual absl::StatusOr<bool> AnyRank(bool flag, std::chrono::milliseconds timeout, const std::string& what) = 0;
};

template <class G, class D, class L, class P>
class Trainer final : public TrainerInterface {
  static_assert(generator::Generator<G>, "G must satisfy the Generator contract (models/generator/generator.h)");
  static_assert(discriminator::Discriminator<D>,
                "D must satisfy the Discriminator contract (models/discriminator/discriminator.h)");
  static_assert(losses::AdversarialLoss<L>, "L must be an adversarial loss policy (losses/adversarial.h)");
  static_assert(parallel::Parallelism<P>, "P must be a parallelism strategy (parallel/parallelism.h)");

 public:
  using GeneratorType = G;
  using DiscriminatorType = D;
  using LossType = L;
  using ParallelismType = P;

  Trainer(TrainerParams params, G generator, D discriminator, FrozenVAE vae, data::DataLoader* loader, P parallel)
      : g_(std::move(generator)),
        d_(std::move(discriminator)),
        parallel_(std::move(parallel)),
        core_(std::move(params), {D::Impl::kName, L::kName, P::kName}, g_.NamedParameters(), NamedParametersOf(*d_),
              std::move(vae), loader, Attach()) {
    g_.SetSequenceParallel(parallel_.sequence_parallel());
  }

  std::string Description() const override {
    return std::string(D::Impl::kName) + " discriminator, " + L::kName + " loss, " + P::kName;
  }
  int64_t step() const override { return core_.step(); }
  core::PyValue State() override { return core_.State(); }
  absl::StatusOr<std::string> LoadState(const core::PyValue& state, const std::string& where) override {
    return core_.LoadState(state, where);
  }
  bool is_main() const override { return parallel_.is_main(); }
  absl::Status Sync(std::chrono::milliseconds timeout, const std::string& what) override {
    return parallel_.Agree(core_.WeightsChecksum(), timeout, what);
  }
  absl::StatusOr<bool> AnyRank(bool flag, std::chrono::milliseconds timeout, const std::string& what) override {
    return parallel_.AnyRank(flag, timeout, what);
  }
  std::string StateSummary() const override { return core_.StateSummary(); }
  // Rank 0 evaluates alone, so its generator restores whole sequences.
  absl::StatusOr<EvalResult> Evaluate(data::DataLoader* eval_loader, int64_t clips) override {
    g_.SetSequenceParallel(nullptr);
    auto r = core_.Evaluate([this](const at::Tensor& lq, const at::Tensor& noise) { return g_.Restore(lq, noise); },
                            eval_loader, clips, parallel_.is_main());
    g_.SetSequenceParallel(parallel_.sequence_parallel());
    return r;
  }

  absl::StatusOr<Metrics> Step() override {
    const auto start = std::chrono::steady_clock::now();
    auto batches = core_.NextBatches();
    if (!batches.ok()) return batches.status();
    const TrainerParams& p = core_.params();
    const double accum = static_cast<double>(batches->size());
    const LossWeights& w = p.weights;
    auto logits_fn = [this](const at::Tensor& x) { return Judge(x).logits; };

    // With neither an adversarial nor a feature-matching weight the step is
    // a plain L1 regression (a warm-up, or the L1-only baseline of a GAN
    // run): the discriminator neither trains nor judges.
    const bool adversarial = w.adv > 0 || w.fm > 0;

    // The generator's output on each micro-batch and the discriminator's
    // inputs are computed once and shared by every discriminator update and
    // the generator update: the generator's weights do not change before its
    // own update and the VAE is frozen, so the values are the ones each phase
    // would compute. With one micro-batch the output keeps its autograd graph
    // for the generator update (one generator forward per step instead of
    // d_steps + 1); with several, holding every graph would multiply the
    // activation memory, so the generator update recomputes its own.
    const bool keep_graph = batches->size() == 1;
    std::vector<Generated> generated(batches->size());

    // Discriminator.
    SetRequiresGrad(core_.discriminator_parameters(), true);
    double d_adv = 0, r1 = 0, ar1 = 0, ar2 = 0, d_norm = 0;
    for (int64_t k = 0; k < (adversarial ? p.d_steps : 0); ++k) {
      Resample();
      core_.ZeroGradDiscriminator();
      const bool r1_due = core_.R1Due();
      for (size_t i = 0; i < batches->size(); ++i) {
        const LatentBatch& b = (*batches)[i];
        Generated& x = generated[i];
        if (!x.fake.defined()) Generate(b, keep_graph, x);
        Condition(b);
        if (!x.real_in.defined()) x.real_in = core_.DiscriminatorInput(b.hq);
        const at::Tensor& real_in = x.real_in;
        const at::Tensor fake_in = x.fake_in.detach();
        discriminator::DiscriminatorOutput real_out = Judge(real_in), fake_out = Judge(fake_in);
        at::Tensor adv = L::Discriminator(real_out.logits, fake_out.logits);
        at::Tensor loss = adv;
        if constexpr (D::Impl::kDoubleBackward) {
          if (r1_due) {
            at::Tensor penalty = losses::R1Penalty(logits_fn, real_in.detach());
            loss = loss + p.r1.Loss(penalty);
            r1 += penalty.item<double>() / accum;
          }
        }
        if (w.ar1 > 0) {
          at::Tensor penalty =
              losses::ApproximatedPenalty(logits_fn, real_out.logits, real_in, b.Randn(real_in), w.ar_sigma);
          loss = loss + w.ar1 * penalty;
          ar1 += penalty.item<double>() / accum;
        }
        if (w.ar2 > 0) {
          at::Tensor penalty =
              losses::ApproximatedPenalty(logits_fn, fake_out.logits, fake_in, b.Randn(fake_in), w.ar_sigma);
          loss = loss + w.ar2 * penalty;
          ar2 += penalty.item<double>() / accum;
        }
        loss = loss / accum;
        if (i + 1 == batches->size()) parallel_.PrepareBackward(parallel::Role::kDiscriminator, loss);
        loss.backward();
        d_adv += adv.item<double>() / accum;
      }
      d_norm = core_.StepDiscriminator();
    }
    const double steps = static_cast<double>(p.d_steps);

    // Generator, with D frozen so feature matching only moves G.
    SetRequiresGrad(core_.discriminator_parameters(), false);
    Resample();
    core_.ZeroGradGenerator();
    double g_adv = 0, fm = 0, l1 = 0;
    for (size_t i = 0; i < batches->size(); ++i) {
      const LatentBatch& b = (*batches)[i];
      Generated& x = generated[i];
      if (!x.fake.defined() || !x.fake.requires_grad()) Generate(b, /*grad=*/true, x, adversarial);
      const at::Tensor& fake = x.fake;
      at::Tensor loss;  // config validation: some weight is positive
      if (adversarial) {
        Condition(b);
        discriminator::DiscriminatorOutput fake_out = Judge(x.fake_in);
        discriminator::DiscriminatorOutput real_out;
        {
          torch::NoGradGuard no_grad;
          real_out = Judge(x.real_in.defined() ? x.real_in : core_.DiscriminatorInput(b.hq));
        }
        at::Tensor adv = L::Generator(fake_out.logits, real_out.logits);
        loss = w.adv * adv;
        g_adv += adv.item<double>() / accum;
        if (w.fm > 0) {
          at::Tensor f = losses::FeatureMatching(fake_out.features, real_out.features);
          loss = loss + w.fm * f;
          fm += f.item<double>() / accum;
        }
      }
      at::Tensor rec = (fake - b.hq).abs().mean();
      if (w.l1 > 0) loss = loss.defined() ? loss + w.l1 * rec : w.l1 * rec;
      l1 += rec.item<double>() / accum;
      loss = loss / accum;
      if (i + 1 == batches->size()) parallel_.PrepareBackward(parallel::Role::kGenerator, loss);
      loss.backward();
    }
    generated.clear();  // free the graphs before the optimizer step
    const double g_norm = core_.StepGenerator();

    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Metrics m;
    if (adversarial) m = {{"d_adv", d_adv / steps}, {"g_adv", g_adv}, {"fm", fm}, {"r1", r1}};
    m.emplace_back("l1", l1);
    if (adversarial && w.ar1 > 0) m.emplace_back("ar1", ar1 / steps);
    if (adversarial && w.ar2 > 0) m.emplace_back("ar2", ar2 / steps);
    m.emplace_back("g_grad_norm", g_norm);
    if (adversarial) m.emplace_back("d_grad_norm", d_norm);
    m.emplace_back("g_lr", core_.generator_lr());
    if (adversarial) m.emplace_back("d_lr", core_.discriminator_lr());
    m.emplace_back("sec_per_step", seconds);
    // Means over the ranks: a NaN on any rank reaches every rank's monitor.
    std::vector<double> values;
    for (const auto& [name, v] : m) values.push_back(v);
    if (auto s = parallel_.Average(values); !s.ok()) return s;
    for (size_t i = 0; i < m.size(); ++i) m[i].second = values[i];
    const double clips = accum * static_cast<double>(p.batch_size) * parallel_.dp_size();
    m.emplace_back("clips_per_sec", clips / m.back().second);  // every rank's clips
    return m;
  }

 private:
  // A micro-batch's restoration x̂ and the discriminator's inputs for it.
  struct Generated {
    at::Tensor fake;     // the generator's x̂ (latents)
    at::Tensor fake_in;  // x̂ as the discriminator sees it (decoded for pixel discriminators)
    at::Tensor real_in;  // HQ as the discriminator sees it (no gradient)
  };

  // Restores `b` into `x`, with autograd when `grad`; the discriminator's
  // view of it too when `judged`.
  void Generate(const LatentBatch& b, bool grad, Generated& x, bool judged = true) {
    torch::AutoGradMode mode(grad);
    x.fake = g_.Restore(b.lq, b.noise);
    if (judged) x.fake_in = core_.DiscriminatorInput(x.fake);
  }

  // The discriminator under bf16 autocast when training in bf16; logits in
  // fp32, so every loss and penalty reduces in fp32.
  discriminator::DiscriminatorOutput Judge(const at::Tensor& x) {
    const TrainerParams& p = core_.params();
    core::AutocastScope autocast(p.device.type(), p.bf16);
    discriminator::DiscriminatorOutput out = d_->forward(x);
    out.logits = out.logits.to(at::kFloat);
    return out;
  }

  // Hands both parameter sets to the strategy (before the optimizers are
  // built: under ZeRO they hold its shards).
  Shards Attach() {
    parallel_.Attach(parallel::Role::kGenerator, Tensors(g_.NamedParameters()));
    parallel_.Attach(parallel::Role::kDiscriminator, Tensors(NamedParametersOf(*d_)));
    return {parallel_.sharded(parallel::Role::kGenerator), parallel_.sharded(parallel::Role::kDiscriminator)};
  }

  // Discriminators with their own randomness draw it once per update.
  void Resample() {
    if constexpr (discriminator::ResamplingDiscriminator<D>) d_->Resample(core_.shared_rng());
  }

  // Discriminators that may see the LQ input get the batch's.
  void Condition(const LatentBatch& b) {
    if constexpr (discriminator::ConditionedDiscriminator<D>) d_->Condition(b.lq);
  }

  G g_;
  D d_;
  P parallel_;
  TrainingCore core_;
};

}  // namespace seedvr::train

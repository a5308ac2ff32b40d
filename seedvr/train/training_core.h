// Everything an APT step needs that does not depend on the trainer's
// policies, compiled once: the lowered parameters, the frozen VAE and the
// data stream (clips to latent batches), the seeded random stream, both
// AdamW optimizers, the EMA, the step counters, checkpoint state and the
// held-out evaluation. Trainer<G, D, L, P> (trainer.h) owns one and adds
// only the policy-dependent discriminator and generator updates.
//
// Randomness is a function of (training.seed, step, clip), not of history:
// each micro-batch draws its posterior samples, noise and penalty
// perturbations from its own generator on the training device, seeded by
// the step and the micro-batch's place in the global batch (micro-batch a
// of data-parallel rank r is number a * dp_size + r), and what every rank
// must share (a discriminator's resampling) comes from one per-step
// generator. So N steps equal N/2 + resume + N/2 bit for bit, and two
// data-parallel ranks draw what one process with grad_accum 2 draws. Models,
// batches, noise and losses live on params.device; clips reach it through
// pinned memory and asynchronous copies.
//
// Under ZeRO-2 (parallel/zero.h) the optimizers and the EMA hold this
// rank's shards of the parameters instead of the parameters; each step
// reduce-scatters the gradients first and all-gathers the weights after,
// and State, LoadState, WeightsChecksum and Evaluate gather or slice whole
// tensors, so checkpoints are the same files either way. Those four are
// then collective: every rank calls them.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/data/loader.h"
#include "seedvr/parallel/zero.h"
#include "seedvr/train/adamw.h"
#include "seedvr/train/ema.h"
#include "seedvr/train/frozen_vae.h"
#include "seedvr/train/params.h"

namespace torch::nn {
class Module;
}  // namespace torch::nn

namespace seedvr::train {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// One batch of training clips as latents [B, 16, T', h, w], with the
// generator's input noise and the batch's own random stream.
struct LatentBatch {
  at::Tensor hq, lq, noise;
  at::Generator rng;

  // Standard normal noise shaped like `like`, from the batch's stream.
  at::Tensor Randn(const at::Tensor& like) const;
};

// The held-out evaluation, means over its clips. In latents: L1 distances
// of the EMA generator's restorations and of the LQ inputs to the HQ
// latents. In pixels (eval_metrics.h): the PSNR to the HQ clip of the
// decoded restoration, of the LQ clip, of the VAE's own round trip of the
// HQ clip (the ceiling any restoration in its latent space has) and of the
// LQ clip (what a generator that returns its LQ latent scores); and
// the high-frequency energy of the restorations and of the LQ clips over
// that of the HQ clips.
struct EvalResult {
  double restored_l1 = 0;
  double lq_l1 = 0;
  double restored_psnr = 0;
  double lq_psnr = 0;
  double vae_psnr = 0;
  double lq_vae_psnr = 0;
  double restored_hf_ratio = 0;
  double lq_hf_ratio = 0;
  int64_t clips = 0;
  std::string samples_path;  // the sample sheet written, if any
};

// The policies a trainer was compiled with, as their kName strings;
// checkpoints record them.
struct PolicyNames {
  const char* discriminator;
  const char* loss;
  const char* parallelism;
};

// The strategy's sharded parameter sets (null: every rank holds all).
struct Shards {
  parallel::ShardedParameters* generator = nullptr;
  parallel::ShardedParameters* discriminator = nullptr;
};

// The parameters of a module under their names.
NamedTensors NamedParametersOf(const torch::nn::Module& module);
// The tensors alone, as the parallelism contract takes them.
std::vector<at::Tensor> Tensors(const NamedTensors& params);
void SetRequiresGrad(const NamedTensors& params, bool on);

class TrainingCore {
 public:
  // `generator` and `discriminator` are the live parameters the optimizers
  // update and checkpoints hold; `loader` outlives the core.
  TrainingCore(TrainerParams params, PolicyNames policies, NamedTensors generator, NamedTensors discriminator,
               FrozenVAE vae, data::DataLoader* loader, Shards shards = {});

  const TrainerParams& params() const { return params_; }
  int64_t step() const { return step_; }
  // This step's stream shared by every rank (NextBatches reseeds it).
  at::Generator& shared_rng() { return shared_rng_; }
  const NamedTensors& generator_parameters() const { return g_params_; }
  const NamedTensors& discriminator_parameters() const { return d_params_; }

  // grad_accum batches of batch_size clips from the loader, encoded by the
  // frozen VAE, each with fresh noise; starts the step's random streams.
  absl::StatusOr<std::vector<LatentBatch>> NextBatches();
  // What the discriminator judges: the latents, or pixels decoded by the
  // frozen VAE with gradients to the latents.
  at::Tensor DiscriminatorInput(const at::Tensor& latents);
  // Exact R1 is due on this D step (lazy schedule).
  bool R1Due() const { return params_.r1.Due(d_step_); }

  void ZeroGradDiscriminator();
  void ZeroGradGenerator();
  // After the gradients are reduced: clip, AdamW step, free the gradients,
  // count. Each returns the gradient norm before clipping.
  double StepDiscriminator();
  double StepGenerator();  // and the EMA
  double generator_lr() const { return g_opt_.options().lr; }
  double discriminator_lr() const { return d_opt_.options().lr; }

  // Everything needed to continue exactly (layout: checkpoint.h); complete
  // on rank 0 (sharded state is gathered there).
  core::PyValue State();
  // "G AdamW 12.0 MiB, D AdamW 1.0 MiB, EMA 6.0 MiB (this rank)".
  std::string StateSummary() const;
  // `state` as LoadCheckpoint returns it (its entries checked). Returns a
  // line saying what was resumed; when the checkpoint was saved
  // with another number of data-parallel ranks, the sampler re-splits the
  // epoch at the same global position and the line says so.
  absl::StatusOr<std::string> LoadState(const core::PyValue& state, const std::string& where);
  // A checksum of the generator and EMA weights: equal on every rank of a
  // healthy data-parallel run.
  double WeightsChecksum() const;

  // EvalResult over `clips` samples of `eval_loader`, for the EMA
  // restoration (`restore(lq, noise)` run with the EMA weights swapped in)
  // and for the LQ clips themselves; writes save_dir/samples_<step>.png
  // (eval_metrics.h) with the middle frames of the first four clips.
  // Latents are posterior means and the noise has its own seeded
  // generator, so evaluating is deterministic and never changes the
  // training stream.
  // Only `main` evaluates; the others take part in gathering the EMA.
  using RestoreFn = std::function<at::Tensor(const at::Tensor& lq, const at::Tensor& noise)>;
  absl::StatusOr<EvalResult> Evaluate(const RestoreFn& restore, data::DataLoader* eval_loader, int64_t clips,
                                      bool main);

 private:
  TrainerParams params_;
  PolicyNames policies_;
  double Update(AdamW& opt, parallel::ShardedParameters* shards);
  // The EMA as whole tensors (gathered on rank 0 under ZeRO; empty elsewhere).
  core::TensorList WholeEma() const;

  NamedTensors g_params_, d_params_;
  Shards shards_;
  FrozenVAE vae_;
  data::DataLoader* loader_;
  at::Generator shared_rng_;
  AdamW g_opt_;
  AdamW d_opt_;
  Ema ema_;
  int64_t step_ = 0;
  int64_t d_step_ = 0;
};

}  // namespace seedvr::train

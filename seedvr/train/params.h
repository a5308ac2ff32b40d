// Typed trainer parameters: a validated TrainConfig lowered once, before any
// trainer is built, the way CUTLASS lowers Arguments into Params. Strings
// become enums, the rules that tie the config to the compiled policies are
// checked (exact R1 needs a discriminator with double backward; pixel input
// needs one that judges pixels; each discriminator's own keys); the device and precision
// are resolved against this machine (a GPU asked for and absent stops here,
// before any work). The step loop reads only
// these fields; `config` stays for building the models and data and for the
// YAML that checkpoints keep.
#pragma once

#include <c10/core/Device.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "seedvr/config/config.h"
#include "seedvr/losses/regularizers.h"
#include "seedvr/models/discriminator/discriminator.h"
#include "seedvr/train/adamw.h"

namespace seedvr::train {

// What the discriminator judges (discriminator.input).
enum class DiscriminatorInput { kLatent, kPixel };

// Generator and discriminator loss weights (loss.*).
struct LossWeights {
  double adv = 1;
  double fm = 0;
  double ar1 = 0;       // approximated R1 on real clips
  double ar2 = 0;       // approximated R2 on generated clips
  double ar_sigma = 0;  // std of the approximated R1/R2 perturbation
  double l1 = 0;
};

// A compiled discriminator as lowering sees it (seedvr/train/registry.h).
struct DiscriminatorTraits {
  const char* name;
  bool double_backward;
  discriminator::Judges judges;
  absl::Status (*validate)(const config::TrainConfig&);
};

struct TrainerParams {
  config::TrainConfig config;
  std::string parallelism;  // the strategy's kName

  // One step.
  int64_t batch_size = 1;
  int64_t grad_accum = 1;
  int64_t d_steps = 1;
  DiscriminatorInput d_input = DiscriminatorInput::kLatent;
  losses::LazyR1 r1;  // gamma 0: no exact R1
  LossWeights weights;
  AdamWOptions g_optimizer;
  AdamWOptions d_optimizer;
  double grad_clip = 0;      // 0: no clipping
  double ema_decay = 0.9998;
  bool ema_warmup = true;
  uint64_t seed = 0;
  bool sample_posterior = true;
  double condition_noise_scale = 0;  // condition.noise_scale

  // Placement and precision. `config.model.compute_dtype` is set to match
  // `bf16`, so the DiT built from the config follows it.
  c10::Device device = c10::kCPU;
  bool bf16 = false;               // autocast the DiT and the discriminator
  bool vae_bf16 = false;           // the frozen VAE's weights and compute
  bool ema_on_host = false;        // training.ema_device: cpu
  bool optimizer_offload = false;  // optimizer.offload: cpu

  // Processes (parallel.*): this rank's data-parallel place, set when the
  // process groups are built (RunTrainer, dispatch.h).
  int dp_rank = 0;
  int dp_size = 1;
  int64_t bucket_bytes = int64_t{25} << 20;
  std::chrono::milliseconds wait_timeout{1800000};  // for rank 0's saves and evaluation

  // The loop.
  int64_t max_steps = 0;
  int64_t save_every = 1;
  int64_t keep_last = 0;
  int64_t eval_clips = 0;
  int64_t eval_every = 0;
  std::string save_dir;
  std::string resume;
  bool overwrite = false;  // checkpoint.overwrite
};

// Checks `config` against the chosen discriminator and lowers it. Errors
// name the key and, where the discriminator forbids a value, why.
absl::StatusOr<TrainerParams> LowerTrainConfig(const config::TrainConfig& config,
                                               const DiscriminatorTraits& discriminator,
                                               const std::string& parallelism);

}  // namespace seedvr::train

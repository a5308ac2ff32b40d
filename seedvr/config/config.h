// The training configuration: YAML sections parsed into typed structs,
// validated before any work starts, and overridable from the command line.
//
//   model:         the DiT (official key names, see models/dit/dit_config.h)
//   vae:           the video VAE (official key names)
//   data:          HQ/LQ dataset, clip and crop, degradation
//   discriminator: type (patch | video | dit), base_channels, num_layers, ...
//   optimizer:     g_lr, d_lr, betas, weight_decay, ...
//   condition:     noise_scale (LQ latent augmentation)
//   loss:          loss_type, lambda_*, r1_interval, approximated R1/R2 sigma
//   training:      steps, batch, EMA, seed, checkpoint to start from,
//                  device and precision (gradient checkpointing is a model key)
//   parallel:      sp_size and the data-parallel strategy
//   logging, checkpoint
//   vae_training:  the first stage of a run from scratch, training the VAE
//                  itself (tools/train_vae) into training.vae_checkpoint
//
// Every error names the key path, what was expected and what was given.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "seedvr/data/data_config.h"
#include "seedvr/models/dit/dit_config.h"
#include "seedvr/models/vae/vae_config.h"

namespace seedvr::config {

// Each discriminator checks its own keys (models/discriminator/); which
// types and losses exist is the compiled trainer product (train/dispatch.h).
struct DiscriminatorConfig {
  std::string type = "patch";      // patch | video | dit
  int64_t base_channels = 64;
  int64_t num_layers = 3;
  std::string input = "latent";    // latent | pixel (through the frozen VAE decoder)
  // `dit` discriminator: layers whose features feed cross-attention heads
  // (empty: APT's relative depths, blocks 16, 26, 36 of 36), the shift s of
  // the random timestep t' = s t / (1 + (s - 1) t), what fills the
  // backbone's condition channels (none | lq), and the DiT checkpoint D
  // starts from (empty: the generator's initial weights).
  std::vector<int64_t> dit_feature_layers;
  double dit_timestep_shift = 12.0;
  std::string dit_condition = "none";
  std::string checkpoint;
};

// AdamW for G and D. D follows GAN practice by default (APT: RMSProp with
// alpha 0.9, that is beta1 0 and beta2 0.9, and no weight decay). On resume
// these values win over the checkpoint's, with a logged line.
struct OptimizerConfig {
  double g_lr = 1e-5;
  double d_lr = 1e-4;
  std::array<double, 2> betas = {0.9, 0.999};  // the generator's
  std::array<double, 2> d_betas = {0.0, 0.9};
  double eps = 1e-8;
  double weight_decay = 0.01;  // the generator's
  double d_weight_decay = 0.0;
  double grad_clip = 0.0;          // max global gradient norm; 0 disables
  // none | cpu: keep the fp32 master weights and AdamW moments in (pinned)
  // host memory and step there, as ZeRO-Offload does.
  std::string offload = "none";
};

// What the generator is conditioned on (the official `condition` section).
struct ConditionConfig {
  // Training-time noise on the LQ latent (generator/generator.h,
  // AugmentCondition); the official training config uses 0.25, restoration 0.
  double noise_scale = 0.0;
};

struct LossConfig {
  std::string loss_type = "non_saturating";  // non_saturating | hinge | rpgan
  double lambda_adv = 1.0;
  double lambda_fm = 10.0;
  double lambda_r1 = 10.0;         // exact R1 (gamma), lazily every r1_interval D steps
  int64_t r1_interval = 16;
  double lambda_ar1 = 0.0;         // approximated R1 on real samples (APT)
  double lambda_ar2 = 0.0;         // approximated R2 on generated samples (SeedVR2)
  double ar_sigma = 0.1;           // std of the perturbation of approximated R1/R2
  double lambda_l1 = 0.0;          // L1 between restored and HQ latents
};

struct TrainingConfig {
  int64_t max_steps = 10000;
  int64_t batch_size = 1;
  int64_t grad_accum = 1;
  int64_t d_steps = 1;             // discriminator updates per generator update
  double ema_decay = 0.9998;
  // Decay min(ema_decay, (1 + n) / (10 + n)) at G update n: it reaches
  // ema_decay after (10 d - 1) / (1 - d) updates (44,991 for 0.9998), so
  // shorter runs average over roughly their last tenth.
  bool ema_warmup = true;
  uint64_t seed = 666;
  std::string dit_checkpoint;      // released .pth/.safetensors, or empty for random init
  std::string vae_checkpoint;      // ema_vae.pth / .safetensors, or empty for random init
  // Encode clips to posterior samples, as the official pipeline does; off
  // uses the posterior mean (needed with a randomly initialised VAE, whose
  // variance is meaningless).
  bool sample_posterior = true;
  std::string text_embeddings;     // from prepare_text_embeddings
  // Held-out clips (eval_root/hq, optional eval_root/lq) on which the EMA
  // generator's restoration is measured at the start, every eval_every
  // steps and at the end.
  std::string eval_root;
  int64_t eval_clips = 0;          // 0 disables the evaluation
  int64_t eval_every = 0;          // 0: only at the start and the end
  // auto | cpu | cuda | cuda:N; auto takes this process's GPU (cuda:LOCAL_RANK
  // under torchrun) when one is visible.
  std::string device = "auto";
  // auto | bf16 | fp32: bf16 autocast for the DiT and the discriminator with
  // fp32 master weights, optimizer state and EMA. auto is bf16 on a GPU and
  // model.compute_dtype on the CPU.
  std::string precision = "auto";
  // auto | bf16 | fp32 for the frozen VAE's weights and compute; auto is bf16
  // on a GPU (as the official pipeline runs it) and fp32 on the CPU.
  std::string vae_precision = "auto";
  std::string ema_device = "same";  // same | cpu (host memory)
  // The frame (H, W pixels) restoration runs at: the DiT's window sizes
  // are computed for it (seedvr2-model.md §1.5), so training crops see
  // inference's windows, shifted ones included. [0, 0]: each crop's own
  // grid, under which a 256^2 crop is one window.
  std::array<int64_t, 2> window_frame = {720, 1280};
};

// Multi-process training under torchrun (seedvr/parallel/).
struct ParallelConfig {
  int64_t sp_size = 1;             // Ulysses sequence parallel group size
  std::string strategy = "ddp";    // ddp | zero2 (parallel/parallelism.h)
  double timeout_s = 45;           // a collective waiting longer stops the run, naming the rank
  double wait_timeout_s = 1800;    // other ranks waiting while rank 0 saves or evaluates
  double bucket_mb = 25;           // gradient all-reduce bucket size (the first is 1 MiB)
};

struct LoggingConfig {
  int64_t log_every = 1;
  bool progress_bar = true;        // on terminals; plain lines otherwise
};

struct CheckpointConfig {
  std::string save_dir = "outputs";
  int64_t save_every = 1000;
  int64_t keep_last = 0;           // 0 keeps every checkpoint
  std::string resume;              // checkpoint_<step>.pth to continue from
  bool overwrite = false;          // replace the run save_dir holds (save_dir.h)
};

// Training the VAE to reconstruct HQ clips (train/vae_training.h), for
// configs with no released VAE at their size. Crops and clip length are
// data.crop_size and data.num_frames; the output is training.vae_checkpoint.
struct VAETrainingConfig {
  int64_t steps = 2000;
  int64_t batch_size = 2;
  double lr = 2e-3;                    // AdamW peak learning rate
  int64_t warmup_steps = 50;           // linear warmup from 0
  std::string lr_schedule = "cosine";  // cosine (to 0 at `steps`) | constant
  double weight_decay = 0.0;
  double grad_clip = 1.0;  // max global gradient norm; 0 disables
  // Weight of the KL term against the L1 term, both summed over a clip
  // (LDM's 1e-6); see vae_training.h.
  double kl_weight = 1e-6;
  int64_t log_every = 50;
  int64_t eval_every = 0;    // held-out evaluation every N steps; 0: at the end only
  int64_t eval_frames = 17;  // frames of the clip taken from each held-out video
};

struct TrainConfig {
  dit::DiTConfig model;
  vae::VAEConfig vae;
  data::DataConfig data;
  DiscriminatorConfig discriminator;
  OptimizerConfig optimizer;
  ConditionConfig condition;
  LossConfig loss;
  TrainingConfig training;
  ParallelConfig parallel;
  LoggingConfig logging;
  CheckpointConfig checkpoint;
  VAETrainingConfig vae_training;
};

// Parses and validates YAML text; `overrides` are "section.key=value" pairs
// applied on top (the value is YAML: 2, 1e-4, [256, 256], true, name).
absl::StatusOr<TrainConfig> ParseTrainConfig(const std::string& yaml_text,
                                             const std::vector<std::string>& overrides = {},
                                             const std::string& source = "<config>");

// Reads a YAML file, then applies `overrides`.
absl::StatusOr<TrainConfig> LoadTrainConfig(const std::string& path,
                                            const std::vector<std::string>& overrides = {});

// Checks every file the config names for training (training.dit_checkpoint,
// vae_checkpoint, text_embeddings, discriminator.checkpoint and
// checkpoint.resume, where set) with core::CheckInputFile, before any is
// read: a FIFO, a directory or a missing file is an error naming the key.
absl::Status CheckInputPaths(const TrainConfig& config);

// The command line of the training tools: --config FILE (required) and the
// user's flags --data_root --dit_checkpoint --batch_size --num_frames
// --crop_size H W --sp_size --save_dir --resume --max_steps --keep_last, plus repeatable
// --set section.key=value. Later flags win over earlier ones; all win over
// the file. `--help` is handled by the caller.
absl::StatusOr<TrainConfig> ParseTrainCommandLine(const std::vector<std::string>& args);

// The help text of ParseTrainCommandLine's flags.
std::string TrainCommandLineHelp();

// The resolved config as YAML, loadable by ParseTrainConfig (checkpoints keep it).
std::string DumpTrainConfig(const TrainConfig& config);

}  // namespace seedvr::config

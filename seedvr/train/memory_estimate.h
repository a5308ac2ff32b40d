// Per-device memory of one APT training step, estimated from a TrainConfig
// without allocating anything: what the trainer (train/trainer.h) holds, part by part,
// so a user can pick batch, crop, frames, sequence parallel and sharding for
// a card before allocating anything.
//
// The device and precision are the run's (training.device, precision,
// vae_precision, ema_device, optimizer.offload); "auto" is estimated as a
// GPU run, since the estimate sizes cards.
//
// What the estimate models (bytes per device):
//   weights        generator fp32 master copy (whole under ZeRO-2 too)
//   gradients      fp32, whole: parallel/zero.h reduces them after backward
//   optimizer      AdamW's two fp32 moments, divided by dp x sp under
//                  parallel.strategy "zero2" (parallel/zero.h shards over
//                  every rank); 0 with optimizer.offload: cpu (they and an
//                  fp32 master copy live in pinned host memory, `host`)
//   ema            fp32 shadow copy of the generator, divided by dp x sp
//                  under zero2; 0 with training.ema_device: cpu (in `host`)
//   autocast       bf16 copies of the weights autocast caches for the
//                  forward and autograd keeps for backward (bf16 only)
//   discriminator  weights + gradients + AdamW moments, plus its activations
//                  (each discriminator counts its own: models/discriminator/)
//   activations    what the G step keeps for backward through the DiT,
//                  divided by sp_size (Ulysses splits the sequence); with
//                  gradient checkpointing the block inputs plus one
//                  recomputed block, else every block's saved tensors
//   vae            frozen weights (bf16 with vae_precision bf16) + the
//                  encode peak of memory_plan.h (HQ and LQ are encoded
//                  together, one batch, without grad)
//
// Peak = everything resident + the larger of the two transient phases: the
// G step (its gradients, activations and the discriminator's; with one
// micro-batch the generator's activations already live through the D
// updates, whose own are bounded by the same discriminator term) and the VAE
// encode of the next batch, which sees no gradients (the trainer frees them
// after each optimizer step).
// Per-token activation bytes are counted tensor by tensor from what autograd
// saves in models/dit/block.h and attention.h (see memory_estimate.cc), and
// checked against measured peak RSS by tools/measure_memory.sh.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "seedvr/config/config.h"

namespace seedvr::train {

struct MemoryOptions {
  int64_t dp_size = 1;          // data-parallel ranks (each holds batch_size clips)
  int64_t sp_size = 0;          // 0: config.parallel.sp_size
  int zero2 = -1;               // -1: config.parallel.strategy == "zero2"; 0/1 force
  int checkpointing = -1;       // -1: config.model.gradient_checkpointing; 0/1 force
  int64_t text_tokens = 58;     // rows of the text embedding (released pos_emb: 58)
};

struct MemoryEstimate {
  // What the figures were computed for.
  int64_t generator_params = 0;
  int64_t discriminator_params = 0;
  int64_t vae_params = 0;
  int64_t frames = 0;           // clip length after the 4n+1 and sequence-parallel padding
  int64_t latent_frames = 0;    // T' = (frames - 1) / 4 + 1
  int64_t video_tokens = 0;     // per clip: T' * (H/16) * (W/16)
  int64_t text_tokens = 0;
  int64_t max_windows = 0;      // most attention windows of one layer (each adds a text copy)
  int64_t dp_size = 1, sp_size = 1;
  bool zero2 = false, checkpointing = false, bf16 = false, vae_bf16 = false;
  bool ema_on_host = false, optimizer_offload = false;
  double block_bytes_per_token = 0;  // saved for backward by one block, per video token

  // Bytes per device.
  double weights = 0;
  double gradients = 0;
  double optimizer = 0;
  double ema = 0;
  double autocast_weights = 0;
  double discriminator_state = 0;        // weights + grads + AdamW
  double discriminator_activations = 0;
  double activations_checkpointed = 0;   // G step, per device, after the sp split
  double activations_full = 0;
  double activations = 0;                // the one the config selects
  double vae_weights = 0;
  double vae_encode = 0;                 // encode peak + the HQ/LQ clip tensors
  double total = 0;                      // peak
  double host = 0;                       // pinned host memory: offloaded EMA / master + moments

  // (name, bytes) in table order; `total` last.
  std::vector<std::pair<std::string, double>> Parts() const;
};

// Validates what the estimate needs (model shapes, crop divisible by 16,
// sp_size divides heads, the named discriminator and its keys) and
// estimates one device's peak.
absl::StatusOr<MemoryEstimate> EstimateMemory(const config::TrainConfig& config, const MemoryOptions& options = {});

// Parameters of the causal VAE (encoder + decoder), without LibTorch:
// 250,648,227 for the official configuration.
int64_t CountVAEParameters(const vae::VAEConfig& vae);

// The smallest number of GPUs of `card_bytes` each that fits, with the
// layout that fits best at that count.
struct GpuLayout {
  int64_t gpus = 0;
  int64_t dp_size = 1;
  int64_t sp_size = 1;
  bool zero2 = false;
  MemoryEstimate estimate;
};

// Searches gpus = 1..max_gpus; at each count every sp_size dividing both the
// count and the heads, dp = gpus / sp, with and without ZeRO-2 (the
// config's checkpointing is kept). Returns the first count with a layout
// that fits (lowest peak among them), or ResourceExhausted naming the part
// that alone does not fit.
absl::StatusOr<GpuLayout> MinimumGpus(const config::TrainConfig& config, double card_bytes, int64_t max_gpus = 1024,
                                      int64_t text_tokens = 58);

}  // namespace seedvr::train

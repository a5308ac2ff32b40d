// How the VAE fits a clip into a memory bound, and the frame-count rule.
//
// Plain arithmetic, no LibTorch: the plan is computed (and unit-tested)
// before any tensor exists. The estimate models the live activations of the
// largest stage (channels x frames x pixels x a constant number of live
// copies: input kept for the residual, normalized, padded, conv output); the
// constant was calibrated against the peak resident memory the benchmark
// measures (benchmarks/vae). It bounds activations only; weights come on top,
// and on the CPU their Winograd transforms and its scratch (winograd.h).
//
// The plan picks the full sequence when it fits, else causal temporal
// slicing (exact: equal up to float rounding). Within either, convolutions
// and GroupNorms above VAEConfig::conv_max_mem_gb / norm_max_mem_gb run in
// spatial tiles or group chunks (causal_conv.h), also exact. Nothing here
// approximates: there are no independently processed tiles, whose per-tile
// GroupNorm statistics and attention would differ from the frame's.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "seedvr/models/vae/vae_config.h"

namespace seedvr::vae {

// T = 4n+1 frames (1, 5, 9, 13, 17, ...) map to n+1 latent frames.
bool IsValidFrameCount(int64_t t, int64_t factor = 4);

// The smallest valid count >= t.
int64_t PaddedFrameCount(int64_t t, int64_t factor = 4);

absl::Status CheckFrameCount(int64_t t, int64_t factor = 4);

// What one encode or decode call will do.
struct VAEPlan {
  bool slice = false;     // causal temporal slicing
  double estimate_gb = 0;  // estimated activation peak of the chosen plan; < 0: forced
  std::string Describe() const;
};

// Live copies of the largest activation at one time. Measured (full width,
// 17x512x512 fp32 encode, CPU, convolutions unsplit): full sequence
// estimated 15.3 GB, forward added 17.4 GB of VmHWM. Good to ~15%; a tight
// bound should leave that margin.
inline constexpr double kLiveCopies = 6.0;

// Peak activation bytes of encoding `frames` frames of h x w pixels.
double EstimateEncodeBytes(const VAEConfig& c, int64_t frames, int64_t h, int64_t w,
                           int64_t elem_bytes);

// Peak activation bytes of decoding `latents` latent frames into h x w pixels
// (`first_chunk`: the chunk starts the clip, so frame 0 is not duplicated).
double EstimateDecodeBytes(const VAEConfig& c, int64_t latents, int64_t h, int64_t w,
                           int64_t elem_bytes, bool first_chunk = true);

// Plan for encoding a clip of `frames` x h x w pixels.
VAEPlan PlanEncode(const VAEConfig& c, int64_t frames, int64_t h, int64_t w,
                   int64_t elem_bytes = 4);

// Plan for decoding `latents` latent frames into h x w pixels.
VAEPlan PlanDecode(const VAEConfig& c, int64_t latents, int64_t h, int64_t w,
                   int64_t elem_bytes = 4);

}  // namespace seedvr::vae

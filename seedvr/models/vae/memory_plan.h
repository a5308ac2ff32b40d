// How the VAE fits a clip into a memory bound, and the frame-count rule.
//
// Plain arithmetic, no LibTorch: the plan is computed (and unit-tested)
// before any tensor exists. The estimate models the live activations of the
// largest stage (channels x frames x pixels x a constant number of live
// copies: input kept for the residual, normalized, padded, conv output); the
// constant was calibrated against the peak resident memory the benchmark
// measures (benchmarks/vae). It bounds activations only; weights come on top.
//
// Order of escalation, cheapest first:
//   1. full sequence, when it fits;
//   2. causal temporal slicing (exact: equal to 1. up to float rounding);
//   3. slicing plus spatial tiles with blended overlaps (approximate: the
//      per-frame GroupNorm statistics and attention see one tile, not the
//      frame; see tests/models/vae for the measured seam error).
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
  int64_t tile = 0;       // spatial tile edge in pixels; 0 = whole frame
  double estimate_gb = 0; // estimated activation peak of the chosen plan
  std::string Describe() const;
};

// Live copies of the largest activation at one time. Measured (full width,
// 17x512x512 fp32 encode, CPU): full sequence estimated 15.3 GB, forward
// added 17.4 GB of VmHWM; sliced + 128px tiles estimated 0.35 GB, added
// 0.29 GB. Good to ~15%; a tight bound should leave that margin.
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

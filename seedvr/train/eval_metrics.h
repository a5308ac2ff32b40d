// What the held-out evaluation measures in pixels, and the picture it
// leaves: plain functions on video tensors, no model.
//
// Videos are float [1, 3, T, H, W] or [3, T, H, W] in [-1, 1], the VAE's
// layout. They are measured as the 8-bit frames a viewer would see
// (clamped and rounded, data::TensorToClip), with data/image_ops.h's
// measures:
//   PSNR: over every pixel and channel, peak 255; identical clips give 99.
//   High-frequency energy: the mean squared 3x3 Laplacian response of the
//     luma, mean over frames. The ratio restored / HQ says how much fine
//     detail a restoration carries: below 1 it is smoother than the truth
//     (what an L1-only regression converges to), above 1 it adds detail or
//     noise.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace seedvr::train {

double ClipPsnr(const at::Tensor& a, const at::Tensor& b);

double ClipHighFrequencyEnergy(const at::Tensor& video);

// One row of the sample sheet: the same frame of a held-out clip as the
// model got it, as restored, as the VAE round-trips the truth (the best a
// restoration in its latents can look), and the truth; each [3, H, W] in
// [-1, 1].
struct SampleRow {
  at::Tensor lq, restored, round_trip, hq;
};

// Writes `rows` as a PNG, LQ | restored | VAE round trip | HQ left to
// right, one row per clip, tiles enlarged by a whole factor (nearest
// neighbour, so pixels stay as they are) to at least 192 pixels high, on
// white with 4-pixel gaps. Atomic: written under a temporary name in the same folder, then
// renamed. Errors name `path`.
absl::Status WriteSampleSheet(const std::string& path, const std::vector<SampleRow>& rows);

}  // namespace seedvr::train

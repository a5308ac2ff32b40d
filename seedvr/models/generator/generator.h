// The generator role, and SeedVR2's one-step generator.
//
// Contract (concept Generator), what the trainer and restoration need:
//   Restore(lq, noise) -> x̂    latents [B, C, T', h, w] in, same shape out
//   NamedParameters()          the trainable weights under their checkpoint
//                              names (what the optimizer, EMA and checkpoints hold)
//   SetSequenceParallel(sp)    splits Restore's tokens over a Ulysses group
//                              (parallel/ulysses.h); every rank of the group
//                              then calls Restore with the same input. Null: off
//
// SeedVR2Generator (the official pipeline, projects/video_diffusion_sr/infer.py):
// the DiT fed [noise | LQ latent | mask 1] at t = 1000 with the fixed text
// embedding; the restored latent is x̂ = noise - v (v_lerp prediction, one
// Euler step to the endpoint). Latents are channel-first clips, the layout
// the VAE and the discriminators use; Restore packs them into the DiT's
// native-resolution token sequences and back.
#pragma once

#include <ATen/core/Tensor.h>

#include <concepts>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "seedvr/models/dit/nadit.h"
#include "seedvr/parallel/ulysses.h"

namespace seedvr::generator {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

template <class G>
concept Generator = requires(G g, const at::Tensor& x) {
  { g.Restore(x, x) } -> std::same_as<at::Tensor>;
  { g.NamedParameters() } -> std::same_as<NamedTensors>;
  g.SetSequenceParallel(parallel::SequenceParallelHandle());
};

class SeedVR2Generator {
 public:
  // `text`: [Lt, txt_in_dim], the positive text embedding.
  SeedVR2Generator(dit::NaDiT dit, at::Tensor text);

  dit::NaDiT& dit() { return dit_; }

  // lq, noise: [B, 16, T', h, w] -> restored latents, same shape and dtype.
  at::Tensor Restore(const at::Tensor& lq, const at::Tensor& noise);

  NamedTensors NamedParameters() const;

  void SetSequenceParallel(parallel::SequenceParallelHandle sp) { dit_->set_sequence_parallel(std::move(sp)); }

 private:
  dit::NaDiT dit_;
  at::Tensor text_;
};

static_assert(Generator<SeedVR2Generator>);

// The official condition augmentation (condition.noise_scale, 0.25 in the
// official training config; the inference script sets 0): the LQ latent
// moves along the flow toward noise, lq' = (1 - t') lq + t' eps
// (schedule.forward at t'), with t = noise_scale shifted for the clip's
// size as timestep_transform does: t' = s t / (1 + (s - 1) t), s linear in
// the pixel count through (256^2 x 37 px, 1.0) and (1280 x 720 x 145 px,
// 5.0) for video, (256^2, 1.0) and (1024^2, 3.2) for images.
// frames, height, width: the clip's size in pixels.
double ConditionShift(int64_t frames, int64_t height, int64_t width);
// lq, eps: [B, 16, T', h, w]; noise_scale 0 returns lq itself.
at::Tensor AugmentCondition(const at::Tensor& lq, const at::Tensor& eps, double noise_scale, double shift);

}  // namespace seedvr::generator

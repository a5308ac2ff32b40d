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

}  // namespace seedvr::generator

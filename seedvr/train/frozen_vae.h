// The frozen VAE as the trainer uses it: clips in [-1, 1] to scaled latents
// (posterior samples, as the official encode draws, or posterior means) and,
// for pixel-space discriminators, back to pixels with gradients to the
// latents. Weights never train (requires_grad off, eval mode). With bf16
// (training.vae_precision) the weights are held and run in bf16, as the
// official pipeline runs the VAE; clips come in and latents go out in fp32.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <optional>

#include "absl/status/statusor.h"
#include "seedvr/models/vae/vae_model.h"

namespace seedvr::train {

class FrozenVAE {
 public:
  FrozenVAE(vae::VideoVAE vae, bool bf16);

  vae::VideoVAE& vae() { return vae_; }
  double scale() const;

  // video [B, 3, T, H, W] -> latents [B, 16, T', H/8, W/8] * scaling_factor:
  // a posterior sample drawn from `gen` (what the official encode returns),
  // or the posterior mean when `gen` is empty. No gradient.
  absl::StatusOr<at::Tensor> Encode(const at::Tensor& video, std::optional<at::Generator> gen);

  // Latents -> pixels [B, 3, T, H, W] in fp32, without gradients and within
  // the VAE's memory settings (what the evaluation shows).
  absl::StatusOr<at::Tensor> Decode(const at::Tensor& latents);

  // Latents -> pixels with gradients flowing back to the latents (the
  // decoder's weights stay frozen).
  at::Tensor DecodeWithGrad(const at::Tensor& latents);

 private:
  vae::VideoVAE vae_;
  at::ScalarType dtype_;
};

}  // namespace seedvr::train

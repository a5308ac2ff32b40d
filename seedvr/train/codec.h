// The frozen VAE as the trainer sees it: clips in [-1, 1] to scaled latents
// (posterior samples, as the official encode draws) and back.
#pragma once

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <optional>

#include "absl/status/statusor.h"
#include "seedvr/models/vae/vae_model.h"

namespace seedvr::train {

class LatentCodec {
 public:
  explicit LatentCodec(vae::VideoVAE vae) : vae_(std::move(vae)) {
    vae_->eval();
    for (auto& p : vae_->parameters()) p.requires_grad_(false);
  }

  vae::VideoVAE& vae() { return vae_; }
  double scale() const { return vae_->config().scaling_factor; }

  // video [B, 3, T, H, W] -> latents [B, 16, T', H/8, W/8] * scaling_factor:
  // a posterior sample drawn from `gen` (what the official encode returns),
  // or the posterior mean when `gen` is empty.
  absl::StatusOr<at::Tensor> Encode(const at::Tensor& video, std::optional<at::Generator> gen) {
    auto post = vae_->Encode(video);
    if (!post.ok()) return post.status();
    torch::NoGradGuard no_grad;
    return (gen.has_value() ? post->Sample(gen) : post->mean) * scale();
  }

  // Latents -> pixels with gradients flowing back to the latents (the
  // decoder's weights stay frozen): for discriminators that judge pixels.
  at::Tensor DecodeWithGrad(const at::Tensor& latents) { return vae_->decoder()->forward(latents / scale()); }

 private:
  vae::VideoVAE vae_;
};

}  // namespace seedvr::train

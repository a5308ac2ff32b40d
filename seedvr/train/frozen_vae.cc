#include "seedvr/train/frozen_vae.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <utility>

namespace seedvr::train {

FrozenVAE::FrozenVAE(vae::VideoVAE vae) : vae_(std::move(vae)) {
  vae_->eval();
  for (auto& p : vae_->parameters()) p.requires_grad_(false);
}

double FrozenVAE::scale() const { return vae_->config().scaling_factor; }

absl::StatusOr<at::Tensor> FrozenVAE::Encode(const at::Tensor& video, std::optional<at::Generator> gen) {
  auto post = vae_->Encode(video);
  if (!post.ok()) return post.status();
  torch::NoGradGuard no_grad;
  return (gen.has_value() ? post->Sample(gen) : post->mean) * scale();
}

at::Tensor FrozenVAE::DecodeWithGrad(const at::Tensor& latents) { return vae_->decoder()->forward(latents / scale()); }

}  // namespace seedvr::train

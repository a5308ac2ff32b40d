#include "seedvr/train/frozen_vae.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <utility>

namespace seedvr::train {

FrozenVAE::FrozenVAE(vae::VideoVAE vae, bool bf16) : vae_(std::move(vae)), dtype_(bf16 ? at::kBFloat16 : at::kFloat) {
  vae_->to(dtype_);
  vae_->eval();
  for (auto& p : vae_->parameters()) p.requires_grad_(false);
}

double FrozenVAE::scale() const { return vae_->config().scaling_factor; }

absl::StatusOr<at::Tensor> FrozenVAE::Encode(const at::Tensor& video, std::optional<at::Generator> gen) {
  auto post = vae_->Encode(video.to(dtype_));
  if (!post.ok()) return post.status();
  torch::NoGradGuard no_grad;
  return (gen.has_value() ? post->Sample(gen) : post->mean).to(at::kFloat) * scale();
}

absl::StatusOr<at::Tensor> FrozenVAE::Decode(const at::Tensor& latents) {
  auto video = vae_->Decode((latents / scale()).to(dtype_));
  if (!video.ok()) return video.status();
  return video->to(at::kFloat);
}

at::Tensor FrozenVAE::DecodeWithGrad(const at::Tensor& latents) {
  return vae_->decoder()->forward((latents / scale()).to(dtype_)).to(at::kFloat);
}

}  // namespace seedvr::train

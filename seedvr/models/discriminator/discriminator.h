// What every discriminator provides to the trainer.
//
// Contract (concept Discriminator): a torch::nn::ModuleHolder whose
// `forward(x)` takes clips [B, C, T, H, W] (VAE latents channel-first by
// default, or decoded pixels) and returns DiscriminatorOutput: `logits`
// (a map [B, 1, t, h, w] or one per clip [B, 1]) and `features`, the
// intermediate activations feature matching compares. `kName` is the config's
// discriminator.type.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <concepts>
#include <vector>

namespace seedvr {

struct DiscriminatorOutput {
  at::Tensor logits;
  std::vector<at::Tensor> features;
};

template <class D>
concept Discriminator = requires(D d, const at::Tensor& x) {
  { D::Impl::kName } -> std::convertible_to<const char*>;
  { d->forward(x) } -> std::same_as<DiscriminatorOutput>;
  { d->parameters() } -> std::same_as<std::vector<at::Tensor>>;
};

}  // namespace seedvr

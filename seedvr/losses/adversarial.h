// Adversarial loss policies for APT.
//
// Contract of an AdversarialLoss policy (concept below):
//   static constexpr const char* kName;       // the config's loss.loss_type
//   static at::Tensor Discriminator(real_logits, fake_logits);   // D minimises
//   static at::Tensor Generator(fake_logits, real_logits);       // G minimises
// Logits may be maps [B, 1, t, h, w] (PatchGAN) or one per clip [B, 1];
// every loss is a mean over elements, a 0-d tensor. `real_logits` in
// Generator is only read by relativistic losses; the trainer computes it
// without gradient to D.
//
// Adding a loss: a struct here (and its body in adversarial.cc), its test,
// and one line in the trainer product (seedvr/train/BUILD.bazel).
#pragma once

#include <ATen/core/Tensor.h>

#include <concepts>

namespace seedvr::losses {

template <class L>
concept AdversarialLoss = requires(const at::Tensor& a, const at::Tensor& b) {
  { L::kName } -> std::convertible_to<const char*>;
  { L::Discriminator(a, b) } -> std::same_as<at::Tensor>;
  { L::Generator(a, b) } -> std::same_as<at::Tensor>;
};

// StyleGAN2 / APT: L_D = softplus(-D(x)) + softplus(D(x̂)); L_G = softplus(-D(x̂)).
struct NonSaturating {
  static constexpr const char* kName = "non_saturating";
  static at::Tensor Discriminator(const at::Tensor& real, const at::Tensor& fake);
  static at::Tensor Generator(const at::Tensor& fake, const at::Tensor& real);
};

// L_D = relu(1 - D(x)) + relu(1 + D(x̂)); L_G = -D(x̂). The guide's stable fallback.
struct Hinge {
  static constexpr const char* kName = "hinge";
  static at::Tensor Discriminator(const at::Tensor& real, const at::Tensor& fake);
  static at::Tensor Generator(const at::Tensor& fake, const at::Tensor& real);
};

// Relativistic pairing (SeedVR2, R3GAN): L_D = softplus(-(D(x) - D(x̂)));
// L_G = softplus(-(D(x̂) - D(x))), pairing each clip with its own HQ clip.
struct RpGAN {
  static constexpr const char* kName = "rpgan";
  static at::Tensor Discriminator(const at::Tensor& real, const at::Tensor& fake);
  static at::Tensor Generator(const at::Tensor& fake, const at::Tensor& real);
};

static_assert(AdversarialLoss<NonSaturating> && AdversarialLoss<Hinge> && AdversarialLoss<RpGAN>);

}  // namespace seedvr::losses

#include "seedvr/losses/adversarial.h"

#include <ATen/ATen.h>

namespace seedvr::losses {

at::Tensor NonSaturating::Discriminator(const at::Tensor& real, const at::Tensor& fake) {
  return at::softplus(-real).mean() + at::softplus(fake).mean();
}
at::Tensor NonSaturating::Generator(const at::Tensor& fake, const at::Tensor& /*real*/) {
  return at::softplus(-fake).mean();
}

at::Tensor Hinge::Discriminator(const at::Tensor& real, const at::Tensor& fake) {
  return at::relu(1 - real).mean() + at::relu(1 + fake).mean();
}
at::Tensor Hinge::Generator(const at::Tensor& fake, const at::Tensor& /*real*/) { return -fake.mean(); }

at::Tensor RpGAN::Discriminator(const at::Tensor& real, const at::Tensor& fake) {
  return at::softplus(-(real - fake)).mean();
}
at::Tensor RpGAN::Generator(const at::Tensor& fake, const at::Tensor& real) {
  return at::softplus(-(fake - real)).mean();
}

}  // namespace seedvr::losses

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/nn/modules/conv.h>

#include <cmath>

#include "seedvr/losses/adversarial.h"
#include "seedvr/losses/feature_matching.h"
#include "seedvr/losses/regularizers.h"
#include "seedvr/models/discriminator/patch.h"

namespace seedvr::losses {
namespace {

double Sp(double x) { return std::log1p(std::exp(x)); }

// real logits {1, -2}, fake logits {0.5, 3}
const at::Tensor kReal = at::tensor({1.0, -2.0}, at::kDouble);
const at::Tensor kFake = at::tensor({0.5, 3.0}, at::kDouble);

TEST(Adversarial, NonSaturatingByHand) {
  double d = (Sp(-1) + Sp(2)) / 2 + (Sp(0.5) + Sp(3)) / 2;
  double g = (Sp(-0.5) + Sp(-3)) / 2;
  EXPECT_NEAR(NonSaturating::Discriminator(kReal, kFake).item<double>(), d, 1e-12);
  EXPECT_NEAR(NonSaturating::Generator(kFake, kReal).item<double>(), g, 1e-12);
}

TEST(Adversarial, HingeByHand) {
  // relu(1-1)=0, relu(1+2)=3 -> 1.5; relu(1+0.5)=1.5, relu(1+3)=4 -> 2.75
  EXPECT_NEAR(Hinge::Discriminator(kReal, kFake).item<double>(), 1.5 + 2.75, 1e-12);
  EXPECT_NEAR(Hinge::Generator(kFake, kReal).item<double>(), -1.75, 1e-12);
}

TEST(Adversarial, RpGANByHand) {
  // real - fake = {0.5, -5}
  EXPECT_NEAR(RpGAN::Discriminator(kReal, kFake).item<double>(), (Sp(-0.5) + Sp(5)) / 2, 1e-12);
  EXPECT_NEAR(RpGAN::Generator(kFake, kReal).item<double>(), (Sp(0.5) + Sp(-5)) / 2, 1e-12);
}

TEST(Regularizers, R1OfALinearCriticIsItsSquaredWeightNorm) {
  at::Tensor w = at::tensor({0.5, -1.0, 2.0}, at::kDouble);
  at::Tensor x = at::randn({4, 3}, at::kDouble);
  at::Tensor p = R1Penalty([&](const at::Tensor& v) { return (v * w).sum(1) + v.pow(2).sum(1) * 0; }, x);
  EXPECT_NEAR(p.item<double>(), 0.25 + 1 + 4, 1e-12);
  // A quadratic critic D(x) = sum(x^2): |grad|^2 = 4 |x|^2.
  at::Tensor q = R1Penalty([](const at::Tensor& v) { return v.pow(2).sum(1); }, x);
  EXPECT_NEAR(q.item<double>(), (4 * x.pow(2).sum(1)).mean().item<double>(), 1e-12);
}

TEST(Regularizers, LazyR1Schedule) {
  LazyR1 r1{10.0, 16};
  EXPECT_TRUE(r1.Due(0));
  EXPECT_FALSE(r1.Due(1));
  EXPECT_TRUE(r1.Due(32));
  EXPECT_NEAR(r1.Loss(at::ones({}, at::kDouble)).item<double>(), 10.0 / 2 * 16, 1e-12);
  EXPECT_FALSE((LazyR1{0.0, 16}).Due(0));
}

// The gradient of the R1 penalty with respect to D's weights (a double
// backward) matches central finite differences.
TEST(Regularizers, R1GradientMatchesFiniteDifferences) {
  at::manual_seed(0);
  discriminator::PatchDiscriminator d(discriminator::PatchDiscriminatorOptions{4, 4, 1});
  d->to(at::kDouble);
  at::Tensor x = at::randn({2, 4, 2, 8, 8}, at::kDouble);
  auto penalty = [&] { return R1Penalty([&](const at::Tensor& v) { return d->forward(v).logits; }, x); };
  at::Tensor w = d->named_parameters()["layers.0.0.weight"];
  at::Tensor grad = torch::autograd::grad({penalty()}, {w})[0];
  const double h = 1e-5;
  for (int64_t i : {0, 7, 33, 100}) {
    double* p = w.data_ptr<double>() + i;
    const double saved = *p;
    *p = saved + h;
    double up = penalty().item<double>();
    *p = saved - h;
    double down = penalty().item<double>();
    *p = saved;
    double fd = (up - down) / (2 * h);
    EXPECT_NEAR(grad.flatten()[i].item<double>(), fd, 1e-6 * std::max(1.0, std::abs(fd))) << "weight " << i;
  }
}

TEST(Regularizers, ApproximatedPenaltyByHand) {
  at::Tensor x = at::tensor({1.0, 2.0}, at::kDouble);
  at::Tensor noise = at::tensor({1.0, -1.0}, at::kDouble);
  auto d = [](const at::Tensor& v) { return 3 * v; };
  // (3x - 3(x + 0.1 n))^2 = 0.09 n^2 -> mean 0.09
  EXPECT_NEAR(ApproximatedPenalty(d, d(x), x, noise, 0.1).item<double>(), 0.09, 1e-12);
}

TEST(Regularizers, FeatureMatchingIsMeanL1OverLayers) {
  std::vector<at::Tensor> fake = {at::full({2, 2}, 1.0, at::kDouble), at::zeros({3}, at::kDouble)};
  std::vector<at::Tensor> real = {at::full({2, 2}, 0.5, at::kDouble), at::full({3}, -2.0, at::kDouble)};
  EXPECT_NEAR(FeatureMatching(fake, real).item<double>(), (0.5 + 2.0) / 2, 1e-12);
}

}  // namespace
}  // namespace seedvr::losses

// Degradations: resize kernels, blur kernels, noise statistics, and the full
// Real-ESRGAN-style pipeline (sizes, reproducibility, error range, codecs).
// Reference values: Real-ESRGAN options/train_realesrgan_x4plus.yml and
// realesrgan_model.py feed_data (stage-2 size int(ori_h / scale * s2)).
#include "seedvr/data/degradation.h"

#include <array>
#include <cmath>
#include <functional>
#include <numbers>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "seedvr/data/image_ops.h"
#include "tests/data/test_util.h"

namespace seedvr::data {
namespace {

ImageF Flat(int w, int h, float v) {
  ImageF img(w, h);
  std::fill(img.px.begin(), img.px.end(), v);
  return img;
}

double Variance(const ImageF& a, const ImageF& b, int channel = -1) {
  double s = 0, s2 = 0;
  size_t n = 0;
  for (size_t i = 0; i < a.px.size(); ++i) {
    if (channel >= 0 && static_cast<int>(i % 3) != channel) continue;
    const double d = a.px[i] - b.px[i];
    s += d;
    s2 += d * d;
    ++n;
  }
  s /= n;
  return s2 / n - s * s;
}

TEST(ResizeTest, ConstantStaysConstantForEveryKernel) {
  const ImageF img = Flat(40, 30, 0.4f);
  for (ResizeKernel k : {ResizeKernel::kArea, ResizeKernel::kBilinear, ResizeKernel::kBicubic}) {
    for (auto [w, h] : {std::pair{13, 9}, std::pair{97, 71}}) {
      const ImageF out = Resize(img, w, h, k, true);
      ASSERT_EQ(out.w, w);
      ASSERT_EQ(out.h, h);
      for (float v : out.px) ASSERT_NEAR(v, 0.4f, 1e-5);
    }
  }
}

TEST(ResizeTest, AreaIsBlockAverage) {
  ImageF img(4, 2);
  for (int i = 0; i < 8; ++i) {
    for (int c = 0; c < 3; ++c) img.px[i * 3 + c] = static_cast<float>(i);
  }
  const ImageF out = Resize(img, 2, 1, ResizeKernel::kArea);
  EXPECT_NEAR(out.px[0], (0 + 1 + 4 + 5) / 4.0, 1e-5);
  EXPECT_NEAR(out.px[3], (2 + 3 + 6 + 7) / 4.0, 1e-5);
}

TEST(ResizeTest, WindowEqualsCropOfFullResize) {
  const Clip clip = testing::SmallClip(50, 40, 1);
  const ImageF img = ToFloat(clip.frame(0), clip.w, clip.h);
  for (ResizeKernel k : {ResizeKernel::kArea, ResizeKernel::kBilinear, ResizeKernel::kBicubic}) {
    const ImageF full = Resize(img, 123, 77, k);
    const ImageF win = Resize(img, 123, 77, k, false, 30, 20, 64, 48);
    for (int y = 0; y < 48; ++y) {
      for (int x = 0; x < 64; ++x) {
        for (int c = 0; c < 3; ++c) {
          ASSERT_NEAR(win.px[(y * 64 + x) * 3 + c], full.px[((y + 20) * 123 + x + 30) * 3 + c], 1e-5);
        }
      }
    }
  }
}

TEST(ResizeTest, DownUpOfSmoothImageIsClose) {
  ImageF img(64, 64);
  for (int y = 0; y < 64; ++y) {
    for (int x = 0; x < 64; ++x) {
      for (int c = 0; c < 3; ++c) img.px[(y * 64 + x) * 3 + c] = 0.5f + 0.4f * std::sin(x * 0.1f + c) * std::cos(y * 0.08f);
    }
  }
  for (ResizeKernel k : {ResizeKernel::kArea, ResizeKernel::kBilinear, ResizeKernel::kBicubic}) {
    const ImageF back = Resize(Resize(img, 32, 32, k, true), 64, 64, ResizeKernel::kBicubic);
    double err = 0;
    for (size_t i = 0; i < img.px.size(); ++i) err = std::max(err, static_cast<double>(std::fabs(back.px[i] - img.px[i])));
    EXPECT_LT(err, 0.03);
  }
}

TEST(KernelTest, GaussianKernelsAreNormalisedWithTheRightCovariance) {
  const double sx = 2.5, sy = 1.0, theta = std::numbers::pi / 6;
  const Kernel2D k = AnisotropicGaussianKernel(21, sx, sy, theta);
  double sum = 0, mxx = 0, myy = 0, mxy = 0;
  for (int y = -10; y <= 10; ++y) {
    for (int x = -10; x <= 10; ++x) {
      const double w = k.w[(y + 10) * 21 + x + 10];
      sum += w;
      mxx += w * x * x;
      myy += w * y * y;
      mxy += w * x * y;
    }
  }
  EXPECT_NEAR(sum, 1.0, 1e-5);
  const double c = std::cos(theta), s = std::sin(theta);
  EXPECT_NEAR(mxx, c * c * sx * sx + s * s * sy * sy, 0.1);
  EXPECT_NEAR(myy, s * s * sx * sx + c * c * sy * sy, 0.1);
  EXPECT_NEAR(mxy, c * s * (sx * sx - sy * sy), 0.1);
  double sinc_sum = 0;
  for (float v : SincKernel(13, std::numbers::pi / 3).w) sinc_sum += v;
  EXPECT_NEAR(sinc_sum, 1.0, 1e-5);
}

double At(const Kernel2D& k, int x, int y) {
  const int r = k.size / 2;
  return k.w[(y + r) * k.size + (x + r)];
}
double Sum(const Kernel2D& k) {
  double s = 0;
  for (float v : k.w) s += v;
  return s;
}

// Real-ESRGAN's generalized Gaussian is exp(-(x^T S^-1 x)^beta / 2): the exponent
// acts on the squared Mahalanobis distance, so beta = 1 (not 2) is the
// Gaussian; in the 1-D |x/a|^p convention that is p = 2 beta = 2.
TEST(KernelTest, GeneralizedGaussianWithBetaOneIsTheGaussian) {
  for (auto [sx, sy, th] : {std::array{1.5, 1.5, 0.0}, std::array{2.5, 0.8, 0.6}, std::array{0.4, 2.9, -2.0}}) {
    const Kernel2D g = AnisotropicGaussianKernel(21, sx, sy, th);
    const Kernel2D gg = GeneralizedGaussianKernel(21, sx, sy, th, 1.0);
    ASSERT_EQ(gg.w.size(), g.w.size());
    for (size_t i = 0; i < g.w.size(); ++i) ASSERT_NEAR(gg.w[i], g.w[i], 1e-6) << i;
  }
  // Any beta: w(x) / w(0) = exp(-q^beta / 2); q = (x^2 + y^2) / s^2 for an isotropic one.
  for (double beta : {0.5, 2.0, 4.0}) {
    const double s = 2.0;
    const Kernel2D k = GeneralizedGaussianKernel(15, s, s, 0.0, beta);
    EXPECT_NEAR(Sum(k), 1.0, 1e-5);
    for (auto [x, y] : {std::pair{1, 0}, std::pair{2, 1}, std::pair{3, 3}}) {
      const double q = (x * x + y * y) / (s * s);
      EXPECT_NEAR(At(k, x, y) / At(k, 0, 0), std::exp(-0.5 * std::pow(q, beta)), 1e-5) << beta;
    }
  }
}

TEST(KernelTest, PlateauFollowsItsFormula) {
  // 1 / (1 + q^beta): half the peak on the q = 1 ellipse for every beta, the
  // formula's ratio everywhere, symmetric, decreasing outwards; a larger beta is
  // flatter inside the ellipse and falls faster outside it.
  const double s = 3.0;
  for (double beta : {1.0, 1.5, 2.0}) {
    const Kernel2D k = PlateauKernel(21, s, s, 0.0, beta);
    EXPECT_NEAR(Sum(k), 1.0, 1e-5);
    const double peak = At(k, 0, 0);
    EXPECT_NEAR(At(k, 3, 0) / peak, 0.5, 1e-6);
    EXPECT_NEAR(At(k, 0, -3) / peak, 0.5, 1e-6);
    for (int y = -10; y <= 10; ++y) {
      for (int x = -10; x <= 10; ++x) {
        const double q = (x * x + y * y) / (s * s);
        ASSERT_NEAR(At(k, x, y) / peak, 1.0 / (1.0 + std::pow(q, beta)), 1e-5);
        ASSERT_EQ(At(k, x, y), At(k, -x, -y));
        if (x > 0) {
          ASSERT_LT(At(k, x, y), At(k, x - 1, y));
        }
      }
    }
  }
  const Kernel2D soft = PlateauKernel(21, s, s, 0.0, 1.0), hard = PlateauKernel(21, s, s, 0.0, 2.0);
  EXPECT_GT(At(hard, 2, 0) / At(hard, 0, 0), At(soft, 2, 0) / At(soft, 0, 0));  // q < 1
  EXPECT_LT(At(hard, 6, 0) / At(hard, 0, 0), At(soft, 6, 0) / At(soft, 0, 0));  // q > 1
  // Anisotropic: half the peak at (sx, 0) and (0, sy); theta = pi/2 swaps the axes.
  const Kernel2D a = PlateauKernel(21, 3.0, 2.0, 0.0, 1.5);
  EXPECT_NEAR(At(a, 3, 0) / At(a, 0, 0), 0.5, 1e-6);
  EXPECT_NEAR(At(a, 0, 2) / At(a, 0, 0), 0.5, 1e-6);
  const Kernel2D rot = PlateauKernel(21, 3.0, 2.0, std::numbers::pi / 2, 1.5);
  for (int y = -10; y <= 10; ++y) {
    for (int x = -10; x <= 10; ++x) ASSERT_NEAR(At(rot, x, y), At(a, y, x), 1e-7);
  }
  // The generalized Gaussian shares the covariance convention of the Gaussian.
  const Kernel2D ga = GeneralizedGaussianKernel(21, 3.0, 2.0, 0.0, 1.5);
  EXPECT_NEAR(At(ga, 3, 0), At(ga, 0, 2), 1e-7);
}

TEST(BlurTest, EveryKernelLowersHighFrequencyEnergy) {
  const Clip clip = testing::SmallClip(96, 64, 1);
  const ImageF img = ToFloat(clip.frame(0), clip.w, clip.h);
  const double base = HighFrequencyEnergy(ToFrame(img));
  const double iso = HighFrequencyEnergy(ToFrame(Filter2D(img, GaussianKernel(15, 2.0))));
  const double weak = HighFrequencyEnergy(ToFrame(Filter2D(img, GaussianKernel(15, 0.5))));
  const double aniso = HighFrequencyEnergy(ToFrame(Filter2D(img, AnisotropicGaussianKernel(15, 3.0, 0.5, 0.7))));
  const double sinc = HighFrequencyEnergy(ToFrame(Filter2D(img, SincKernel(15, std::numbers::pi / 4))));
  const double sep = HighFrequencyEnergy(ToFrame(GaussianBlur(img, 2.0)));
  EXPECT_LT(iso, 0.2 * base);
  EXPECT_LT(iso, weak);
  EXPECT_LT(weak, base);
  EXPECT_LT(aniso, 0.5 * base);
  EXPECT_LT(sinc, 0.5 * base);
  EXPECT_NEAR(sep, iso, 0.1 * iso);  // separable path agrees with the 2-D one
}

TEST(BlurTest, SeparableDecompositionMatchesDirectFilter) {
  // An anisotropic kernel goes through the rank-r path; compare to brute force.
  const Clip clip = testing::SmallClip(40, 30, 1);
  const ImageF img = ToFloat(clip.frame(0), clip.w, clip.h);
  const Kernel2D k = AnisotropicGaussianKernel(11, 2.0, 0.6, 1.1);
  const ImageF fast = Filter2D(img, k);
  for (int y : {0, 7, 29}) {
    for (int x : {0, 13, 39}) {
      double acc = 0;
      for (int ky = 0; ky < 11; ++ky) {
        for (int kx = 0; kx < 11; ++kx) {
          const int sx = std::clamp(x + kx - 5, 0, 39), sy = std::clamp(y + ky - 5, 0, 29);
          acc += k.w[ky * 11 + kx] * img.px[(sy * 40 + sx) * 3];
        }
      }
      EXPECT_NEAR(fast.px[(y * 40 + x) * 3], acc, 2e-3);
    }
  }
}

TEST(NoiseTest, GaussianNoiseAddsTheExpectedVariance) {
  const ImageF clean = Flat(128, 128, 0.5f);
  for (bool gray : {false, true}) {
    ImageF img = clean;
    Rng rng(1);
    AddGaussianNoise(&img, 10.0 / 255, gray, rng);
    const double var = Variance(img, clean);
    EXPECT_NEAR(std::sqrt(var) * 255, 10.0, 0.3);
    bool same = true;
    for (size_t i = 0; i < img.px.size(); i += 3) same &= img.px[i] == img.px[i + 1] && img.px[i] == img.px[i + 2];
    EXPECT_EQ(same, gray);
  }
}

TEST(NoiseTest, PoissonNoiseVarianceScalesWithIntensity) {
  for (float v : {0.02f, 0.5f}) {  // exact Poisson below lambda 16, Gaussian above
    const ImageF clean = Flat(128, 128, v);
    ImageF img = clean;
    Rng rng(2);
    const double scale = 2.0;
    AddPoissonNoise(&img, scale, false, rng);
    const double expect = scale * scale * v / 255.0;
    EXPECT_NEAR(Variance(img, clean), expect, 0.08 * expect) << v;
  }
  ImageF gray = Flat(64, 64, 0.5f);
  Rng rng(3);
  AddPoissonNoise(&gray, 1.0, true, rng);
  EXPECT_EQ(gray.px[0], gray.px[1]);
}

DegradationConfig FastConfig() {
  DegradationConfig c;
  c.x264_preset = "ultrafast";
  return c;
}

TEST(DegraderTest, ReproducibleSizedAndInRange) {
  const Clip hq = testing::SmallClip(64, 64, 5);
  const Degrader d(FastConfig());
  std::string desc;
  absl::StatusOr<Clip> a = d.Apply(hq, 42, true, &desc);
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<Clip> b = d.Apply(hq, 42);
  absl::StatusOr<Clip> c = d.Apply(hq, 43);
  ASSERT_TRUE(b.ok() && c.ok());
  EXPECT_EQ(a->rgb, b->rgb);
  EXPECT_NE(a->rgb, c->rgb);
  EXPECT_EQ(a->t, 5);
  EXPECT_EQ(a->w, 64);
  EXPECT_EQ(a->h, 64);
  EXPECT_NE(desc.find("blur1="), std::string::npos);
  absl::StatusOr<Clip> small = d.Apply(hq, 42, false);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->w, 16);
  EXPECT_EQ(small->h, 16);
  // Degraded but recognisable: PSNR over many seeds stays in a plausible band.
  for (uint64_t seed = 0; seed < 6; ++seed) {
    absl::StatusOr<Clip> lq = d.Apply(hq, seed);
    ASSERT_TRUE(lq.ok()) << lq.status();
    const double p = Psnr(lq->rgb.data(), hq.rgb.data(), hq.rgb.size());
    EXPECT_GT(p, 10.0) << seed;
    EXPECT_LT(p, 32.0) << seed;
    EXPECT_LT(HighFrequencyEnergy(lq->GetFrame(0)), HighFrequencyEnergy(hq.GetFrame(0)) * 1.5);
  }
}

TEST(DegraderTest, EveryCodecModeRunsAndUnknownIsAnError) {
  const Clip hq = testing::SmallClip(48, 48, 5);
  for (const char* mode : {"libx264_crf", "libx264_bitrate", "mpeg4_bitrate", "mpeg4_qscale"}) {
    DegradationConfig c = FastConfig();
    c.codecs = {mode};
    std::string desc;
    absl::StatusOr<Clip> lq = Degrader(c).Apply(hq, 5, true, &desc);
    ASSERT_TRUE(lq.ok()) << mode << ": " << lq.status();
    EXPECT_NE(desc.find("codec="), std::string::npos);
  }
  DegradationConfig bad = FastConfig();
  bad.codecs = {"wmv9"};
  EXPECT_FALSE(Degrader(bad).Apply(hq, 5).ok());
}

TEST(DegraderTest, ParametersDriftSmoothlyAcrossFrames) {
  // A static clip: frame-to-frame differences come only from fresh noise and
  // drifting parameters, so the frames stay close to each other and to the
  // first frame's look (no per-frame redraw of the whole pipeline).
  Clip hq = testing::SmallClip(64, 64, 1);
  Clip still(9, 64, 64);
  for (int i = 0; i < 9; ++i) std::copy(hq.frame(0), hq.frame(0) + hq.frame_bytes(), still.frame(i));
  DegradationConfig c = FastConfig();
  c.codec_prob = 0;
  c.noise_sigma = c.noise_sigma2 = {1, 2};
  c.poisson_scale = c.poisson_scale2 = {0.05, 0.1};
  for (uint64_t seed = 0; seed < 4; ++seed) {
    absl::StatusOr<Clip> lq = Degrader(c).Apply(still, seed);
    ASSERT_TRUE(lq.ok());
    for (int i = 1; i < 9; ++i) {
      EXPECT_GT(Psnr(lq->frame(i), lq->frame(i - 1), lq->frame_bytes()), 24.0) << "seed " << seed << " frame " << i;
    }
  }
}

// ---- The drawn plan (Degrader::Plan) against Real-ESRGAN's recipe ----

DegradationPlan MustPlan(const Degrader& d, int w, int h, int t, uint64_t seed) {
  absl::StatusOr<DegradationPlan> p = d.Plan(w, h, t, seed);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : DegradationPlan();
}

// |observed - p| within 5 binomial standard deviations.
void ExpectFrequency(int hits, int n, double p, const std::string& what) {
  EXPECT_NEAR(static_cast<double>(hits) / n, p, 5.0 * std::sqrt(p * (1 - p) / n) + 1e-9) << what;
}

TEST(DegradationPlanTest, DefaultsAreRealEsrganX4plus) {
  const DegradationConfig c;
  EXPECT_EQ(c.blur_kernel_prob, (std::vector<double>{0.45, 0.25, 0.12, 0.03, 0.12, 0.03}));
  EXPECT_EQ(c.blur_kernel_prob2, c.blur_kernel_prob);
  EXPECT_EQ(c.betag_range.lo, 0.5);
  EXPECT_EQ(c.betag_range.hi, 4.0);
  EXPECT_EQ(c.betap_range.lo, 1.0);
  EXPECT_EQ(c.betap_range.hi, 2.0);
  EXPECT_EQ(c.betag_range2.lo, 0.5);
  EXPECT_EQ(c.betag_range2.hi, 4.0);
  EXPECT_EQ(c.betap_range2.lo, 1.0);
  EXPECT_EQ(c.betap_range2.hi, 2.0);
  EXPECT_EQ(c.blur_sinc_prob, 0.1);
  EXPECT_EQ(c.blur_sinc_prob2, 0.1);
  EXPECT_EQ(c.blur_sigma2.lo, 0.2);
  EXPECT_EQ(c.blur_sigma2.hi, 1.5);
  EXPECT_EQ(c.resize_scale2.lo, 0.3);
  EXPECT_EQ(c.resize_scale2.hi, 1.2);
  EXPECT_EQ(c.resize_prob2, (std::vector<double>{0.3, 0.4, 0.3}));
}

TEST(DegradationPlanTest, KernelTypeFrequenciesMatchRealEsrgan) {
  // sinc with p = sinc_prob, else kernel_list by kernel_prob; stage 2 only
  // blurs with p = second_blur_prob.
  const DegradationConfig c = FastConfig();
  const Degrader d(c);
  const int n = 20000;
  std::array<int, 7> type1{}, type2{};
  int blur2 = 0;
  for (int i = 0; i < n; ++i) {
    const DegradationPlan p = MustPlan(d, 32, 32, 1, i);
    ASSERT_TRUE(p.stage1.blur.enabled);
    ++type1[static_cast<int>(p.stage1.blur.type)];
    if (p.stage2.blur.enabled) {
      ++blur2;
      ++type2[static_cast<int>(p.stage2.blur.type)];
    }
  }
  ExpectFrequency(blur2, n, c.second_blur_prob, "second blur");
  for (int k = 0; k < 7; ++k) {
    const auto type = static_cast<BlurKernelType>(k);
    const double p1 = type == BlurKernelType::kSinc ? c.blur_sinc_prob : (1 - c.blur_sinc_prob) * c.blur_kernel_prob[k];
    const double p2 =
        type == BlurKernelType::kSinc ? c.blur_sinc_prob2 : (1 - c.blur_sinc_prob2) * c.blur_kernel_prob2[k];
    ExpectFrequency(type1[k], n, p1, std::string("stage 1 ") + BlurKernelTypeName(type));
    ExpectFrequency(type2[k], blur2, p2, std::string("stage 2 ") + BlurKernelTypeName(type));
  }
  // Weights are relative; a zero weight is never drawn.
  DegradationConfig only = c;
  only.blur_sinc_prob = 0;
  only.blur_kernel_prob = {0, 0, 0, 0, 5, 5};
  for (int i = 0; i < 500; ++i) {
    const BlurKernelType t = MustPlan(Degrader(only), 32, 32, 1, i).stage1.blur.type;
    ASSERT_TRUE(t == BlurKernelType::kPlateauIso || t == BlurKernelType::kPlateauAniso);
  }
  DegradationConfig bad = c;
  bad.blur_kernel_prob = {1, 1};
  EXPECT_FALSE(Degrader(bad).Plan(32, 32, 1, 0).ok());
}

TEST(DegradationPlanTest, KernelShapesFollowRealEsrganRanges) {
  // beta: half from [lo, 1], half from [1, hi] (betap [1, 2] makes beta = 1 half
  // the time); sigma in blur_sigma(2); theta in [-pi, pi]; isotropic kernels
  // use sigma_y = sigma_x and theta = 0; sinc cutoff [pi/3, pi] below size 13,
  // else [pi/5, pi]; the final sinc [pi/3, pi]. Every kernel sums to 1.
  const DegradationConfig c = FastConfig();
  const Degrader d(c);
  const double pi = std::numbers::pi;
  int gen = 0, gen_low = 0, plat = 0, plat_one = 0;
  for (int i = 0; i < 6000; ++i) {
    const DegradationPlan p = MustPlan(d, 32, 32, 2, i);
    for (int stage = 1; stage <= 3; ++stage) {
      const BlurPlan& b = stage == 1 ? p.stage1.blur : stage == 2 ? p.stage2.blur : p.final_sinc;
      if (!b.enabled) continue;
      const Range& sigma = stage == 1 ? c.blur_sigma : c.blur_sigma2;
      for (double t : {0.0, 1.0}) {
        const BlurParams k = b.At(t);
        ASSERT_EQ(k.size % 2, 1);
        ASSERT_GE(k.size, 7);
        ASSERT_LE(k.size, 21);
        if (i < 300) {
          ASSERT_NEAR(Sum(k.Kernel()), 1.0, 1e-4) << BlurKernelTypeName(k.type);
        }
        if (k.type == BlurKernelType::kSinc) {
          const double lo = stage == 3 || k.size < 13 ? pi / 3 : pi / 5;
          ASSERT_GE(k.omega_c, lo - 1e-12);
          ASSERT_LE(k.omega_c, pi + 1e-12);
          continue;
        }
        ASSERT_NE(stage, 3);
        ASSERT_GE(k.sigma_x, sigma.lo);
        ASSERT_LE(k.sigma_x, sigma.hi);
        ASSERT_GE(k.sigma_y, sigma.lo);
        ASSERT_LE(k.sigma_y, sigma.hi);
        ASSERT_GE(k.theta, -pi);
        ASSERT_LE(k.theta, pi);
        const bool iso = k.type == BlurKernelType::kIso || k.type == BlurKernelType::kGeneralizedIso ||
                         k.type == BlurKernelType::kPlateauIso;
        if (iso) {
          ASSERT_EQ(k.sigma_y, k.sigma_x);
          ASSERT_EQ(k.theta, 0.0);
        }
        const bool g = k.type == BlurKernelType::kGeneralizedIso || k.type == BlurKernelType::kGeneralizedAniso;
        const bool pl = k.type == BlurKernelType::kPlateauIso || k.type == BlurKernelType::kPlateauAniso;
        if (g) {
          ASSERT_GE(k.beta, 0.5);
          ASSERT_LE(k.beta, 4.0);
        } else if (pl) {
          ASSERT_GE(k.beta, 1.0);
          ASSERT_LE(k.beta, 2.0);
        } else {
          ASSERT_EQ(k.beta, 1.0);
        }
        if (t == 0.0 && g) {
          ++gen;
          gen_low += k.beta < 1.0;
        }
        if (t == 0.0 && pl) {
          ++plat;
          plat_one += k.beta == 1.0;
        }
      }
    }
  }
  ASSERT_GT(gen, 500);
  ASSERT_GT(plat, 500);
  ExpectFrequency(gen_low, gen, 0.5, "generalized beta < 1");
  ExpectFrequency(plat_one, plat, 0.5, "plateau beta == 1");
}

TEST(DegradationPlanTest, StageTwoSizeIsRelativeToTheLqSizeAsInRealEsrgan) {
  // Real-ESRGAN feed_data: stage 1 resizes by s1 (F.interpolate scale_factor:
  // floor(ori * s1)); stage 2 resizes to int(ori / scale * s2), whatever stage
  // 1 produced; up/down/keep by resize_prob2 = [0.3, 0.4, 0.3], s2 from
  // [1, 1.2], [0.3, 1] or 1.
  struct Case {
    int w, h, scale;
  };
  for (Case k : {Case{400, 400, 4}, Case{270, 150, 4}, Case{101, 64, 2}}) {
    DegradationConfig c = FastConfig();
    c.scale = k.scale;
    const Degrader d(c);
    const int n = 8000;
    int up = 0, down = 0, keep = 0;
    double mean_after_up1 = 0, mean_after_down1 = 0;
    int n_up1 = 0, n_down1 = 0;
    for (int i = 0; i < n; ++i) {
      const DegradationPlan p = MustPlan(d, k.w, k.h, 1, i);
      const ResizePlan& r1 = p.stage1.resize;
      const ResizePlan& r2 = p.stage2.resize;
      ASSERT_EQ(r1.w, static_cast<int>(k.w * r1.scale));
      ASSERT_EQ(r1.h, static_cast<int>(k.h * r1.scale));
      ASSERT_GE(r1.scale, 0.15);
      ASSERT_LE(r1.scale, 1.5);
      ASSERT_EQ(r2.w, static_cast<int>(static_cast<double>(k.w) / k.scale * r2.scale));
      ASSERT_EQ(r2.h, static_cast<int>(static_cast<double>(k.h) / k.scale * r2.scale));
      const double lq_h = static_cast<double>(k.h) / k.scale;
      switch (r2.direction) {
        case ResizeDirection::kUp:
          ++up;
          ASSERT_GE(r2.scale, 1.0);
          ASSERT_LE(r2.scale, 1.2);
          break;
        case ResizeDirection::kDown:
          ++down;
          ASSERT_GE(r2.scale, 0.3);
          ASSERT_LE(r2.scale, 1.0);
          break;
        case ResizeDirection::kKeep:
          ++keep;
          ASSERT_EQ(r2.scale, 1.0);
          ASSERT_EQ(r2.h, static_cast<int>(lq_h));
          break;
      }
      ASSERT_GE(r2.h, static_cast<int>(lq_h * 0.3));
      ASSERT_LE(r2.h, static_cast<int>(lq_h * 1.2));
      ASSERT_EQ(p.out_w, (k.w + k.scale - 1) / k.scale);
      ASSERT_EQ(p.out_h, (k.h + k.scale - 1) / k.scale);
      if (r1.direction == ResizeDirection::kUp) {
        mean_after_up1 += r2.h;
        ++n_up1;
      } else if (r1.direction == ResizeDirection::kDown) {
        mean_after_down1 += r2.h;
        ++n_down1;
      }
    }
    ExpectFrequency(up, n, 0.3, "stage-2 up");
    ExpectFrequency(down, n, 0.4, "stage-2 down");
    ExpectFrequency(keep, n, 0.3, "stage-2 keep");
    // Independent of stage 1: the same stage-2 sizes after a stage-1 upscale
    // as after a downscale (they would differ by ~2x if s2 were relative to
    // stage 1's output).
    mean_after_up1 /= n_up1;
    mean_after_down1 /= n_down1;
    EXPECT_NEAR(mean_after_up1 / mean_after_down1, 1.0, 0.05) << k.w << "x" << k.h;
  }
}

TEST(DegradationPlanTest, EveryPerFrameParameterMovesByABoundedStep) {
  // Discrete choices are per clip; every continuous per-frame parameter moves
  // linearly, so consecutive frames differ by at most drift * range / (T - 1).
  const DegradationConfig c = FastConfig();
  const Degrader d(c);
  const double pi = std::numbers::pi;
  const int T = 17;
  int moving = 0, checked = 0;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    const DegradationPlan p = MustPlan(d, 64, 48, T, seed);
    auto check = [&](const char* what, const std::function<double(double)>& value, double range) {
      const double bound = c.drift * range / (T - 1) + 1e-9;
      for (int f = 1; f < T; ++f) {
        ASSERT_LE(std::fabs(value(p.FrameTime(f)) - value(p.FrameTime(f - 1))), bound) << what << " seed " << seed;
      }
      ++checked;
      moving += value(1.0) != value(0.0);
    };
    for (int stage = 1; stage <= 3; ++stage) {
      const BlurPlan& b = stage == 1 ? p.stage1.blur : stage == 2 ? p.stage2.blur : p.final_sinc;
      if (!b.enabled) continue;
      const Range& sigma = stage == 1 ? c.blur_sigma : c.blur_sigma2;
      const Range& betag = stage == 1 ? c.betag_range : c.betag_range2;
      const Range& betap = stage == 1 ? c.betap_range : c.betap_range2;
      for (int f = 1; f < T; ++f) {
        const BlurParams a = b.At(p.FrameTime(f - 1)), z = b.At(p.FrameTime(f));
        ASSERT_EQ(a.type, z.type);
        ASSERT_EQ(a.size, z.size);
      }
      check(
          "sigma_x", [&](double t) { return b.At(t).sigma_x; }, sigma.hi - sigma.lo);
      check(
          "sigma_y", [&](double t) { return b.At(t).sigma_y; }, sigma.hi - sigma.lo);
      check(
          "theta", [&](double t) { return b.At(t).theta; }, 2 * pi);
      const bool plateau = b.type == BlurKernelType::kPlateauIso || b.type == BlurKernelType::kPlateauAniso;
      const Range& beta = plateau ? betap : betag;
      check(
          "beta", [&](double t) { return b.At(t).beta; }, beta.hi - beta.lo);
      check(
          "omega_c", [&](double t) { return b.At(t).omega_c; }, pi - pi / 5);
    }
    for (const StagePlan* s : {&p.stage1, &p.stage2}) {
      const bool one = s == &p.stage1;
      const Range& level =
          s->noise.gaussian ? (one ? c.noise_sigma : c.noise_sigma2) : (one ? c.poisson_scale : c.poisson_scale2);
      const Range& jpeg = one ? c.jpeg_quality : c.jpeg_quality2;
      check(
          "noise", [&](double t) { return s->noise.level.At(t); }, level.hi - level.lo);
      check(
          "jpeg", [&](double t) { return s->jpeg_quality.At(t); }, jpeg.hi - jpeg.lo);
      for (int f = 0; f < T; ++f) {
        const double v = s->noise.level.At(p.FrameTime(f)), q = s->jpeg_quality.At(p.FrameTime(f));
        ASSERT_GE(v, level.lo - 1e-9);
        ASSERT_LE(v, level.hi + 1e-9);
        ASSERT_GE(q, jpeg.lo - 1e-9);
        ASSERT_LE(q, jpeg.hi + 1e-9);
      }
    }
  }
  EXPECT_GT(moving, checked / 4);  // they do drift, not stay fixed
}

TEST(DegraderTest, ApplyExecutesThePlannedStageTwoSize) {
  // A plan whose stage 2 resizes to half the LQ size with the final resize as
  // area (nearest for an exact 2x upscale) and JPEG before it: the LQ frame is
  // made of exact 2x2 blocks. The same plan with stage 2 at the LQ size is not.
  const Clip hq = testing::SmallClip(64, 64, 2);
  DegradationConfig c = FastConfig();
  c.codec_prob = 0;
  c.final_sinc_prob = 0;
  const Degrader d(c);
  DegradationPlan p = MustPlan(d, 64, 64, 2, 3);
  p.final_mode = ResizeKernel::kArea;
  p.sinc_before_jpeg = false;
  auto blocky = [&](const Clip& lq) {
    for (int y = 0; y < lq.h; y += 2) {
      for (int x = 0; x < lq.w; x += 2) {
        for (int c3 = 0; c3 < 3; ++c3) {
          const uint8_t* f = lq.frame(1);
          const uint8_t v = f[(y * lq.w + x) * 3 + c3];
          if (f[(y * lq.w + x + 1) * 3 + c3] != v || f[((y + 1) * lq.w + x) * 3 + c3] != v) return false;
        }
      }
    }
    return true;
  };
  p.stage2.resize = {ResizeDirection::kDown, 0.5, ResizeKernel::kBilinear, 8, 8};
  absl::StatusOr<Clip> half = d.Apply(p, hq, false);
  ASSERT_TRUE(half.ok()) << half.status();
  ASSERT_EQ(half->w, 16);
  EXPECT_TRUE(blocky(*half));
  p.stage2.resize = {ResizeDirection::kKeep, 1.0, ResizeKernel::kBilinear, 16, 16};
  absl::StatusOr<Clip> full = d.Apply(p, hq, false);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_FALSE(blocky(*full));
  // A plan only fits the clip it was drawn for.
  EXPECT_FALSE(d.Apply(p, testing::SmallClip(64, 64, 3), false).ok());
}

}  // namespace
}  // namespace seedvr::data

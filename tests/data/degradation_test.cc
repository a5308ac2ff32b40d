// Degradations: resize kernels, blur kernels, noise statistics, and the full
// Real-ESRGAN-style pipeline (sizes, reproducibility, error range, codecs).
#include <cmath>
#include <numbers>
#include <string>

#include "gtest/gtest.h"
#include "seedvr/data/degradation.h"
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

}  // namespace
}  // namespace seedvr::data

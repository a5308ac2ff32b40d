#include "seedvr/data/degradation.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "seedvr/data/codec_roundtrip.h"
#include "seedvr/data/image_ops.h"
#include "seedvr/data/random.h"

namespace seedvr::data {
namespace {

constexpr double kPi = std::numbers::pi;

// A parameter drifting linearly from `a` (first frame) to `b` (last frame).
struct Drift {
  double a = 0.0, b = 0.0;
  double At(double t) const { return a + (b - a) * t; }
};

Drift SampleDrift(Rng& rng, double lo, double hi, double drift) {
  Drift d;
  d.a = Uniform(rng, lo, hi);
  const double span = (hi - lo) * drift;
  d.b = std::clamp(d.a + Uniform(rng, -span, span), std::min(lo, hi), std::max(lo, hi));
  return d;
}
Drift SampleDrift(Rng& rng, const Range& r, double drift) { return SampleDrift(rng, r.lo, r.hi, drift); }

ResizeKernel SampleMode(Rng& rng) {
  static constexpr ResizeKernel kModes[] = {ResizeKernel::kArea, ResizeKernel::kBilinear, ResizeKernel::kBicubic};
  return kModes[UniformInt(rng, 0, 2)];
}
const char* ModeName(ResizeKernel k) {
  return k == ResizeKernel::kArea ? "area" : k == ResizeKernel::kBilinear ? "bilinear" : "bicubic";
}

struct BlurPlan {
  bool enabled = false;
  int size = 7;
  enum Type { kIso, kAniso, kSinc } type = kIso;
  Drift sx, sy, theta, omega;

  Kernel2D KernelAt(double t) const {
    switch (type) {
      case kSinc:
        return SincKernel(size, omega.At(t));
      case kAniso:
        return AnisotropicGaussianKernel(size, sx.At(t), sy.At(t), theta.At(t));
      default:
        return GaussianKernel(size, sx.At(t));
    }
  }
  std::string Describe(const char* name) const {
    if (!enabled) return absl::StrCat(name, "=off");
    switch (type) {
      case kSinc:
        return absl::StrFormat("%s=sinc(k=%d,wc=%.2f..%.2f)", name, size, omega.a, omega.b);
      case kAniso:
        return absl::StrFormat("%s=aniso(k=%d,sx=%.2f..%.2f,sy=%.2f..%.2f)", name, size, sx.a, sx.b, sy.a, sy.b);
      default:
        return absl::StrFormat("%s=iso(k=%d,s=%.2f..%.2f)", name, size, sx.a, sx.b);
    }
  }
};

BlurPlan SampleBlur(Rng& rng, const DegradationConfig& c, const Range& sigma, double sinc_prob) {
  BlurPlan p;
  p.enabled = true;
  const auto& sizes = c.blur_kernel_size;
  p.size = sizes.empty() ? 21 : sizes[UniformInt(rng, 0, static_cast<int>(sizes.size()) - 1)];
  p.size |= 1;
  if (Bernoulli(rng, sinc_prob)) {
    p.type = BlurPlan::kSinc;
    p.omega = p.size < 13 ? SampleDrift(rng, kPi / 3, kPi, c.drift) : SampleDrift(rng, kPi / 5, kPi, c.drift);
  } else if (Bernoulli(rng, c.blur_aniso_prob)) {
    p.type = BlurPlan::kAniso;
    p.sx = SampleDrift(rng, sigma, c.drift);
    p.sy = SampleDrift(rng, sigma, c.drift);
    p.theta = SampleDrift(rng, -kPi, kPi, c.drift);
  } else {
    p.type = BlurPlan::kIso;
    p.sx = SampleDrift(rng, sigma, c.drift);
  }
  return p;
}

struct ResizePlan {
  double scale = 1.0;
  ResizeKernel mode = ResizeKernel::kBicubic;
};

ResizePlan SampleResize(Rng& rng, const Range& range, const std::vector<double>& probs) {
  ResizePlan p;
  const double up = probs.size() > 0 ? probs[0] : 0.0, down = probs.size() > 1 ? probs[1] : 0.0;
  const double u = Uniform(rng, 0.0, 1.0);
  if (u < up) {
    p.scale = Uniform(rng, 1.0, std::max(1.0, range.hi));
  } else if (u < up + down) {
    p.scale = Uniform(rng, std::min(1.0, range.lo), 1.0);
  }
  p.mode = SampleMode(rng);
  return p;
}

struct NoisePlan {
  bool gaussian = true;
  bool gray = false;
  Drift level;  // sigma (1/255 units) or Poisson scale
};

NoisePlan SampleNoise(Rng& rng, double gaussian_prob, const Range& sigma, const Range& poisson, double gray_prob,
                      double drift) {
  NoisePlan p;
  p.gaussian = Bernoulli(rng, gaussian_prob);
  p.level = SampleDrift(rng, p.gaussian ? sigma : poisson, drift);
  p.gray = Bernoulli(rng, gray_prob);
  return p;
}

void ApplyNoise(ImageF* img, const NoisePlan& p, double t, Rng& rng) {
  if (p.gaussian) {
    AddGaussianNoise(img, p.level.At(t) / 255.0, p.gray, rng);
  } else {
    AddPoissonNoise(img, p.level.At(t), p.gray, rng);
  }
  Clamp01(img);
}

absl::Status ApplyJpeg(ImageF* img, double quality) {
  std::vector<uint8_t> rgb(img->px.size());
  ToRgb8(*img, rgb.data());
  if (absl::Status s = JpegRoundTrip(rgb.data(), img->w, img->h, quality); !s.ok()) return s;
  *img = ToFloat(rgb.data(), img->w, img->h);
  return absl::OkStatus();
}

int Scaled(int v, double s) { return std::max(1, static_cast<int>(std::lround(v * s))); }

}  // namespace

absl::StatusOr<Clip> Degrader::Apply(const Clip& hq, uint64_t seed, bool restore_size, std::string* description) const {
  const DegradationConfig& c = config_;
  if (hq.t <= 0 || hq.w <= 0 || hq.h <= 0) return absl::InvalidArgumentError("empty clip");
  Rng rng(DeriveSeed({seed, 0x6465677261ull}));  // "degra"

  // ---- per-clip plan ----
  const BlurPlan blur1 = SampleBlur(rng, c, c.blur_sigma, c.blur_sinc_prob);
  const ResizePlan resize1 = SampleResize(rng, c.resize_scale, c.resize_prob);
  const NoisePlan noise1 =
      SampleNoise(rng, c.gaussian_noise_prob, c.noise_sigma, c.poisson_scale, c.gray_noise_prob, c.drift);
  const Drift jpeg1 = SampleDrift(rng, c.jpeg_quality, c.drift);
  BlurPlan blur2;
  if (Bernoulli(rng, c.second_blur_prob)) blur2 = SampleBlur(rng, c, c.blur_sigma2, c.blur_sinc_prob);
  const ResizePlan resize2 = SampleResize(rng, c.resize_scale2, c.resize_prob2);
  const NoisePlan noise2 =
      SampleNoise(rng, c.gaussian_noise_prob2, c.noise_sigma2, c.poisson_scale2, c.gray_noise_prob2, c.drift);
  const Drift jpeg2 = SampleDrift(rng, c.jpeg_quality2, c.drift);
  const bool sinc_first = Bernoulli(rng, 0.5);
  BlurPlan final_sinc;
  if (Bernoulli(rng, c.final_sinc_prob)) {
    final_sinc.enabled = true;
    final_sinc.type = BlurPlan::kSinc;
    const auto& sizes = c.blur_kernel_size;
    final_sinc.size = (sizes.empty() ? 21 : sizes[UniformInt(rng, 0, static_cast<int>(sizes.size()) - 1)]) | 1;
    final_sinc.omega = SampleDrift(rng, kPi / 3, kPi, c.drift);
  }
  const ResizeKernel final_mode = SampleMode(rng);
  const bool use_codec = !c.codecs.empty() && Bernoulli(rng, c.codec_prob);
  CodecRoundTripOptions codec;
  std::string codec_desc = "codec=off";
  if (use_codec) {
    const std::string& mode = c.codecs[UniformInt(rng, 0, static_cast<int>(c.codecs.size()) - 1)];
    codec.fps = c.codec_fps;
    codec.preset = c.x264_preset;
    if (mode == "libx264_crf") {
      codec.encoder = "libx264";
      codec.crf = static_cast<int>(std::lround(Uniform(rng, c.x264_crf.lo, c.x264_crf.hi)));
      codec_desc = absl::StrCat("codec=libx264(crf=", codec.crf, ")");
    } else if (mode == "libx264_bitrate" || mode == "mpeg4_bitrate") {
      codec.encoder = mode == "libx264_bitrate" ? "libx264" : "mpeg4";
      codec.bitrate = static_cast<int64_t>(Uniform(rng, c.bitrate.lo, c.bitrate.hi));
      codec_desc = absl::StrCat("codec=", codec.encoder, "(", codec.bitrate, "bit/s)");
    } else if (mode == "mpeg4_qscale") {
      codec.encoder = "mpeg4";
      codec.qscale = static_cast<int>(std::lround(Uniform(rng, c.mpeg4_qscale.lo, c.mpeg4_qscale.hi)));
      codec_desc = absl::StrCat("codec=mpeg4(q=", codec.qscale, ")");
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown codec mode '", mode,
                                                     "' (use libx264_crf, libx264_bitrate, mpeg4_bitrate, "
                                                     "mpeg4_qscale)"));
    }
  }

  const int scale = std::max(1, c.scale);
  const int out_w = std::max(1, (hq.w + scale - 1) / scale), out_h = std::max(1, (hq.h + scale - 1) / scale);
  const int w1 = Scaled(hq.w, resize1.scale), h1 = Scaled(hq.h, resize1.scale);
  const int w2 = Scaled(w1, resize2.scale), h2 = Scaled(h1, resize2.scale);

  if (description != nullptr) {
    *description = absl::StrFormat(
        "%s resize1=%.2f(%s) noise1=%s%s(%.2f..%.2f) jpeg1=%.0f..%.0f %s resize2=%.2f(%s) "
        "noise2=%s%s(%.2f..%.2f) final=%s(%s,sinc=%s) jpeg2=%.0f..%.0f %s out=%dx%d",
        blur1.Describe("blur1"), resize1.scale, ModeName(resize1.mode), noise1.gray ? "gray-" : "",
        noise1.gaussian ? "gauss" : "poisson", noise1.level.a, noise1.level.b, jpeg1.a, jpeg1.b,
        blur2.Describe("blur2"), resize2.scale, ModeName(resize2.mode), noise2.gray ? "gray-" : "",
        noise2.gaussian ? "gauss" : "poisson", noise2.level.a, noise2.level.b,
        sinc_first ? "resize+sinc,jpeg" : "jpeg,resize+sinc", ModeName(final_mode),
        final_sinc.enabled ? "on" : "off", jpeg2.a, jpeg2.b, codec_desc, out_w, out_h);
  }

  // ---- per frame ----
  Clip lq(hq.t, out_w, out_h);
  lq.fps = hq.fps;
  for (int f = 0; f < hq.t; ++f) {
    const double t = hq.t > 1 ? static_cast<double>(f) / (hq.t - 1) : 0.0;
    Rng frng(DeriveSeed({seed, 0x6672616d65ull, static_cast<uint64_t>(f)}));  // "frame"
    ImageF img = ToFloat(hq.frame(f), hq.w, hq.h);
    // Stage 1.
    img = Filter2D(img, blur1.KernelAt(t));
    if (w1 != img.w || h1 != img.h) img = Resize(img, w1, h1, resize1.mode);
    ApplyNoise(&img, noise1, t, frng);
    if (absl::Status s = ApplyJpeg(&img, jpeg1.At(t)); !s.ok()) return s;
    // Stage 2.
    if (blur2.enabled) img = Filter2D(img, blur2.KernelAt(t));
    if (w2 != img.w || h2 != img.h) img = Resize(img, w2, h2, resize2.mode);
    ApplyNoise(&img, noise2, t, frng);
    auto resize_sinc = [&] {
      img = Resize(img, out_w, out_h, final_mode);
      if (final_sinc.enabled) img = Filter2D(img, final_sinc.KernelAt(t));
    };
    if (sinc_first) {
      resize_sinc();
      Clamp01(&img);
      if (absl::Status s = ApplyJpeg(&img, jpeg2.At(t)); !s.ok()) return s;
    } else {
      if (absl::Status s = ApplyJpeg(&img, jpeg2.At(t)); !s.ok()) return s;
      resize_sinc();
    }
    ToRgb8(img, lq.frame(f));
  }
  if (use_codec) {
    if (absl::Status s = VideoCodecRoundTrip(&lq, codec); !s.ok()) return s;
  }
  if (!restore_size) return lq;
  Clip up(hq.t, hq.w, hq.h);
  up.fps = hq.fps;
  for (int f = 0; f < hq.t; ++f) {
    ToRgb8(Resize(ToFloat(lq.frame(f), lq.w, lq.h), hq.w, hq.h, ResizeKernel::kBicubic), up.frame(f));
  }
  return up;
}

}  // namespace seedvr::data

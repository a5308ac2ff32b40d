#include "seedvr/data/degradation.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "seedvr/data/random.h"

namespace seedvr::data {
namespace {

constexpr double kPi = std::numbers::pi;

// Inverse of Sigma = R(theta) diag(sx^2, sy^2) R(theta)^T as q(x, y) = a x^2 + 2 b x y + d y^2
// (x horizontal, y vertical), the same convention as AnisotropicGaussianKernel.
struct QuadraticForm {
  double a, b, d;
  QuadraticForm(double sx, double sy, double theta) {
    const double c = std::cos(theta), s = std::sin(theta);
    const double ix = 1.0 / (sx * sx), iy = 1.0 / (sy * sy);
    a = c * c * ix + s * s * iy;
    b = c * s * (ix - iy);
    d = s * s * ix + c * c * iy;
  }
  double operator()(int x, int y) const { return a * x * x + 2.0 * b * x * y + d * y * y; }
};

// A normalised kernel of odd size with w(x, y) = f(q(x, y)).
template <class F>
Kernel2D RadialKernel(int size, double sx, double sy, double theta, F f) {
  Kernel2D k;
  k.size = size | 1;
  k.w.resize(static_cast<size_t>(k.size) * k.size);
  const int r = k.size / 2;
  const QuadraticForm q(sx, sy, theta);
  double sum = 0.0;
  std::vector<double> w(k.w.size());
  for (int y = -r; y <= r; ++y) {
    for (int x = -r; x <= r; ++x) sum += (w[(y + r) * k.size + (x + r)] = f(q(x, y)));
  }
  for (size_t i = 0; i < w.size(); ++i) k.w[i] = static_cast<float>(w[i] / sum);
  return k;
}

Drift SampleDrift(Rng& rng, double lo, double hi, double drift) {
  Drift d;
  d.first = Uniform(rng, lo, hi);
  const double span = (hi - lo) * drift;
  d.last = std::clamp(d.first + Uniform(rng, -span, span), std::min(lo, hi), std::max(lo, hi));
  return d;
}
Drift SampleDrift(Rng& rng, const Range& r, double drift) { return SampleDrift(rng, r.lo, r.hi, drift); }

// Real-ESRGAN's shape parameter: with probability 1/2 from [lo, 1], else from
// [1, hi] (so betap_range [1, 2] gives beta = 1 half of the time). A range not
// containing 1 is drawn from uniformly. The drift stays within the branch.
Drift SampleBeta(Rng& rng, const Range& r, double drift) {
  if (r.lo <= 1.0 && 1.0 <= r.hi) {
    return Bernoulli(rng, 0.5) ? SampleDrift(rng, r.lo, 1.0, drift) : SampleDrift(rng, 1.0, r.hi, drift);
  }
  return SampleDrift(rng, r, drift);
}

// Index drawn with probability weights[i] / sum(weights).
int SampleIndex(Rng& rng, const std::vector<double>& weights) {
  double total = 0.0;
  for (double w : weights) total += std::max(0.0, w);
  double u = Uniform(rng, 0.0, total);
  int last = 0;
  for (int i = 0; i < static_cast<int>(weights.size()); ++i) {
    if (weights[i] <= 0.0) continue;
    last = i;
    if (u < weights[i]) return i;
    u -= weights[i];
  }
  return last;  // rounding at the top end
}

absl::Status CheckKernelWeights(const std::vector<double>& w, const char* key) {
  if (ValidKernelWeights(w)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(key, " needs ", kKernelWeightsRule));
}

int SampleKernelSize(Rng& rng, const std::vector<int>& sizes) {
  return (sizes.empty() ? 21 : sizes[UniformInt(rng, 0, static_cast<int>(sizes.size()) - 1)]) | 1;
}

// Real-ESRGAN's sinc cutoff for kernels of 7..21: [pi/3, pi] below 13, else [pi/5, pi].
Drift SampleSincCutoff(Rng& rng, int size, double drift) {
  return SampleDrift(rng, size < 13 ? kPi / 3 : kPi / 5, kPi, drift);
}

BlurPlan SampleBlur(Rng& rng, const DegradationConfig& c, double sinc_prob, const std::vector<double>& weights,
                    const Range& sigma, const Range& betag, const Range& betap) {
  BlurPlan p;
  p.enabled = true;
  p.size = SampleKernelSize(rng, c.blur_kernel_size);
  if (Bernoulli(rng, sinc_prob)) {
    p.type = BlurKernelType::kSinc;
    p.omega_c = SampleSincCutoff(rng, p.size, c.drift);
    return p;
  }
  p.type = static_cast<BlurKernelType>(SampleIndex(rng, weights));
  const bool aniso = p.type == BlurKernelType::kAniso || p.type == BlurKernelType::kGeneralizedAniso ||
                     p.type == BlurKernelType::kPlateauAniso;
  p.sigma_x = SampleDrift(rng, sigma, c.drift);
  if (aniso) {
    p.sigma_y = SampleDrift(rng, sigma, c.drift);
    p.theta = SampleDrift(rng, -kPi, kPi, c.drift);
  }
  if (p.type == BlurKernelType::kGeneralizedIso || p.type == BlurKernelType::kGeneralizedAniso) {
    p.beta = SampleBeta(rng, betag, c.drift);
  } else if (p.type == BlurKernelType::kPlateauIso || p.type == BlurKernelType::kPlateauAniso) {
    p.beta = SampleBeta(rng, betap, c.drift);
  }
  return p;
}

ResizeKernel SampleMode(Rng& rng) {
  static constexpr ResizeKernel kModes[] = {ResizeKernel::kArea, ResizeKernel::kBilinear, ResizeKernel::kBicubic};
  return kModes[UniformInt(rng, 0, 2)];
}
const char* ModeName(ResizeKernel k) {
  return k == ResizeKernel::kArea ? "area" : k == ResizeKernel::kBilinear ? "bilinear" : "bicubic";
}

// Direction by weights (up, down, keep), then the factor: up from [1, hi],
// down from [lo, 1], keep 1.
ResizePlan SampleResize(Rng& rng, const Range& range, const std::vector<double>& probs) {
  ResizePlan p;
  std::vector<double> w = probs;
  w.resize(3, 0.0);
  if (w[0] + w[1] + w[2] > 0.0) p.direction = static_cast<ResizeDirection>(SampleIndex(rng, w));
  if (p.direction == ResizeDirection::kUp) {
    p.scale = Uniform(rng, 1.0, std::max(1.0, range.hi));
  } else if (p.direction == ResizeDirection::kDown) {
    p.scale = Uniform(rng, std::min(1.0, range.lo), 1.0);
  }
  p.mode = SampleMode(rng);
  return p;
}

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

// torch.nn.functional.interpolate's size for a float size: floor, at least 1.
int FloorSize(double v) { return std::max(1, static_cast<int>(std::floor(v))); }

std::string DescribeBlur(const char* name, const BlurPlan& p) {
  if (!p.enabled) return absl::StrCat(name, "=off");
  const char* type = BlurKernelTypeName(p.type);
  switch (p.type) {
    case BlurKernelType::kSinc:
      return absl::StrFormat("%s=%s(k=%d,wc=%.2f..%.2f)", name, type, p.size, p.omega_c.first, p.omega_c.last);
    case BlurKernelType::kIso:
      return absl::StrFormat("%s=%s(k=%d,s=%.2f..%.2f)", name, type, p.size, p.sigma_x.first, p.sigma_x.last);
    case BlurKernelType::kAniso:
      return absl::StrFormat("%s=%s(k=%d,sx=%.2f..%.2f,sy=%.2f..%.2f,th=%.2f..%.2f)", name, type, p.size,
                             p.sigma_x.first, p.sigma_x.last, p.sigma_y.first, p.sigma_y.last, p.theta.first,
                             p.theta.last);
    case BlurKernelType::kGeneralizedIso:
    case BlurKernelType::kPlateauIso:
      return absl::StrFormat("%s=%s(k=%d,s=%.2f..%.2f,b=%.2f..%.2f)", name, type, p.size, p.sigma_x.first,
                             p.sigma_x.last, p.beta.first, p.beta.last);
    default:
      return absl::StrFormat("%s=%s(k=%d,sx=%.2f..%.2f,sy=%.2f..%.2f,th=%.2f..%.2f,b=%.2f..%.2f)", name, type, p.size,
                             p.sigma_x.first, p.sigma_x.last, p.sigma_y.first, p.sigma_y.last, p.theta.first,
                             p.theta.last, p.beta.first, p.beta.last);
  }
}

std::string DescribeStage(int n, const StagePlan& s) {
  const ResizePlan& r = s.resize;
  return absl::StrFormat("%s resize%d=%.2f(%s)->%dx%d noise%d=%s%s(%.2f..%.2f) jpeg%d=%.0f..%.0f",
                         DescribeBlur(n == 1 ? "blur1" : "blur2", s.blur), n, r.scale, ModeName(r.mode), r.w, r.h, n,
                         s.noise.gray ? "gray-" : "", s.noise.gaussian ? "gauss" : "poisson", s.noise.level.first,
                         s.noise.level.last, n, s.jpeg_quality.first, s.jpeg_quality.last);
}

}  // namespace

const char* BlurKernelTypeName(BlurKernelType type) {
  switch (type) {
    case BlurKernelType::kIso:
      return "iso";
    case BlurKernelType::kAniso:
      return "aniso";
    case BlurKernelType::kGeneralizedIso:
      return "generalized_iso";
    case BlurKernelType::kGeneralizedAniso:
      return "generalized_aniso";
    case BlurKernelType::kPlateauIso:
      return "plateau_iso";
    case BlurKernelType::kPlateauAniso:
      return "plateau_aniso";
    case BlurKernelType::kSinc:
      return "sinc";
  }
  return "?";
}

Kernel2D GeneralizedGaussianKernel(int size, double sigma_x, double sigma_y, double theta, double beta) {
  return RadialKernel(size, sigma_x, sigma_y, theta, [beta](double q) { return std::exp(-0.5 * std::pow(q, beta)); });
}

Kernel2D PlateauKernel(int size, double sigma_x, double sigma_y, double theta, double beta) {
  return RadialKernel(size, sigma_x, sigma_y, theta, [beta](double q) { return 1.0 / (1.0 + std::pow(q, beta)); });
}

Kernel2D BlurParams::Kernel() const {
  switch (type) {
    case BlurKernelType::kIso:
      return GaussianKernel(size, sigma_x);
    case BlurKernelType::kAniso:
      return AnisotropicGaussianKernel(size, sigma_x, sigma_y, theta);
    case BlurKernelType::kGeneralizedIso:
    case BlurKernelType::kGeneralizedAniso:
      return GeneralizedGaussianKernel(size, sigma_x, sigma_y, theta, beta);
    case BlurKernelType::kPlateauIso:
    case BlurKernelType::kPlateauAniso:
      return PlateauKernel(size, sigma_x, sigma_y, theta, beta);
    case BlurKernelType::kSinc:
      return SincKernel(size, omega_c);
  }
  return GaussianKernel(size, sigma_x);
}

BlurParams BlurPlan::At(double t) const {
  BlurParams p;
  p.type = type;
  p.size = size;
  if (type == BlurKernelType::kSinc) {
    p.omega_c = omega_c.At(t);
    return p;
  }
  p.sigma_x = sigma_x.At(t);
  const bool iso =
      type == BlurKernelType::kIso || type == BlurKernelType::kGeneralizedIso || type == BlurKernelType::kPlateauIso;
  p.sigma_y = iso ? p.sigma_x : sigma_y.At(t);
  p.theta = iso ? 0.0 : theta.At(t);
  if (type != BlurKernelType::kIso && type != BlurKernelType::kAniso) p.beta = beta.At(t);
  return p;
}

std::string DegradationPlan::Describe() const {
  std::string codec_desc = "codec=off";
  if (codec.has_value()) {
    if (codec->crf >= 0) {
      codec_desc = absl::StrCat("codec=", codec->encoder, "(crf=", codec->crf, ")");
    } else if (codec->qscale >= 0) {
      codec_desc = absl::StrCat("codec=", codec->encoder, "(q=", codec->qscale, ")");
    } else {
      codec_desc = absl::StrCat("codec=", codec->encoder, "(", codec->bitrate, "bit/s)");
    }
  }
  return absl::StrFormat("%s %s final=%s(%s,%s) %s out=%dx%d", DescribeStage(1, stage1), DescribeStage(2, stage2),
                         sinc_before_jpeg ? "resize+sinc,jpeg" : "jpeg,resize+sinc", ModeName(final_mode),
                         DescribeBlur("sinc", final_sinc), codec_desc, out_w, out_h);
}

absl::StatusOr<DegradationPlan> Degrader::Plan(int hq_w, int hq_h, int num_frames, uint64_t seed) const {
  const DegradationConfig& c = config_;
  if (num_frames <= 0 || hq_w <= 0 || hq_h <= 0) return absl::InvalidArgumentError("empty clip");
  if (absl::Status s = CheckKernelWeights(c.blur_kernel_prob, "blur_kernel_prob"); !s.ok()) return s;
  if (absl::Status s = CheckKernelWeights(c.blur_kernel_prob2, "blur_kernel_prob2"); !s.ok()) return s;
  Rng rng(DeriveSeed({seed, 0x6465677261ull}));  // "degra"

  DegradationPlan p;
  p.seed = seed;
  p.num_frames = num_frames;
  p.hq_w = hq_w;
  p.hq_h = hq_h;
  const int scale = std::max(1, c.scale);
  p.out_w = std::max(1, (hq_w + scale - 1) / scale);
  p.out_h = std::max(1, (hq_h + scale - 1) / scale);

  // Stage 1: the resize factor applies to the HQ size.
  StagePlan& s1 = p.stage1;
  s1.blur = SampleBlur(rng, c, c.blur_sinc_prob, c.blur_kernel_prob, c.blur_sigma, c.betag_range, c.betap_range);
  s1.resize = SampleResize(rng, c.resize_scale, c.resize_prob);
  s1.resize.w = FloorSize(hq_w * s1.resize.scale);
  s1.resize.h = FloorSize(hq_h * s1.resize.scale);
  s1.noise = SampleNoise(rng, c.gaussian_noise_prob, c.noise_sigma, c.poisson_scale, c.gray_noise_prob, c.drift);
  s1.jpeg_quality = SampleDrift(rng, c.jpeg_quality, c.drift);

  // Stage 2: the resize factor applies to the final LQ size (Real-ESRGAN:
  // int(ori_h / scale * s2)), whatever stage 1 did.
  StagePlan& s2 = p.stage2;
  if (Bernoulli(rng, c.second_blur_prob)) {
    s2.blur = SampleBlur(rng, c, c.blur_sinc_prob2, c.blur_kernel_prob2, c.blur_sigma2, c.betag_range2, c.betap_range2);
  }
  s2.resize = SampleResize(rng, c.resize_scale2, c.resize_prob2);
  s2.resize.w = FloorSize(static_cast<double>(hq_w) / scale * s2.resize.scale);
  s2.resize.h = FloorSize(static_cast<double>(hq_h) / scale * s2.resize.scale);
  s2.noise = SampleNoise(rng, c.gaussian_noise_prob2, c.noise_sigma2, c.poisson_scale2, c.gray_noise_prob2, c.drift);
  s2.jpeg_quality = SampleDrift(rng, c.jpeg_quality2, c.drift);

  p.sinc_before_jpeg = Bernoulli(rng, 0.5);
  if (Bernoulli(rng, c.final_sinc_prob)) {
    p.final_sinc.enabled = true;
    p.final_sinc.type = BlurKernelType::kSinc;
    p.final_sinc.size = SampleKernelSize(rng, c.blur_kernel_size);
    p.final_sinc.omega_c = SampleDrift(rng, kPi / 3, kPi, c.drift);
  }
  p.final_mode = SampleMode(rng);

  if (!c.codecs.empty() && Bernoulli(rng, c.codec_prob)) {
    const std::string& mode = c.codecs[UniformInt(rng, 0, static_cast<int>(c.codecs.size()) - 1)];
    CodecRoundTripOptions codec;
    codec.fps = c.codec_fps;
    codec.preset = c.x264_preset;
    if (mode == "libx264_crf") {
      codec.encoder = "libx264";
      codec.crf = static_cast<int>(std::lround(Uniform(rng, c.x264_crf.lo, c.x264_crf.hi)));
    } else if (mode == "libx264_bitrate" || mode == "mpeg4_bitrate") {
      codec.encoder = mode == "libx264_bitrate" ? "libx264" : "mpeg4";
      codec.bitrate = static_cast<int64_t>(Uniform(rng, c.bitrate.lo, c.bitrate.hi));
    } else if (mode == "mpeg4_qscale") {
      codec.encoder = "mpeg4";
      codec.qscale = static_cast<int>(std::lround(Uniform(rng, c.mpeg4_qscale.lo, c.mpeg4_qscale.hi)));
    } else {
      // The config refuses it at start-up; this guards direct callers.
      return absl::InvalidArgumentError(
          absl::StrCat("unknown codec mode '", mode, "' (use ", absl::StrJoin(kCodecModes, ", "), ")"));
    }
    p.codec = std::move(codec);
  }
  return p;
}

absl::StatusOr<Clip> Degrader::Apply(const DegradationPlan& plan, const Clip& hq, bool restore_size) const {
  if (hq.t <= 0 || hq.w <= 0 || hq.h <= 0) return absl::InvalidArgumentError("empty clip");
  if (hq.t != plan.num_frames || hq.w != plan.hq_w || hq.h != plan.hq_h) {
    return absl::InvalidArgumentError(absl::StrFormat("clip is %dx%dx%d, the plan was drawn for %dx%dx%d", hq.t, hq.w,
                                                      hq.h, plan.num_frames, plan.hq_w, plan.hq_h));
  }
  const StagePlan& s1 = plan.stage1;
  const StagePlan& s2 = plan.stage2;
  Clip lq(hq.t, plan.out_w, plan.out_h);
  lq.fps = hq.fps;
  for (int f = 0; f < hq.t; ++f) {
    const double t = plan.FrameTime(f);
    Rng frng(DeriveSeed({plan.seed, 0x6672616d65ull, static_cast<uint64_t>(f)}));  // "frame"
    ImageF img = ToFloat(hq.frame(f), hq.w, hq.h);
    // Stage 1.
    if (s1.blur.enabled) img = Filter2D(img, s1.blur.At(t).Kernel());
    if (s1.resize.w != img.w || s1.resize.h != img.h) img = Resize(img, s1.resize.w, s1.resize.h, s1.resize.mode);
    ApplyNoise(&img, s1.noise, t, frng);
    if (absl::Status s = ApplyJpeg(&img, s1.jpeg_quality.At(t)); !s.ok()) return s;
    // Stage 2.
    if (s2.blur.enabled) img = Filter2D(img, s2.blur.At(t).Kernel());
    if (s2.resize.w != img.w || s2.resize.h != img.h) img = Resize(img, s2.resize.w, s2.resize.h, s2.resize.mode);
    ApplyNoise(&img, s2.noise, t, frng);
    auto resize_sinc = [&] {
      img = Resize(img, plan.out_w, plan.out_h, plan.final_mode);
      if (plan.final_sinc.enabled) img = Filter2D(img, plan.final_sinc.At(t).Kernel());
    };
    if (plan.sinc_before_jpeg) {
      resize_sinc();
      Clamp01(&img);
      if (absl::Status s = ApplyJpeg(&img, s2.jpeg_quality.At(t)); !s.ok()) return s;
    } else {
      if (absl::Status s = ApplyJpeg(&img, s2.jpeg_quality.At(t)); !s.ok()) return s;
      resize_sinc();
    }
    ToRgb8(img, lq.frame(f));
  }
  if (plan.codec.has_value()) {
    if (absl::Status s = VideoCodecRoundTrip(&lq, *plan.codec); !s.ok()) return s;
  }
  if (!restore_size) return lq;
  Clip up(hq.t, hq.w, hq.h);
  up.fps = hq.fps;
  for (int f = 0; f < hq.t; ++f) {
    ToRgb8(Resize(ToFloat(lq.frame(f), lq.w, lq.h), hq.w, hq.h, ResizeKernel::kBicubic), up.frame(f));
  }
  return up;
}

absl::StatusOr<Clip> Degrader::Apply(const Clip& hq, uint64_t seed, bool restore_size, std::string* description) const {
  absl::StatusOr<DegradationPlan> plan = Plan(hq.w, hq.h, hq.t, seed);
  if (!plan.ok()) return plan.status();
  if (description != nullptr) *description = plan->Describe();
  return Apply(*plan, hq, restore_size);
}

}  // namespace seedvr::data

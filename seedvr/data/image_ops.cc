#include "seedvr/data/image_ops.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace seedvr::data {
namespace {

float Cubic(float x) {
  constexpr float a = -0.75f;
  x = std::fabs(x);
  if (x <= 1.f) return ((a + 2.f) * x - (a + 3.f)) * x * x + 1.f;
  if (x < 2.f) return ((a * x - 5.f * a) * x + 8.f * a) * x - 4.f * a;
  return 0.f;
}
// PIL's bicubic (a = -0.5), the filter of torch's antialiased bicubic.
double CubicAntialiased(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}
float Triangle(float x) {
  x = std::fabs(x);
  return x < 1.f ? 1.f - x : 0.f;
}

// Resampling weights of one axis for output positions [o0, o0 + n).
struct AxisWeights {
  int taps = 0;
  std::vector<int> index;  // n * taps source indices (clamped)
  std::vector<float> w;    // n * taps weights
};

AxisWeights MakeWeights(int in, int out, ResizeKernel kernel, bool antialias, int o0, int n) {
  AxisWeights a;
  const double scale = static_cast<double>(in) / out;
  if (kernel == ResizeKernel::kBicubicAntialiased) {
    // ATen's _compute_weights_aa: window [center - support, center + support)
    // around center = scale * (o + 0.5), clipped to the image.
    const double support = 2.0 * (scale >= 1.0 ? scale : 1.0);
    const double invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
    a.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
    a.index.assign(static_cast<size_t>(n) * a.taps, 0);
    a.w.assign(static_cast<size_t>(n) * a.taps, 0.f);
    for (int i = 0; i < n; ++i) {
      const double center = scale * (o0 + i + 0.5);
      const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
      const int xmax = std::min(static_cast<int>(center + support + 0.5), in);
      int* idx = &a.index[static_cast<size_t>(i) * a.taps];
      float* w = &a.w[static_cast<size_t>(i) * a.taps];
      double total = 0.0;
      for (int j = xmin; j < xmax && j - xmin < a.taps; ++j) total += CubicAntialiased((j - center + 0.5) * invscale);
      for (int t = 0; t < a.taps; ++t) {
        const int j = xmin + t;
        idx[t] = std::min(j, in - 1);
        if (j < xmax && total != 0.0)
          w[t] = static_cast<float>(CubicAntialiased((j - center + 0.5) * invscale) / total);
      }
    }
    return a;
  }
  if (kernel == ResizeKernel::kArea) {
    a.taps = static_cast<int>(std::ceil(scale)) + 1;
  } else {
    const double radius = kernel == ResizeKernel::kBicubic ? 2.0 : 1.0;
    const double fs = antialias && scale > 1.0 ? scale : 1.0;
    a.taps = static_cast<int>(std::ceil(radius * fs)) * 2 + 1;
  }
  a.index.assign(static_cast<size_t>(n) * a.taps, 0);
  a.w.assign(static_cast<size_t>(n) * a.taps, 0.f);
  for (int i = 0; i < n; ++i) {
    const int o = o0 + i;
    int* idx = &a.index[static_cast<size_t>(i) * a.taps];
    float* w = &a.w[static_cast<size_t>(i) * a.taps];
    double total = 0.0;
    if (kernel == ResizeKernel::kArea) {
      const double lo = o * scale, hi = (o + 1) * scale;
      const int j0 = static_cast<int>(std::floor(lo));
      for (int t = 0; t < a.taps; ++t) {
        const int j = j0 + t;
        const double ov = std::max(0.0, std::min(hi, j + 1.0) - std::max(lo, static_cast<double>(j)));
        idx[t] = std::clamp(j, 0, in - 1);
        w[t] = static_cast<float>(ov);
        total += ov;
      }
    } else {
      const double fs = antialias && scale > 1.0 ? scale : 1.0;
      const double center = (o + 0.5) * scale - 0.5;
      const int j0 = static_cast<int>(std::floor(center)) - (a.taps / 2);
      for (int t = 0; t < a.taps; ++t) {
        const int j = j0 + t;
        const float x = static_cast<float>((j - center) / fs);
        const float k = kernel == ResizeKernel::kBicubic ? Cubic(x) : Triangle(x);
        idx[t] = std::clamp(j, 0, in - 1);
        w[t] = k;
        total += k;
      }
    }
    if (total != 0.0) {
      for (int t = 0; t < a.taps; ++t) w[t] = static_cast<float>(w[t] / total);
    }
  }
  return a;
}

// Rank-r separable approximation of a 2-D kernel (power iteration SVD).
struct SeparableTerms {
  std::vector<std::vector<float>> col, row;
};

SeparableTerms Decompose(const Kernel2D& k, int max_rank, double tol) {
  const int n = k.size;
  std::vector<double> r(k.w.begin(), k.w.end());
  double total = 0.0;
  for (double v : r) total += v * v;
  SeparableTerms terms;
  for (int rank = 0; rank < max_rank; ++rank) {
    std::vector<double> v(n, 1.0), u(n);
    for (int i = 0; i < n; ++i) v[i] += 0.01 * i;
    double s = 0.0;
    for (int it = 0; it < 30; ++it) {
      double nu = 0.0;
      for (int y = 0; y < n; ++y) {
        double acc = 0.0;
        for (int x = 0; x < n; ++x) acc += r[y * n + x] * v[x];
        u[y] = acc;
        nu += acc * acc;
      }
      nu = std::sqrt(nu);
      if (nu < 1e-30) break;
      for (double& e : u) e /= nu;
      double nv = 0.0;
      for (int x = 0; x < n; ++x) {
        double acc = 0.0;
        for (int y = 0; y < n; ++y) acc += r[y * n + x] * u[y];
        v[x] = acc;
        nv += acc * acc;
      }
      s = std::sqrt(nv);
      if (s < 1e-30) break;
      for (double& e : v) e /= s;
    }
    if (s < 1e-30) break;
    std::vector<float> c(n), w(n);
    for (int i = 0; i < n; ++i) {
      c[i] = static_cast<float>(u[i] * s);
      w[i] = static_cast<float>(v[i]);
    }
    double rest = 0.0;
    for (int y = 0; y < n; ++y) {
      for (int x = 0; x < n; ++x) {
        r[y * n + x] -= static_cast<double>(c[y]) * w[x];
        rest += r[y * n + x] * r[y * n + x];
      }
    }
    terms.col.push_back(std::move(c));
    terms.row.push_back(std::move(w));
    if (rest <= tol * total) return terms;
  }
  terms.col.clear();  // not separable enough: caller filters directly
  terms.row.clear();
  return terms;
}

void Normalize(Kernel2D* k) {
  double s = 0.0;
  for (float v : k->w) s += v;
  if (s != 0.0) {
    for (float& v : k->w) v = static_cast<float>(v / s);
  }
}

// 1-D filter along x (dir 0) or y (dir 1), replicate borders.
ImageF Filter1D(const ImageF& src, const std::vector<float>& k, int dir) {
  ImageF out(src.w, src.h);
  const int r = static_cast<int>(k.size()) / 2;
  for (int y = 0; y < src.h; ++y) {
    for (int x = 0; x < src.w; ++x) {
      float a0 = 0.f, a1 = 0.f, a2 = 0.f;
      for (int t = 0; t < static_cast<int>(k.size()); ++t) {
        int sx = x, sy = y;
        if (dir == 0) {
          sx = std::clamp(x + t - r, 0, src.w - 1);
        } else {
          sy = std::clamp(y + t - r, 0, src.h - 1);
        }
        const float* p = &src.px[(static_cast<size_t>(sy) * src.w + sx) * 3];
        a0 += k[t] * p[0];
        a1 += k[t] * p[1];
        a2 += k[t] * p[2];
      }
      float* o = &out.px[(static_cast<size_t>(y) * src.w + x) * 3];
      o[0] = a0;
      o[1] = a1;
      o[2] = a2;
    }
  }
  return out;
}

}  // namespace

ImageF Resize(const ImageF& src, int out_w, int out_h, ResizeKernel kernel, bool antialias, int x0, int y0,
              int win_w, int win_h) {
  if (win_w <= 0) win_w = out_w - x0;
  if (win_h <= 0) win_h = out_h - y0;
  const AxisWeights ax = MakeWeights(src.w, out_w, kernel, antialias, x0, win_w);
  const AxisWeights ay = MakeWeights(src.h, out_h, kernel, antialias, y0, win_h);
  int rmin = src.h, rmax = -1;
  for (int v : ay.index) {
    rmin = std::min(rmin, v);
    rmax = std::max(rmax, v);
  }
  const int rows = rmax - rmin + 1;
  std::vector<float> tmp(static_cast<size_t>(rows) * win_w * 3);
  for (int y = 0; y < rows; ++y) {
    const float* srow = &src.px[static_cast<size_t>(y + rmin) * src.w * 3];
    float* trow = &tmp[static_cast<size_t>(y) * win_w * 3];
    for (int x = 0; x < win_w; ++x) {
      const int* idx = &ax.index[static_cast<size_t>(x) * ax.taps];
      const float* w = &ax.w[static_cast<size_t>(x) * ax.taps];
      float a0 = 0.f, a1 = 0.f, a2 = 0.f;
      for (int t = 0; t < ax.taps; ++t) {
        const float* p = srow + idx[t] * 3;
        a0 += w[t] * p[0];
        a1 += w[t] * p[1];
        a2 += w[t] * p[2];
      }
      trow[x * 3] = a0;
      trow[x * 3 + 1] = a1;
      trow[x * 3 + 2] = a2;
    }
  }
  ImageF out(win_w, win_h);
  const size_t stride = static_cast<size_t>(win_w) * 3;
  for (int y = 0; y < win_h; ++y) {
    const int* idx = &ay.index[static_cast<size_t>(y) * ay.taps];
    const float* w = &ay.w[static_cast<size_t>(y) * ay.taps];
    float* orow = &out.px[static_cast<size_t>(y) * stride];
    for (int t = 0; t < ay.taps; ++t) {
      if (w[t] == 0.f) continue;
      const float* trow = &tmp[static_cast<size_t>(idx[t] - rmin) * stride];
      const float wt = w[t];
      for (size_t i = 0; i < stride; ++i) orow[i] += wt * trow[i];
    }
  }
  return out;
}

Frame Resize(const Frame& src, int out_w, int out_h, ResizeKernel kernel, bool antialias, int x0, int y0, int win_w,
             int win_h) {
  return ToFrame(Resize(ToFloat(src), out_w, out_h, kernel, antialias, x0, y0, win_w, win_h));
}

AreaSize AreaResizeSize(int64_t h, int64_t w, double area) {
  const double s = std::sqrt(area / (static_cast<double>(h) * static_cast<double>(w)));
  // nearbyint in the default rounding mode is Python's round: half to even.
  return {static_cast<int64_t>(std::nearbyint(static_cast<double>(h) * s)),
          static_cast<int64_t>(std::nearbyint(static_cast<double>(w) * s))};
}

Kernel2D GaussianKernel(int size, double sigma) { return AnisotropicGaussianKernel(size, sigma, sigma, 0.0); }

Kernel2D AnisotropicGaussianKernel(int size, double sigma_x, double sigma_y, double theta) {
  Kernel2D k;
  k.size = size | 1;
  k.w.resize(static_cast<size_t>(k.size) * k.size);
  const int r = k.size / 2;
  const double c = std::cos(theta), s = std::sin(theta);
  // Inverse covariance of R diag(sx^2, sy^2) R^T.
  const double ix = 1.0 / (sigma_x * sigma_x), iy = 1.0 / (sigma_y * sigma_y);
  const double a = c * c * ix + s * s * iy, b = c * s * (ix - iy), d = s * s * ix + c * c * iy;
  for (int y = -r; y <= r; ++y) {
    for (int x = -r; x <= r; ++x) {
      const double q = a * x * x + 2.0 * b * x * y + d * y * y;
      k.w[(y + r) * k.size + (x + r)] = static_cast<float>(std::exp(-0.5 * q));
    }
  }
  Normalize(&k);
  return k;
}

Kernel2D SincKernel(int size, double omega_c) {
  Kernel2D k;
  k.size = size | 1;
  k.w.resize(static_cast<size_t>(k.size) * k.size);
  const int r = k.size / 2;
  for (int y = -r; y <= r; ++y) {
    for (int x = -r; x <= r; ++x) {
      const double d = std::hypot(x, y);
      const double v = d < 1e-9 ? omega_c * omega_c / (4.0 * std::numbers::pi)
                                : omega_c * std::cyl_bessel_j(1.0, omega_c * d) / (2.0 * std::numbers::pi * d);
      k.w[(y + r) * k.size + (x + r)] = static_cast<float>(v);
    }
  }
  Normalize(&k);
  return k;
}

ImageF Filter2D(const ImageF& src, const Kernel2D& k) {
  const SeparableTerms terms = Decompose(k, 4, 1e-5);
  if (!terms.col.empty()) {
    ImageF out(src.w, src.h);
    for (size_t i = 0; i < terms.col.size(); ++i) {
      const ImageF part = Filter1D(Filter1D(src, terms.row[i], 0), terms.col[i], 1);
      for (size_t j = 0; j < out.px.size(); ++j) out.px[j] += part.px[j];
    }
    return out;
  }
  ImageF out(src.w, src.h);
  const int r = k.size / 2;
  for (int y = 0; y < src.h; ++y) {
    for (int x = 0; x < src.w; ++x) {
      float a0 = 0.f, a1 = 0.f, a2 = 0.f;
      for (int ky = 0; ky < k.size; ++ky) {
        const int sy = std::clamp(y + ky - r, 0, src.h - 1);
        const float* row = &src.px[static_cast<size_t>(sy) * src.w * 3];
        const float* kw = &k.w[static_cast<size_t>(ky) * k.size];
        for (int kx = 0; kx < k.size; ++kx) {
          const int sx = std::clamp(x + kx - r, 0, src.w - 1);
          const float* p = row + sx * 3;
          a0 += kw[kx] * p[0];
          a1 += kw[kx] * p[1];
          a2 += kw[kx] * p[2];
        }
      }
      float* o = &out.px[(static_cast<size_t>(y) * src.w + x) * 3];
      o[0] = a0;
      o[1] = a1;
      o[2] = a2;
    }
  }
  return out;
}

ImageF GaussianBlur(const ImageF& src, double sigma) {
  const int r = std::max(1, static_cast<int>(std::ceil(3.0 * sigma)));
  std::vector<float> k(2 * r + 1);
  double s = 0.0;
  for (int i = -r; i <= r; ++i) s += (k[i + r] = static_cast<float>(std::exp(-0.5 * i * i / (sigma * sigma))));
  for (float& v : k) v = static_cast<float>(v / s);
  return Filter1D(Filter1D(src, k, 0), k, 1);
}

void AddGaussianNoise(ImageF* img, double sigma, bool gray, Rng& rng) {
  std::normal_distribution<float> n(0.f, static_cast<float>(sigma));
  const size_t pixels = static_cast<size_t>(img->w) * img->h;
  for (size_t i = 0; i < pixels; ++i) {
    float* p = &img->px[i * 3];
    if (gray) {
      const float e = n(rng);
      p[0] += e;
      p[1] += e;
      p[2] += e;
    } else {
      p[0] += n(rng);
      p[1] += n(rng);
      p[2] += n(rng);
    }
  }
}

namespace {
// Poisson(lambda) - lambda, exact for small lambda, Gaussian approximation above.
float PoissonDeviation(float lambda, Rng& rng, std::normal_distribution<float>& unit) {
  if (lambda <= 0.f) return 0.f;
  if (lambda >= 16.f) return std::sqrt(lambda) * unit(rng);
  const double l = std::exp(-static_cast<double>(lambda));
  double p = 1.0;
  int k = 0;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  do {
    ++k;
    p *= u(rng);
  } while (p > l);
  return static_cast<float>(k - 1) - lambda;
}
}  // namespace

void AddPoissonNoise(ImageF* img, double scale, bool gray, Rng& rng) {
  constexpr float kVals = 255.f;
  std::normal_distribution<float> unit(0.f, 1.f);
  const size_t pixels = static_cast<size_t>(img->w) * img->h;
  const float s = static_cast<float>(scale);
  for (size_t i = 0; i < pixels; ++i) {
    float* p = &img->px[i * 3];
    if (gray) {
      const float y = std::clamp(0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2], 0.f, 1.f);
      const float q = std::round(y * 255.f) / 255.f;
      const float e = s * PoissonDeviation(q * kVals, rng, unit) / kVals;
      p[0] += e;
      p[1] += e;
      p[2] += e;
    } else {
      for (int c = 0; c < 3; ++c) {
        const float q = std::round(std::clamp(p[c], 0.f, 1.f) * 255.f) / 255.f;
        p[c] += s * PoissonDeviation(q * kVals, rng, unit) / kVals;
      }
    }
  }
}

void Clamp01(ImageF* img) {
  for (float& v : img->px) v = std::clamp(v, 0.f, 1.f);
}

ImageF ToFloat(const uint8_t* rgb, int w, int h) {
  ImageF img(w, h);
  constexpr float inv = 1.f / 255.f;
  for (size_t i = 0; i < img.px.size(); ++i) img.px[i] = rgb[i] * inv;
  return img;
}

ImageF ToFloat(const Frame& f) { return ToFloat(f.rgb.data(), f.w, f.h); }

void ToRgb8(const ImageF& img, uint8_t* rgb) {
  for (size_t i = 0; i < img.px.size(); ++i) {
    rgb[i] = static_cast<uint8_t>(std::clamp(img.px[i] * 255.f + 0.5f, 0.f, 255.f));
  }
}

Frame ToFrame(const ImageF& img) {
  Frame f(img.w, img.h);
  ToRgb8(img, f.rgb.data());
  return f;
}

double HighFrequencyEnergy(const Frame& f) {
  if (f.w < 3 || f.h < 3) return 0.0;
  auto luma = [&](int x, int y) {
    const uint8_t* p = f.pixel(x, y);
    return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
  };
  double acc = 0.0;
  for (int y = 1; y < f.h - 1; ++y) {
    for (int x = 1; x < f.w - 1; ++x) {
      const double l = 4 * luma(x, y) - luma(x - 1, y) - luma(x + 1, y) - luma(x, y - 1) - luma(x, y + 1);
      acc += l * l;
    }
  }
  return acc / ((f.w - 2.0) * (f.h - 2.0));
}

double Psnr(const uint8_t* a, const uint8_t* b, size_t n) {
  double mse = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    mse += d * d;
  }
  mse /= static_cast<double>(n);
  return mse <= 1e-12 ? 99.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

}  // namespace seedvr::data

// Pixel operations on float RGB images (ImageF, values nominally in [0, 1]):
// resizing with several kernels, 2-D filtering, blur/sinc kernels, noise, and
// conversions to and from 8-bit frames. Plain C++, no FFmpeg, no torch.
#pragma once

#include <cstdint>
#include <vector>

#include "seedvr/data/frame.h"
#include "seedvr/data/random.h"

namespace seedvr::data {

enum class ResizeKernel {
  kArea,      // box average over the source footprint (= adaptive average pooling)
  kBilinear,  // triangle, half-pixel centres (torch align_corners=False)
  kBicubic,   // Keys cubic, a = -0.75 (torch's bicubic)
  // torch's bicubic with antialias=True (_upsample_bicubic2d_aa, PIL's
  // BICUBIC), what the official inference's AreaResize runs: Keys cubic
  // a = -0.5, widened by the scale when shrinking, taps outside the image
  // dropped and the rest renormalised. Always antialiased.
  kBicubicAntialiased,
};

// The official inference's area-preserving size (NaResize mode "area",
// AreaResize): s = sqrt(area / (h * w)), size (round(h * s), round(w * s))
// with Python's round (half to even). Keeps the aspect ratio; only the area
// matches `area` (e.g. 1280 * 720).
struct AreaSize {
  int64_t h = 0;
  int64_t w = 0;
};
AreaSize AreaResizeSize(int64_t h, int64_t w, double area);

// Resizes `src` to out_w x out_h. `antialias` widens bilinear/bicubic kernels
// when shrinking (PIL-style); area always averages. Returns only the window
// [x0, x0+win_w) x [y0, y0+win_h) of the full output when win_w/win_h > 0,
// which lets a crop of a resized frame be computed without the whole frame.
ImageF Resize(const ImageF& src, int out_w, int out_h, ResizeKernel kernel, bool antialias = false, int x0 = 0,
              int y0 = 0, int win_w = 0, int win_h = 0);
// Same for 8-bit frames (rounded, clamped).
Frame Resize(const Frame& src, int out_w, int out_h, ResizeKernel kernel, bool antialias = false, int x0 = 0,
             int y0 = 0, int win_w = 0, int win_h = 0);

// A square, normalised (sums to 1) filter kernel of odd size.
struct Kernel2D {
  int size = 1;
  std::vector<float> w;  // size*size, row-major
};

// Isotropic Gaussian kernel.
Kernel2D GaussianKernel(int size, double sigma);
// Anisotropic Gaussian with principal sigmas sx, sy rotated by theta (radians).
Kernel2D AnisotropicGaussianKernel(int size, double sigma_x, double sigma_y, double theta);
// Circular low-pass (2-D sinc / jinc) kernel with cutoff omega_c in (0, pi].
Kernel2D SincKernel(int size, double omega_c);

// 2-D correlation with edge-replicate borders (Real-ESRGAN uses reflect padding;
// replicate differs only on the border pixels).
ImageF Filter2D(const ImageF& src, const Kernel2D& k);
// Separable Gaussian (faster path for isotropic blur).
ImageF GaussianBlur(const ImageF& src, double sigma);

// Adds N(0, sigma^2) noise per channel (gray: one draw shared by R, G, B).
void AddGaussianNoise(ImageF* img, double sigma, bool gray, Rng& rng);
// Real-ESRGAN Poisson noise: out = Poisson(v * 255) / 255 on the image
// quantized to 8 bits, scaled by `scale`. For 255*v >= 16 the Poisson draw is
// approximated by a Gaussian of the same mean and variance (indistinguishable
// at this size, 10x faster); gray: computed on luma and added to all channels.
void AddPoissonNoise(ImageF* img, double scale, bool gray, Rng& rng);

void Clamp01(ImageF* img);
ImageF ToFloat(const Frame& f);
ImageF ToFloat(const uint8_t* rgb, int w, int h);
Frame ToFrame(const ImageF& img);  // clamps and rounds
void ToRgb8(const ImageF& img, uint8_t* rgb);

// Energy of the 3x3 Laplacian response (mean square), a high-frequency measure.
double HighFrequencyEnergy(const Frame& f);
double Psnr(const uint8_t* a, const uint8_t* b, size_t n);

}  // namespace seedvr::data

// Synthesis of LQ video from HQ video: Real-ESRGAN's two-stage ("high-order")
// pipeline (Real-ESRGAN paper §3, options/train_realesrgan_x4plus.yml) with
// RealBasicVSR's video additions. Everything follows from (config, seed): no
// global RNG state, so a clip degrades identically on any thread.
//
// Input: an 8-bit RGB clip of T frames, H x W. Output: T frames of
// ceil(H/scale) x ceil(W/scale) (Real-ESRGAN: floor; the same when scale
// divides H and W), or H x W again with `restore_size`.
//   stage 1: blur -> resize to floor(H*s1) x floor(W*s1) -> noise -> JPEG
//   stage 2: blur (p=second_blur_prob) -> resize to floor(H/scale*s2) x
//            floor(W/scale*s2), i.e. s2 is relative to the final LQ size, not
//            to stage 1's output -> noise -> {resize to LQ size + sinc, JPEG}
//            in random order
//   then:    video-codec compression of the whole clip (p=codec_prob).
// Blur kernels: sinc with p=blur_sinc_prob, else one of iso, aniso,
// generalized_iso, generalized_aniso, plateau_iso, plateau_aniso with weights
// blur_kernel_prob (Real-ESRGAN: 0.45 0.25 0.12 0.03 0.12 0.03). Sigmas are in
// pixels, angles and sinc cutoffs in radians, noise sigmas in 1/255 units.
//
// Per clip: kernel types and sizes, resize directions/factors/modes (hence
// every intermediate size), noise type, stage-order and codec choices are
// drawn once (every frame keeps one size and the codec sees one stream). Per
// frame: kernel sigmas, angle, shape beta and sinc cutoff, noise sigma/scale
// and JPEG quality move linearly from a value drawn for the first frame to one
// drawn for the last (within config.drift of the range), so consecutive frames
// differ by at most drift * range / (T - 1); each frame gets fresh noise.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "seedvr/data/codec_roundtrip.h"
#include "seedvr/data/data_config.h"
#include "seedvr/data/frame.h"
#include "seedvr/data/image_ops.h"

namespace seedvr::data {

// Blur kernel families. The first six are Real-ESRGAN's kernel_list, in the
// order of DegradationConfig::blur_kernel_prob.
enum class BlurKernelType {
  kIso,
  kAniso,
  kGeneralizedIso,
  kGeneralizedAniso,
  kPlateauIso,
  kPlateauAniso,
  kSinc,
};
inline constexpr int kNumMixedKernelTypes = 6;  // all but kSinc
const char* BlurKernelTypeName(BlurKernelType type);

// With q = x^T Sigma^-1 x, Sigma = R(theta) diag(sx^2, sy^2) R(theta)^T (the
// Gaussian's covariance), both normalised to sum 1:
// generalized Gaussian exp(-q^beta / 2) (beta = 1: the Gaussian), and
// plateau 1 / (1 + q^beta) (half the peak where q = 1, for every beta).
Kernel2D GeneralizedGaussianKernel(int size, double sigma_x, double sigma_y, double theta, double beta);
Kernel2D PlateauKernel(int size, double sigma_x, double sigma_y, double theta, double beta);

// One frame's blur kernel. Isotropic types use sigma_x only (sigma_y equals
// it, theta 0); beta is used by the generalized/plateau types, omega_c by sinc.
struct BlurParams {
  BlurKernelType type = BlurKernelType::kIso;
  int size = 21;
  double sigma_x = 0.0, sigma_y = 0.0, theta = 0.0, beta = 1.0, omega_c = 0.0;
  Kernel2D Kernel() const;
};

// A continuous parameter moving linearly from `first` (frame 0) to `last`
// (frame T-1); exact at both ends.
struct Drift {
  double first = 0.0, last = 0.0;
  double At(double t) const { return (1.0 - t) * first + t * last; }  // t in [0, 1]
};

struct BlurPlan {
  bool enabled = false;
  BlurKernelType type = BlurKernelType::kIso;
  int size = 21;
  Drift sigma_x, sigma_y, theta, beta, omega_c;
  BlurParams At(double t) const;
};

enum class ResizeDirection { kUp, kDown, kKeep };

struct ResizePlan {
  ResizeDirection direction = ResizeDirection::kKeep;
  double scale = 1.0;  // s1 (relative to HQ) or s2 (relative to the LQ size)
  ResizeKernel mode = ResizeKernel::kBicubic;
  int w = 0, h = 0;  // the size this resize produces
};

struct NoisePlan {
  bool gaussian = true;  // else Poisson
  bool gray = false;
  Drift level;  // Gaussian sigma (1/255 units) or Poisson scale
};

struct StagePlan {
  BlurPlan blur;
  ResizePlan resize;
  NoisePlan noise;
  Drift jpeg_quality;
};

// Every parameter drawn for one clip. Plan() draws it, Apply() executes it.
struct DegradationPlan {
  uint64_t seed = 0;  // per-frame noise streams derive from it
  int num_frames = 0, hq_w = 0, hq_h = 0;
  StagePlan stage1, stage2;
  BlurPlan final_sinc;  // applied after the final resize
  ResizeKernel final_mode = ResizeKernel::kBicubic;
  bool sinc_before_jpeg = true;  // [resize + sinc] then JPEG, or the reverse
  int out_w = 0, out_h = 0;      // the LQ size
  std::optional<CodecRoundTripOptions> codec;

  // Position of frame f on [0, 1] (0 for a single frame).
  double FrameTime(int f) const { return num_frames > 1 ? static_cast<double>(f) / (num_frames - 1) : 0.0; }
  // All drawn parameters in one line.
  std::string Describe() const;
};

class Degrader {
 public:
  explicit Degrader(DegradationConfig config) : config_(std::move(config)) {}
  const DegradationConfig& config() const { return config_; }

  // Draws the parameters for a clip of `num_frames` frames of hq_w x hq_h.
  // Errors: empty clip, malformed kernel weights, unknown codec mode.
  absl::StatusOr<DegradationPlan> Plan(int hq_w, int hq_h, int num_frames, uint64_t seed) const;

  // Degrades `hq` (which must have the plan's size and frame count) into an
  // LQ clip of plan.out_w x plan.out_h. With `restore_size`, the result is
  // resized back (bicubic) to hq's size so it aligns pixel for pixel with the
  // HQ clip.
  absl::StatusOr<Clip> Apply(const DegradationPlan& plan, const Clip& hq, bool restore_size = true) const;

  // Plan(hq's size, seed) then Apply. `description`, if given, receives
  // plan.Describe().
  absl::StatusOr<Clip> Apply(const Clip& hq, uint64_t seed, bool restore_size = true,
                             std::string* description = nullptr) const;

 private:
  DegradationConfig config_;
};

}  // namespace seedvr::data

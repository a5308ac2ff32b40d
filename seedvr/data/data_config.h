// Plain configuration structs for the video data layer. The YAML loader maps
// keys one-to-one onto these fields (same names); every field has a default
// that reproduces the published recipe (docs: shared/spec/apt-training.md §7).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace seedvr::data {

// A closed interval [lo, hi] a parameter is drawn from uniformly.
struct Range {
  double lo = 0.0;
  double hi = 0.0;
};

// What blur_kernel_prob(2) must hold: six non-negative weights, not all
// zero, of iso, aniso, generalized_iso, generalized_aniso, plateau_iso,
// plateau_aniso.
inline constexpr const char* kKernelWeightsRule =
    "6 non-negative weights (iso, aniso, generalized_iso, generalized_aniso, plateau_iso, plateau_aniso), not all "
    "zero";
// `n` non-negative finite weights, not all zero.
inline bool ValidWeights(const std::vector<double>& w, size_t n) {
  double sum = 0.0;
  for (double x : w) {
    if (!(x >= 0.0)) return false;
    sum += x;
  }
  return w.size() == n && sum > 0.0 && std::isfinite(sum);
}
inline bool ValidKernelWeights(const std::vector<double>& w) { return ValidWeights(w, 6); }

// The modes `codecs` may list (DegradationConfig).
inline constexpr const char* kCodecModes[] = {"libx264_crf", "libx264_bitrate", "mpeg4_bitrate", "mpeg4_qscale"};

// Real-ESRGAN's two-stage degradation adapted to video (RealBasicVSR):
//   stage 1: blur -> random resize (factor of the HQ size) -> noise -> JPEG
//   stage 2: blur (p=second_blur_prob) -> random resize (factor of the final
//            LQ size, as Real-ESRGAN) -> noise ->
//            {resize to 1/scale + sinc, JPEG} in random order
//   then:    video-codec compression of the whole clip (p=codec_prob)
// Continuous parameters are drawn twice per clip (first and last frame, the
// last one within `drift` of the first, as a fraction of the range) and
// interpolated linearly across the frames; discrete choices are per clip.
// Noise sigmas are in units of 1/255. Blur, resize, noise and JPEG defaults
// are Real-ESRGAN's options/train_realesrgan_x4plus.yml (seedvr/data/degradation.h).
struct DegradationConfig {
  // LQ is produced at crop/scale, then resized (bicubic) back to the crop size
  // so that the LQ clip the model sees has the HQ geometry.
  int scale = 4;
  double drift = 0.25;  // max change first->last frame, fraction of the range

  // Stage 1.
  Range blur_sigma = {0.2, 3.0};
  // Weights of the kernel families iso, aniso, generalized_iso,
  // generalized_aniso, plateau_iso, plateau_aniso (Real-ESRGAN kernel_prob).
  std::vector<double> blur_kernel_prob = {0.45, 0.25, 0.12, 0.03, 0.12, 0.03};
  Range betag_range = {0.5, 4.0};                                      // generalized Gaussian shape beta
  Range betap_range = {1.0, 2.0};                                      // plateau shape beta
  double blur_sinc_prob = 0.1;                                         // sinc (ringing) kernel instead of the above
  std::vector<int> blur_kernel_size = {7, 9, 11, 13, 15, 17, 19, 21};  // both stages
  Range resize_scale = {0.15, 1.5};
  std::vector<double> resize_prob = {0.2, 0.7, 0.1};  // up, down, keep
  double gaussian_noise_prob = 0.5;  // else Poisson
  Range noise_sigma = {1.0, 30.0};
  Range poisson_scale = {0.05, 3.0};
  double gray_noise_prob = 0.4;
  Range jpeg_quality = {30.0, 95.0};

  // Stage 2.
  double second_blur_prob = 0.8;
  Range blur_sigma2 = {0.2, 1.5};
  std::vector<double> blur_kernel_prob2 = {0.45, 0.25, 0.12, 0.03, 0.12, 0.03};
  Range betag_range2 = {0.5, 4.0};
  Range betap_range2 = {1.0, 2.0};
  double blur_sinc_prob2 = 0.1;
  Range resize_scale2 = {0.3, 1.2};
  std::vector<double> resize_prob2 = {0.3, 0.4, 0.3};
  double gaussian_noise_prob2 = 0.5;
  Range noise_sigma2 = {1.0, 25.0};
  Range poisson_scale2 = {0.05, 2.5};
  double gray_noise_prob2 = 0.4;
  Range jpeg_quality2 = {30.0, 95.0};
  double final_sinc_prob = 0.8;

  // Video codec compression through libavcodec, one mode chosen uniformly
  // from `codecs`: "libx264_crf" (CRF in x264_crf), "libx264_bitrate" and
  // "mpeg4_bitrate" (bits/s in bitrate), "mpeg4_qscale" (mpeg4_qscale).
  double codec_prob = 1.0;
  std::vector<std::string> codecs = {"libx264_crf", "libx264_bitrate", "mpeg4_bitrate"};
  Range x264_crf = {23.0, 38.0};
  Range bitrate = {1e4, 1e5};
  Range mpeg4_qscale = {8.0, 31.0};
  std::string x264_preset = "veryfast";
  double codec_fps = 25.0;  // rate the bitrate is spread over
};

// Per-frame pixel limit of every video reader by default (data.max_frame_pixels,
// infer --max_frame_pixels): 8K UHD, 7680 x 4320.
inline constexpr int64_t kDefaultMaxFramePixels = int64_t{7680} * 4320;

struct CropSize {
  int h = 256;
  int w = 256;
};

struct DataConfig {
  // Folder holding hq/ (required) and lq/ (optional). Files pair by stem:
  // hq/a.mp4 <-> lq/a.mkv. Extensions: mp4 avi mov mkv webm (any case).
  std::string data_root;
  // Frames per clip. The causal VAE needs T = 4k+1 frames; any other value is
  // rounded UP to the next 4k+1 (16 -> 17, 32 -> 33) and a log line says so.
  int num_frames = 17;
  CropSize crop_size;
  // A pixel area (e.g. 921600 = 1280 * 720): HQ and LQ frames are first
  // resized to it keeping the aspect ratio, as the official inference's
  // AreaResize does (size: AreaResizeSize in image_ops.h; torch's antialiased
  // bicubic), so training crops see the scale inference restores at.
  // 0 = off (frames keep their own size).
  int64_t resize_to_area = 0;
  // A video shorter than a clip: "pad" repeats its last frame (the official
  // padding rule) and says so once per file; "skip" leaves the file out.
  std::string short_clips = "pad";
  // Videos whose frames hold more pixels are skipped and named, before a
  // frame is decoded (0: no limit).
  int64_t max_frame_pixels = kDefaultMaxFramePixels;
  // Synthesize LQ from HQ (degradation below) when a file has no lq/ partner.
  // Off: such files are reported and skipped.
  bool generate_lq = true;
  // Decoding/degrading threads of the loader; 0 = decode in the caller.
  int num_workers = 2;
  // Clips decoded ahead of the consumer (bounded queue length).
  int prefetch = 4;
  uint64_t seed = 0;
  DegradationConfig degradation;
};

// The 4n+1 rule: smallest T' >= max(T, 1) with T' % 4 == 1.
inline int RoundUpTo4nPlus1(int t) {
  if (t < 1) t = 1;
  return ((t - 1 + 3) / 4) * 4 + 1;
}

}  // namespace seedvr::data

#include "seedvr/models/vae/memory_plan.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "seedvr/models/vae/vae_config.h"

namespace seedvr::vae {

bool IsValidFrameCount(int64_t t, int64_t factor) {
  return t >= 1 && (t - 1) % factor == 0;
}

int64_t PaddedFrameCount(int64_t t, int64_t factor) {
  if (t <= 1) return 1;
  return ((t - 1 + factor - 1) / factor) * factor + 1;
}

absl::Status CheckFrameCount(int64_t t, int64_t factor) {
  if (IsValidFrameCount(t, factor)) return absl::OkStatus();
  const int64_t up = PaddedFrameCount(t, factor);
  const int64_t down = t > 1 ? up - factor : 1;
  return absl::InvalidArgumentError(absl::StrCat(
      "the causal VAE needs T = ", factor, "n+1 frames (1, ", 1 + factor, ", ", 1 + 2 * factor,
      ", ...), got T = ", t, ". Pad with copies of the last frame to ", up,
      " (the official pipeline does this; set pad_last_frame / --pad_frames) or trim to ",
      down, "."));
}

std::string VAEPlan::Describe() const {
  return absl::StrCat(slice ? "sliced" : "full-sequence", estimate_gb >= 0
                                                              ? absl::StrCat(", ~", estimate_gb, " GB activations")
                                                              : std::string(" (forced)"));
}

double EstimateEncodeBytes(const VAEConfig& c, int64_t frames, int64_t h, int64_t w,
                           int64_t elem_bytes) {
  double peak = 0;
  int64_t t = frames;
  const int64_t n = static_cast<int64_t>(c.block_out_channels.size());
  for (int64_t i = 0; i < n; ++i) {
    const double px = static_cast<double>(h >> i) * static_cast<double>(w >> i);
    // +2: the frames a causal 3-tap conv prepends.
    peak = std::max(peak, static_cast<double>(c.block_out_channels[i]) * (t + 2) * px);
    if (i >= n - 1 - c.temporal_scale_num && i < n - 1) t = (t - 1) / 2 + 1;
  }
  return kLiveCopies * peak * static_cast<double>(elem_bytes);
}

double EstimateDecodeBytes(const VAEConfig& c, int64_t latents, int64_t h, int64_t w,
                           int64_t elem_bytes, bool first_chunk) {
  const int64_t n = static_cast<int64_t>(c.block_out_channels.size());
  double peak = 0;
  int64_t t = latents;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t ch = c.block_out_channels[n - 1 - i];
    const int64_t scale = int64_t{1} << (n - 1 - i);
    const double px = static_cast<double>(h / scale) * static_cast<double>(w / scale);
    peak = std::max(peak, static_cast<double>(ch) * (t + 2) * px);
    if (i < n - 1) {
      const bool temporal = i < c.temporal_scale_num;
      if (temporal) t = first_chunk ? 2 * t - 1 : 2 * t;
      // The upsampler's output: `ch` channels at twice the resolution.
      peak = std::max(peak, static_cast<double>(ch) * (t + 2) * px * 4);
    }
  }
  return kLiveCopies * peak * static_cast<double>(elem_bytes);
}

namespace {
// Full sequence when it fits the budget, else slices when enabled.
VAEPlan PlanFor(const VAEConfig& c, double full_bytes, double sliced_bytes) {
  VAEPlan plan;
  plan.estimate_gb = full_bytes / 1e9;
  const double limit = c.memory_limit_gb * 1e9;
  if (limit <= 0 || full_bytes <= limit || c.slicing_split_size <= 0) return plan;
  plan.slice = true;
  plan.estimate_gb = sliced_bytes / 1e9;
  return plan;
}
}  // namespace

VAEPlan PlanEncode(const VAEConfig& c, int64_t frames, int64_t h, int64_t w,
                   int64_t elem_bytes) {
  const int64_t chunk = std::min(frames, 1 + std::max<int64_t>(c.slicing_split_size, 1));
  return PlanFor(c, EstimateEncodeBytes(c, frames, h, w, elem_bytes), EstimateEncodeBytes(c, chunk, h, w, elem_bytes));
}

VAEPlan PlanDecode(const VAEConfig& c, int64_t latents, int64_t h, int64_t w,
                   int64_t elem_bytes) {
  const int64_t per = std::max<int64_t>(c.slicing_split_size / c.temporal_downsample_factor, 1);
  const int64_t chunk = std::min(latents, 1 + per);
  return PlanFor(c, EstimateDecodeBytes(c, latents, h, w, elem_bytes), EstimateDecodeBytes(c, chunk, h, w, elem_bytes));
}

}  // namespace seedvr::vae

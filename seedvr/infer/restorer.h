// One-step video restoration with a trained (or released) SeedVR2 generator,
// following the official pipeline (spec §4): read, area-preserving resize,
// crop to multiples of 16, pad to 4n+1 frames, VAE encode, one DiT step at
// t = 1000 (x̂ = noise - v), VAE decode within the memory bound, trim, wavelet
// colour fix, write at the input frame rate.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace seedvr::infer {

struct RestorerOptions {
  std::string checkpoint;       // training checkpoint (its EMA), or released .pth/.safetensors
  std::string config;           // training config; default: the checkpoint's stored config
  std::string vae_checkpoint;   // overrides training.vae_checkpoint
  std::string text_embeddings;  // overrides training.text_embeddings
  int64_t res_h = 720;          // target area res_h * res_w, aspect ratio kept
  int64_t res_w = 1280;
  uint64_t seed = 666;
  bool color_fix = true;
  // The VAE's activation budget and per-convolution/GroupNorm bounds (all
  // exact, vae/memory_plan.h); 0 keeps the config's.
  double memory_limit_gb = 0;
  int64_t sp_size = 1;          // frames pad to (T - 1) % (4 sp_size) == 0
  std::string device = "auto";  // auto | cpu | cuda | cuda:N (core/device.h)
  // auto | bf16 | fp32 for the DiT (autocast); auto is bf16 on a GPU and the
  // config's model.compute_dtype on the CPU. With bf16 on a GPU the VAE's
  // weights are bf16 too, as the official pipeline runs it; on the CPU fp32.
  std::string precision = "auto";
};

class Restorer {
 public:
  static absl::StatusOr<std::unique_ptr<Restorer>> Create(const RestorerOptions& options);
  virtual ~Restorer() = default;

  // Restores one video (or image) into `output`; `progress` hears each stage.
  virtual absl::Status RestoreFile(const std::string& input, const std::string& output,
                                   const std::function<void(const std::string&)>& progress) = 0;
};

}  // namespace seedvr::infer

// The SeedVR causal video VAE (official VideoAutoencoderKLWrapper with the
// s8_c16_t4_inflation_sd3 config): 8x spatial and 4x temporal compression to
// 16 latent channels.
//
//   video (B, 3, T, H, W) in [-1, 1], T = 4n+1
//     -> Encode -> Posterior{mean, logvar}, each (B, 16, n+1, H/8, W/8)
//   z (B, 16, T', h, w) -> Decode -> video (B, 3, 4(T'-1)+1, 8h, 8w)
//
// The DiT consumes latents channel-last and scaled: (T', h, w, 16) * 0.9152
// (EncodeForDiT / DecodeFromDiT, one sample).
//
// Memory: Encode/Decode pick, per call, full-sequence processing or causal
// temporal slicing from VAEConfig::memory_limit_gb (memory_plan.h), unless
// VAERunOptions forces a choice; convolutions and GroupNorms above
// conv_max_mem_gb / norm_max_mem_gb run in spatial tiles or group chunks
// (causal_conv.h). All of it is exact. Gradients are off inside
// Encode/Decode: the VAE is frozen in SeedVR2 training and inference.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "seedvr/models/vae/causal_conv.h"
#include "seedvr/models/vae/memory_plan.h"
#include "seedvr/models/vae/vae_blocks.h"
#include "seedvr/models/vae/vae_config.h"

namespace seedvr::vae {

// Rejects configurations this implementation does not build (other block
// types, activations or latent layouts), naming the key.
absl::Status ValidateVAEConfig(const VAEConfig& c);

class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(const VAEConfig& c);

  // (B, 3, T, H, W) -> (B, 2*latent, T', H/8, W/8): mean then logvar channels.
  at::Tensor forward(const at::Tensor& x);

 private:
  CausalConv3d conv_in_{nullptr}, conv_out_{nullptr};
  std::vector<DownEncoderBlock3D> blocks_;
  MidBlock3D mid_{nullptr};
  FrameGroupNorm norm_out_{nullptr};
};
TORCH_MODULE(Encoder);

class DecoderImpl : public torch::nn::Module {
 public:
  explicit DecoderImpl(const VAEConfig& c);

  at::Tensor forward(const at::Tensor& z);

 private:
  CausalConv3d conv_in_{nullptr}, conv_out_{nullptr};
  std::vector<UpDecoderBlock3D> blocks_;
  MidBlock3D mid_{nullptr};
  FrameGroupNorm norm_out_{nullptr};
};
TORCH_MODULE(Decoder);

// Diagonal Gaussian over latents, both (B, 16, T', h, w).
struct Posterior {
  at::Tensor mean;
  at::Tensor logvar;  // clamped to [-30, 20] like diffusers
  // mean + exp(logvar/2) * N(0,1): the official encode samples by default.
  at::Tensor Sample(std::optional<at::Generator> gen = std::nullopt) const;
  // The same with the caller's standard normal draw `eps` (shape of mean).
  at::Tensor Sample(const at::Tensor& eps) const;
};

// Per-call overrides of the config's memory settings.
struct VAERunOptions {
  enum class Switch { kAuto, kOff, kOn };
  // kAuto follows the memory plan; kOn slices with the config's split size
  // (4 if the config disables it).
  Switch slicing = Switch::kAuto;
  // Bounds of a convolution's input and a GroupNorm's (GB) above which they
  // run in spatial tiles / group chunks; -1: the config's; 0: never split.
  double conv_max_mem_gb = -1;
  double norm_max_mem_gb = -1;
  // Encode only: pad a clip whose T is not 4n+1 with copies of its last
  // frame (what the official pipeline's cut_videos does) instead of failing.
  // The caller trims the decoded result back to the original length.
  bool pad_last_frame = false;
};

class VideoVAEImpl : public torch::nn::Module {
 public:
  explicit VideoVAEImpl(const VAEConfig& c);

  const VAEConfig& config() const { return config_; }
  const VAEPlan& last_plan() const { return last_plan_; }
  // The scalar type of the parameters (that of the first encoder parameter).
  at::ScalarType dtype() const;

  // video: (B, 3, T, H, W), or (B, 3, H, W) for images; H, W multiples of 8.
  absl::StatusOr<Posterior> Encode(const at::Tensor& video, const VAERunOptions& o = {});

  // z: (B, latent, T', h, w) unscaled latents -> (B, 3, 4(T'-1)+1, 8h, 8w).
  absl::StatusOr<at::Tensor> Decode(const at::Tensor& z, const VAERunOptions& o = {});

  // (1, 16, T', h, w) -> (T', h, w, 16) * scaling_factor: the DiT's layout.
  at::Tensor ToDiTLatent(const at::Tensor& z) const;
  // (T', h, w, 16) -> (1, 16, T', h, w) / scaling_factor.
  at::Tensor FromDiTLatent(const at::Tensor& latent) const;

  // One clip (1, 3, T, H, W) -> DiT latent (T', h, w, 16). With a generator
  // the posterior is sampled (official behaviour); without, its mean is used.
  absl::StatusOr<at::Tensor> EncodeForDiT(const at::Tensor& video,
                                          std::optional<at::Generator> gen = std::nullopt,
                                          const VAERunOptions& o = {});

  absl::StatusOr<at::Tensor> DecodeFromDiT(const at::Tensor& latent,
                                           const VAERunOptions& o = {});

  Encoder encoder() { return encoder_; }
  Decoder decoder() { return decoder_; }

 private:
  // Turns the streaming state of every causal layer of `m` on or off for the
  // lifetime of the guard; clears it again on exit (also on exceptions).
  class StreamingScope {
   public:
    StreamingScope(torch::nn::Module& m, bool on);
    ~StreamingScope();

   private:
    void Set(bool on);
    torch::nn::Module& m_;
  };

  int64_t SplitSize() const;

  VAEPlan Resolve(const VAERunOptions& o, VAEPlan plan) const;

  // Sets every convolution's and GroupNorm's bound for this call.
  void ApplyMemoryLimits(const VAERunOptions& o);

  // `forward` (of `module`, the encoder or decoder) over the whole clip, or
  // over time slices of 1 + per, then per frames, the causal layers carrying
  // their state from slice to slice.
  static at::Tensor InTimeSlices(torch::nn::Module& module,
                                 const std::function<at::Tensor(const at::Tensor&)>& forward, const at::Tensor& x,
                                 int64_t per, bool slice);

  // Encoder over the whole clip, or 1+split frames then split at a time.
  at::Tensor EncodeRaw(const at::Tensor& x, bool slice);

  // Decoder over all latents, or 1+split/4 latents then split/4 at a time.
  at::Tensor DecodeRaw(const at::Tensor& z, bool slice);

  VAEConfig config_;
  VAEPlan last_plan_;
  Encoder encoder_{nullptr};
  Decoder decoder_{nullptr};
};
TORCH_MODULE(VideoVAE);

}  // namespace seedvr::vae

// The papers' discriminator (Seaweed-APT §3.3, arXiv 2501.08316; SeedVR2,
// arXiv 2506.05301): a DiT backbone of the generator's architecture, fully
// trained, with a cross-attention head at each tapped layer.
//
// Input. D sees the clean samples x (real or generated latents), never a
// noised mix: APT feeds the raw samples and randomises only the timestep the
// backbone is conditioned on, t ~ U(0, 1) shifted by t' = s t / (1 + (s - 1) t)
// (s = 12 for video; t = 0 made training collapse), one t per clip. So the
// adversarial, feature-matching and approximated R1/R2 signals reach D at
// full strength. t is drawn from a seed that Resample() takes once per D or G
// update, so every forward within an update (including the R1/R2
// perturbations) sees the same timestep, and resuming stays exact. The
// backbone's condition channels (LQ latent, mask) are zero, or, with
// discriminator.dit_condition: lq, hold the LQ latent and a mask of ones as
// the generator's do (Condition()).
//
// Heads. After each tapped block, a cross-attention block: one learnable
// query token attends (multi-head, the backbone's head count) to the
// layer-normalised video tokens of its clip, then a residual MLP (4x,
// GELU). The heads' tokens are concatenated, layer-normalised and projected
// to one logit. Taps default to APT's relative depths, blocks 16, 26 and 36
// of 36 (0-indexed 15, 25, 35 for the 7B; 13, 22, 31 for the 3B's 32).
//
// Initialisation: from discriminator.checkpoint (APT found the diffusion
// model's weights better than the distilled generator's) or, without it,
// from the generator's initial weights.
//
// Input latents [B, C, T, h, w]; logits [B, 1]; features: the video tokens
// [B * tokens, vid_dim] after each tapped block. Under sequence parallelism
// (DiscriminatorContext) the backbone splits its tokens as the generator
// does and gathers the features, so the heads see every token. No exact R1:
// the fused attention kernels have no double backward (as in APT), so the
// approximated R1/R2 regularise it. Role contract: discriminator.h.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <cstdint>
#include <vector>

#include "seedvr/models/discriminator/discriminator.h"
#include "seedvr/models/dit/nadit.h"

namespace seedvr::discriminator {

struct DiTDiscriminatorOptions {
  dit::DiTConfig backbone;
  std::vector<int64_t> layers = {15, 25, 35};  // tapped blocks, ascending
  double timestep_shift = 12.0;
  at::Tensor text;         // [Lt, txt_in_dim], the fixed text embedding
  bool condition = false;  // LQ latent in the backbone's condition channels
};

// The blocks APT taps, at the same relative depths (16, 26, 36 of 36,
// 1-indexed) for a backbone of `num_layers` blocks; ascending, distinct.
std::vector<int64_t> AptFeatureLayers(int64_t num_layers);

// One learnable query token cross-attending to a clip's tokens, then an MLP:
// [B, N, D] -> [B, D].
class CrossAttentionHeadImpl : public torch::nn::Module {
 public:
  CrossAttentionHeadImpl(int64_t dim, int64_t heads);
  at::Tensor forward(const at::Tensor& tokens);

  // Parameters of one head, for CountParameters.
  static int64_t CountParameters(int64_t dim);

 private:
  int64_t dim_, heads_;
  at::Tensor query_;
  torch::nn::LayerNorm norm_q_{nullptr}, norm_kv_{nullptr}, norm_mlp_{nullptr};
  torch::nn::Linear proj_q_{nullptr}, proj_kv_{nullptr}, proj_out_{nullptr}, fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(CrossAttentionHead);

class DiTDiscriminator;

class DiTDiscriminatorImpl : public torch::nn::Module {
 public:
  using Options = DiTDiscriminatorOptions;
  static constexpr const char* kName = "dit";
  static constexpr bool kDoubleBackward = false;
  static constexpr Judges kJudges = Judges::kLatents;

  // discriminator.dit_feature_layers: empty (APT's depths) or ascending,
  // within model.num_layers; discriminator.dit_condition: none | lq.
  static absl::Status Validate(const config::TrainConfig& config);
  // The backbone starts from discriminator.checkpoint when set, else from
  // the generator's initial DiT weights (context.generator).
  static absl::StatusOr<DiTDiscriminator> FromConfig(const config::TrainConfig& config,
                                                     const DiscriminatorContext& context);
  static int64_t CountParameters(const config::TrainConfig& config);
  static double ActivationBytes(const config::TrainConfig& config, const ClipShape& shape);
  // The tapped blocks the config asks for (APT's depths when empty).
  static std::vector<int64_t> FeatureLayers(const config::TrainConfig& config);

  explicit DiTDiscriminatorImpl(const DiTDiscriminatorOptions& o);

  // Draws the timestep seed for the next update from `gen`.
  void Resample(at::Generator& gen);
  // The LQ latents [B, C, T, h, w] of the clips the next forwards judge
  // (used when built with `condition`).
  void Condition(const at::Tensor& lq);

  // The backbone's video input for clean latents x [B, C, T, h, w]:
  // [B * T * h * w, vid_in_channels] = x | condition (or zeros).
  at::Tensor BackboneInput(const at::Tensor& x) const;
  // This update's shifted timesteps t' in [0, 1), one per clip: [b] fp32.
  at::Tensor Timesteps(int64_t b) const;

  // x: clean latents [B, C, T, h, w].
  DiscriminatorOutput forward(const at::Tensor& x);

  dit::NaDiT backbone{nullptr};
  torch::nn::ModuleList heads{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear out{nullptr};

 private:
  DiTDiscriminatorOptions options_;
  uint64_t seed_ = 0;
  at::Tensor condition_;
};
TORCH_MODULE(DiTDiscriminator);

}  // namespace seedvr::discriminator

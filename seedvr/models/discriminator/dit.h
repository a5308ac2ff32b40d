// The papers' discriminator (Seaweed-APT §3.3, arXiv 2501.08316; SeedVR2,
// arXiv 2506.05301): a DiT backbone of the generator's architecture,
// initialised from the generator's initial weights and fully trained, with a
// cross-attention head at each tapped layer. Each head is one learned query token attending to that layer's
// video tokens of a clip; the heads' outputs are concatenated,
// layer-normalised and projected to one logit.
//
// D sees noised latents: x_t = (1 - t) x + t eps at a random timestep
// t ~ U(0, 1) shifted by t' = s t / (1 + (s - 1) t) (s = 12 for video; t = 0
// made training collapse in APT), one t per clip. t and eps are drawn from a
// seed that Resample() takes once per D or G update, so every forward within
// an update (including the approximated R1/R2 perturbations) sees the same
// noise, and the trainer's saved generator makes resuming exact.
// The backbone's condition channels (LQ latent, mask) are zero: the
// discriminator judges the clip on its own.
//
// Input latents [B, C, T, h, w]; logits [B, 1]; features: the video tokens
// [B * tokens, vid_dim] after each tapped block. Under sequence parallelism
// (DiscriminatorContext) the backbone splits its tokens as the generator
// does and gathers the features, so the heads see every token. No exact R1: the fused
// attention kernels have no double backward (as in APT), so the
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
  std::vector<int64_t> layers = {16, 26, 31};  // tapped blocks, ascending
  double timestep_shift = 12.0;
  at::Tensor text;  // [Lt, txt_in_dim], the fixed text embedding
};

// One learned query attending to the tokens of each clip: [B, N, D] -> [B, D].
class QueryHeadImpl : public torch::nn::Module {
 public:
  explicit QueryHeadImpl(int64_t dim);
  at::Tensor forward(const at::Tensor& tokens);

  at::Tensor query;
  torch::nn::Linear proj_q{nullptr}, proj_kv{nullptr};

 private:
  int64_t dim_;
};
TORCH_MODULE(QueryHead);

class DiTDiscriminator;

class DiTDiscriminatorImpl : public torch::nn::Module {
 public:
  using Options = DiTDiscriminatorOptions;
  static constexpr const char* kName = "dit";
  static constexpr bool kDoubleBackward = false;
  static constexpr Judges kJudges = Judges::kLatents;

  // discriminator.dit_feature_layers: ascending, within model.num_layers.
  static absl::Status Validate(const config::TrainConfig& config);
  // Copies the generator's initial DiT weights (context.generator) into the backbone.
  static absl::StatusOr<DiTDiscriminator> FromConfig(const config::TrainConfig& config,
                                                     const DiscriminatorContext& context);
  static int64_t CountParameters(const config::TrainConfig& config);
  static double ActivationBytes(const config::TrainConfig& config, const ClipShape& shape);

  explicit DiTDiscriminatorImpl(const DiTDiscriminatorOptions& o);

  // Draws the timestep/noise seed for the next update from `gen`.
  void Resample(at::Generator& gen);

  // x: clean latents [B, C, T, h, w].
  DiscriminatorOutput forward(const at::Tensor& x);

  dit::NaDiT backbone{nullptr};
  torch::nn::ModuleList heads{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear out{nullptr};

 private:
  DiTDiscriminatorOptions options_;
  uint64_t seed_ = 0;
};
TORCH_MODULE(DiTDiscriminator);

}  // namespace seedvr::discriminator

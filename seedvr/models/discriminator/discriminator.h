// The discriminator role: what every discriminator provides to the trainer.
//
// A discriminator D is a LibTorch module holder (`DImpl` + TORCH_MODULE(D));
// concept Discriminator checks that D::Impl provides:
//
//   kName             the config's discriminator.type ("patch", "video", "dit")
//   kDoubleBackward   true when autograd can differentiate D's input gradient
//                     again, so exact R1 (StyleGAN2) can run; false rejects
//                     loss.lambda_r1 > 0 (approximated R1/R2 still work)
//   kJudges           what discriminator.input may be: latents only, or
//                     latents and pixels decoded by the frozen VAE
//   Validate(config)  checks D's own keys before anything is built; errors
//                     name the key path
//   FromConfig(config, context) -> StatusOr<D>
//                     builds D; `context` carries the generator's initial
//                     DiT (for discriminators initialised from it) and the
//                     text embedding
//   CountParameters(config)
//                     D's parameter count without building it (equals the
//                     built module's numel), for the memory estimate
//   ActivationBytes(config, shape)
//                     bytes autograd keeps for one forward of one clip of
//                     `shape`, for the memory estimate
//   forward(x)        x: clips [B, C, T, H, W] (VAE latents, channel first,
//                     or decoded pixels in [-1, 1]) -> DiscriminatorOutput:
//                     `logits`, a map [B, 1, t, h, w] or one per clip [B, 1],
//                     and `features`, the activations feature matching compares
//
// Optional hook (concept ResamplingDiscriminator): `Resample(at::Generator&)`
// draws the discriminator's own randomness (the DiT discriminator's
// timesteps) from the trainer's seeded generator, once per D or G update, so
// every forward within an update sees the same draw and resume stays exact.
//
// Optional hook (concept ConditionedDiscriminator): `Condition(lq)` hands D
// the LQ latents [B, C, T, h, w] of the clips its next forwards judge, for
// discriminators that may see the restoration's input (the DiT
// discriminator with discriminator.dit_condition: lq).
//
// Adding a discriminator: its header and .cc here (implementing the above),
// its test, and one line in the trainer product (seedvr/train/BUILD.bazel).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <concepts>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "seedvr/config/config.h"
#include "seedvr/parallel/ulysses.h"

namespace seedvr::dit {
class NaDiTImpl;
}  // namespace seedvr::dit

namespace seedvr::discriminator {

struct DiscriminatorOutput {
  at::Tensor logits;
  std::vector<at::Tensor> features;
};

// What discriminator.input a discriminator accepts.
enum class Judges { kLatents, kLatentsOrPixels };

// What FromConfig may build from besides the config.
struct DiscriminatorContext {
  const dit::NaDiTImpl* generator = nullptr;  // the generator's initial DiT
  at::Tensor text;                            // [Lt, txt_in_dim] positive embedding, fp32
  // The run's Ulysses group (null: none); discriminators built on the DiT
  // split their tokens over it as the generator does.
  parallel::SequenceParallelHandle sequence_parallel;
};

// One clip as the discriminator sees it, for ActivationBytes.
struct ClipShape {
  int64_t channels = 0;
  int64_t frames = 0;   // T (latent frames, or pixel frames for pixel input)
  int64_t height = 0;
  int64_t width = 0;
  int64_t text_tokens = 0;
  bool gradient_checkpointing = false;
};

template <class D>
concept Discriminator = requires(D d, const at::Tensor& x, const config::TrainConfig& c,
                                 const DiscriminatorContext& ctx, const ClipShape& shape) {
  { D::Impl::kName } -> std::convertible_to<const char*>;
  { D::Impl::kDoubleBackward } -> std::convertible_to<bool>;
  { D::Impl::kJudges } -> std::convertible_to<Judges>;
  { D::Impl::Validate(c) } -> std::same_as<absl::Status>;
  { D::Impl::FromConfig(c, ctx) } -> std::same_as<absl::StatusOr<D>>;
  { D::Impl::CountParameters(c) } -> std::same_as<int64_t>;
  { D::Impl::ActivationBytes(c, shape) } -> std::same_as<double>;
  { d->forward(x) } -> std::same_as<DiscriminatorOutput>;
  { d->parameters() } -> std::same_as<std::vector<at::Tensor>>;
};

template <class D>
concept ResamplingDiscriminator = Discriminator<D> && requires(D d, at::Generator& gen) { d->Resample(gen); };

template <class D>
concept ConditionedDiscriminator = Discriminator<D> && requires(D d, const at::Tensor& lq) {
  d->Condition(lq);
};

// Channels of what D judges under this config: latent or pixel channels.
int64_t InputChannels(const config::TrainConfig& config);

}  // namespace seedvr::discriminator

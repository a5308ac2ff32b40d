// The papers' discriminator (Seaweed-APT, SeedVR2): a DiT backbone of the
// generator's architecture, initialised from a checkpoint and fully trained,
// with a cross-attention head at each tapped layer. Each head is one learned
// query token attending to that layer's video tokens of a clip; the heads'
// outputs are concatenated, layer-normalised and projected to one logit.
//
// D sees noised latents: x_t = (1 - t) x + t eps at a random timestep
// t ~ U(0, 1) shifted by t' = s t / (1 + (s - 1) t) (s = 12 for video; t = 0
// made training collapse in APT), one t per clip. t and eps are drawn from a
// seed that Resample() takes once per D or G update, so every forward within
// an update (including R1 and the approximated R1/R2 perturbations) sees the
// same noise, and the trainer's saved generator makes resuming exact.
// The backbone's condition channels (LQ latent, mask) are zero: the
// discriminator judges the clip on its own.
#pragma once

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <cmath>
#include <string>
#include <vector>

#include "seedvr/models/discriminator/discriminator.h"
#include "seedvr/models/dit/nadit.h"

namespace seedvr {

struct DiTDiscriminatorOptions {
  DiTConfig backbone;
  std::vector<int64_t> layers = {16, 26, 31};  // tapped blocks, ascending
  double timestep_shift = 12.0;
  at::Tensor text;  // [Lt, txt_in_dim], the fixed text embedding
};

// One learned query attending to the tokens of each clip.
class QueryHeadImpl : public torch::nn::Module {
 public:
  explicit QueryHeadImpl(int64_t dim) : dim_(dim) {
    query = register_parameter("query", at::randn({1, 1, dim}) * 0.02);
    proj_q = register_module("proj_q", torch::nn::Linear(dim, dim));
    proj_kv = register_module("proj_kv", torch::nn::Linear(dim, 2 * dim));
  }
  // tokens [B, N, D] -> [B, D]
  at::Tensor forward(const at::Tensor& tokens) {
    at::Tensor kv = proj_kv->forward(tokens);
    at::Tensor k = kv.narrow(2, 0, dim_), v = kv.narrow(2, dim_, dim_);
    at::Tensor q = proj_q->forward(query).expand({tokens.size(0), 1, dim_});
    at::Tensor attn = at::softmax(at::matmul(q, k.transpose(1, 2)) / std::sqrt(static_cast<double>(dim_)), -1);
    return at::matmul(attn, v).squeeze(1);
  }
  at::Tensor query;
  torch::nn::Linear proj_q{nullptr}, proj_kv{nullptr};

 private:
  int64_t dim_;
};
TORCH_MODULE(QueryHead);

class DiTDiscriminatorImpl : public torch::nn::Module {
 public:
  using Options = DiTDiscriminatorOptions;
  static constexpr const char* kName = "dit";

  explicit DiTDiscriminatorImpl(const DiTDiscriminatorOptions& o) : options_(o) {
    const int64_t d = o.backbone.vid_dim;
    backbone = register_module("backbone", dit::NaDiT(o.backbone));
    heads = register_module("heads", torch::nn::ModuleList());
    for (size_t i = 0; i < o.layers.size(); ++i) heads->push_back(QueryHead(d));
    const int64_t width = d * static_cast<int64_t>(o.layers.size());
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
    out = register_module("out", torch::nn::Linear(width, 1));
  }

  // Draws the timestep/noise seed for the next update from `gen`.
  void Resample(at::Generator& gen) {
    seed_ = static_cast<uint64_t>(at::randint(0, int64_t{1} << 62, {1}, gen, at::kLong).item<int64_t>());
  }

  // x: clean latents [B, C, T, h, w].
  DiscriminatorOutput forward(const at::Tensor& x) {
    const int64_t b = x.size(0), t = x.size(2), h = x.size(3), w = x.size(4);
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed_);
    const double s = options_.timestep_shift;
    at::Tensor u = at::rand({b}, gen, at::kFloat);
    at::Tensor shifted = (s * u / (1 + (s - 1) * u)).to(x.options());
    at::Tensor eps = at::randn(x.sizes(), gen, at::kFloat).to(x.options());
    at::Tensor sv = shifted.view({b, 1, 1, 1, 1});
    at::Tensor noisy = (1 - sv) * x + sv * eps;
    const int64_t cond = options_.backbone.vid_in_channels - x.size(1);
    at::Tensor input = at::cat({noisy, at::zeros({b, cond, t, h, w}, x.options())}, 1);
    at::Tensor vid = input.permute({0, 2, 3, 4, 1}).reshape({b * t * h * w, input.size(1)});
    at::Tensor vid_shape = at::tensor({t, h, w}, at::kLong).repeat({b, 1});
    at::Tensor txt = options_.text.to(x.options()).repeat({b, 1});
    at::Tensor txt_shape = at::full({b, 1}, options_.text.size(0), at::kLong);
    DiscriminatorOutput result;
    result.features = backbone->Features(vid, vid_shape, txt, txt_shape, shifted * 1000.0, options_.layers);
    std::vector<at::Tensor> pooled;
    for (size_t i = 0; i < result.features.size(); ++i) {
      const at::Tensor& f = result.features[i];
      pooled.push_back(heads[i]->as<QueryHead>()->forward(f.to(x.scalar_type()).view({b, -1, f.size(1)})));
    }
    result.logits = out->forward(norm->forward(at::cat(pooled, 1)));
    return result;
  }

  dit::NaDiT backbone{nullptr};
  torch::nn::ModuleList heads{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear out{nullptr};

 private:
  DiTDiscriminatorOptions options_;
  uint64_t seed_ = 0;
};
TORCH_MODULE(DiTDiscriminator);

}  // namespace seedvr

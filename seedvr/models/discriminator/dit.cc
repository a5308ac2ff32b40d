#include "seedvr/models/discriminator/dit.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "seedvr/models/dit/dit_memory.h"
#include "seedvr/models/dit/dit_shapes.h"
#include "seedvr/models/dit/dit_weights.h"

namespace seedvr::discriminator {

QueryHeadImpl::QueryHeadImpl(int64_t dim) : dim_(dim) {
  query = register_parameter("query", at::randn({1, 1, dim}) * 0.02);
  proj_q = register_module("proj_q", torch::nn::Linear(dim, dim));
  proj_kv = register_module("proj_kv", torch::nn::Linear(dim, 2 * dim));
}

at::Tensor QueryHeadImpl::forward(const at::Tensor& tokens) {
  at::Tensor kv = proj_kv->forward(tokens);
  at::Tensor k = kv.narrow(2, 0, dim_), v = kv.narrow(2, dim_, dim_);
  at::Tensor q = proj_q->forward(query).expand({tokens.size(0), 1, dim_});
  at::Tensor attn = at::softmax(at::matmul(q, k.transpose(1, 2)) / std::sqrt(static_cast<double>(dim_)), -1);
  return at::matmul(attn, v).squeeze(1);
}

absl::Status DiTDiscriminatorImpl::Validate(const config::TrainConfig& config) {
  const auto& layers = config.discriminator.dit_feature_layers;
  const int64_t n = config.model.num_layers;
  if (layers.empty() || !std::is_sorted(layers.begin(), layers.end()) ||
      std::adjacent_find(layers.begin(), layers.end()) != layers.end() || layers.front() < 0 || layers.back() >= n) {
    std::string given;
    for (int64_t l : layers) absl::StrAppend(&given, given.empty() ? "" : ", ", l);
    return absl::InvalidArgumentError(absl::StrCat(
        "discriminator.dit_feature_layers: expected ascending layers in [0, ", n, ") (model.num_layers), got [", given,
        "]"));
  }
  return absl::OkStatus();
}

absl::StatusOr<DiTDiscriminator> DiTDiscriminatorImpl::FromConfig(const config::TrainConfig& config,
                                                                  const DiscriminatorContext& context) {
  if (auto s = Validate(config); !s.ok()) return s;
  if (context.generator == nullptr || !context.text.defined()) {
    return absl::InvalidArgumentError("the dit discriminator is built from the generator's DiT and the text embedding");
  }
  const auto& d = config.discriminator;
  DiTDiscriminator model(DiTDiscriminatorOptions{config.model, d.dit_feature_layers, d.dit_timestep_shift, context.text});
  core::TensorList init;
  for (const auto& p : context.generator->named_parameters()) init.push_back({p.key(), p.value().detach()});
  if (auto s = dit::LoadDiTWeights(*model->backbone, init); !s.ok()) return s;
  model->backbone->set_sequence_parallel(context.sequence_parallel);
  return model;
}

// A copy of the generator's DiT plus one query head per tapped layer
// (query, proj_q, proj_kv), the LayerNorm and the logit projection.
int64_t DiTDiscriminatorImpl::CountParameters(const config::TrainConfig& config) {
  const int64_t dim = config.model.vid_dim;
  const int64_t taps = static_cast<int64_t>(config.discriminator.dit_feature_layers.size());
  const int64_t head = dim + (dim * dim + dim) + (2 * dim * dim + 2 * dim);
  return dit::CountDiTParameters(config.model) + taps * head + 2 * taps * dim + (taps * dim + 1);
}

// The backbone up to the deepest tapped block; the heads are small.
double DiTDiscriminatorImpl::ActivationBytes(const config::TrainConfig& config, const ClipShape& s) {
  const auto& layers = config.discriminator.dit_feature_layers;
  dit::DiTConfig backbone = config.model;
  if (!layers.empty()) backbone.num_layers = std::min<int64_t>(*std::max_element(layers.begin(), layers.end()) + 1,
                                                               config.model.num_layers);
  const auto& p = config.model.patch_size;
  const dit::Grid3 grid = {s.frames / p[0], s.height / p[1], s.width / p[2]};
  const dit::DiTActivations a = dit::DiTActivationBytes(backbone, grid, s.text_tokens, 1);
  return s.gradient_checkpointing ? a.checkpointed : a.full;
}

DiTDiscriminatorImpl::DiTDiscriminatorImpl(const DiTDiscriminatorOptions& o) : options_(o) {
  const int64_t d = o.backbone.vid_dim;
  backbone = register_module("backbone", dit::NaDiT(o.backbone));
  heads = register_module("heads", torch::nn::ModuleList());
  for (size_t i = 0; i < o.layers.size(); ++i) heads->push_back(QueryHead(d));
  const int64_t width = d * static_cast<int64_t>(o.layers.size());
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
  out = register_module("out", torch::nn::Linear(width, 1));
}

void DiTDiscriminatorImpl::Resample(at::Generator& gen) {
  // Drawn on the generator's device (the training device's stream).
  seed_ = static_cast<uint64_t>(
      at::randint(0, int64_t{1} << 62, {1}, gen, at::TensorOptions().dtype(at::kLong).device(gen.device()))
          .item<int64_t>());
}

DiscriminatorOutput DiTDiscriminatorImpl::forward(const at::Tensor& x) {
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

}  // namespace seedvr::discriminator

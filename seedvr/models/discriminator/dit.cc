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

std::vector<int64_t> AptFeatureLayers(int64_t num_layers) {
  std::vector<int64_t> layers;
  for (int64_t k : {16, 26, 36}) {
    const int64_t l =
        std::clamp<int64_t>(std::llround(static_cast<double>(k * num_layers) / 36.0) - 1, 0, num_layers - 1);
    if (layers.empty() || layers.back() != l) layers.push_back(l);
  }
  return layers;
}

CrossAttentionHeadImpl::CrossAttentionHeadImpl(int64_t dim, int64_t heads) : dim_(dim), heads_(heads) {
  query_ = register_parameter("query", at::randn({1, 1, dim}) * 0.02);
  norm_q_ = register_module("norm_q", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  norm_kv_ = register_module("norm_kv", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  proj_q_ = register_module("proj_q", torch::nn::Linear(dim, dim));
  proj_kv_ = register_module("proj_kv", torch::nn::Linear(dim, 2 * dim));
  proj_out_ = register_module("proj_out", torch::nn::Linear(dim, dim));
  norm_mlp_ = register_module("norm_mlp", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  fc1_ = register_module("fc1", torch::nn::Linear(dim, 4 * dim));
  fc2_ = register_module("fc2", torch::nn::Linear(4 * dim, dim));
}

int64_t CrossAttentionHeadImpl::CountParameters(int64_t d) {
  // query, three LayerNorms, q / kv / out projections, the 4x MLP.
  return d + 3 * 2 * d + (d * d + d) + (2 * d * d + 2 * d) + (d * d + d) + (4 * d * d + 4 * d) + (4 * d * d + d);
}

at::Tensor CrossAttentionHeadImpl::forward(const at::Tensor& tokens) {
  const int64_t b = tokens.size(0), n = tokens.size(1), hd = dim_ / heads_;
  at::Tensor kv = proj_kv_->forward(norm_kv_->forward(tokens));  // [B, N, 2D]
  at::Tensor k = kv.narrow(2, 0, dim_).view({b, n, heads_, hd}).transpose(1, 2);
  at::Tensor v = kv.narrow(2, dim_, dim_).view({b, n, heads_, hd}).transpose(1, 2);
  at::Tensor q = proj_q_->forward(norm_q_->forward(query_)).view({1, heads_, 1, hd}).expand({b, heads_, 1, hd});
  at::Tensor a = at::scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape({b, dim_});
  at::Tensor h = query_.view({1, dim_}) + proj_out_->forward(a);
  return h + fc2_->forward(at::gelu(fc1_->forward(norm_mlp_->forward(h))));
}

std::vector<int64_t> DiTDiscriminatorImpl::FeatureLayers(const config::TrainConfig& config) {
  const auto& layers = config.discriminator.dit_feature_layers;
  return layers.empty() ? AptFeatureLayers(config.model.num_layers) : layers;
}

absl::Status DiTDiscriminatorImpl::Validate(const config::TrainConfig& config) {
  const auto& layers = config.discriminator.dit_feature_layers;
  const int64_t n = config.model.num_layers;
  if (!layers.empty() &&
      (!std::is_sorted(layers.begin(), layers.end()) ||
       std::adjacent_find(layers.begin(), layers.end()) != layers.end() || layers.front() < 0 || layers.back() >= n)) {
    std::string given;
    for (int64_t l : layers) absl::StrAppend(&given, given.empty() ? "" : ", ", l);
    return absl::InvalidArgumentError(absl::StrCat(
        "discriminator.dit_feature_layers: expected [] (APT's relative depths) or ascending layers in [0, ", n,
        ") (model.num_layers), got [", given, "]"));
  }
  if (config.model.vid_dim % config.model.heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat("model.heads: the dit discriminator's heads split vid_dim (",
                                                   config.model.vid_dim, ") into heads, got ", config.model.heads));
  }
  return absl::OkStatus();
}

absl::StatusOr<DiTDiscriminator> DiTDiscriminatorImpl::FromConfig(const config::TrainConfig& config,
                                                                  const DiscriminatorContext& context) {
  if (auto s = Validate(config); !s.ok()) return s;
  const auto& d = config.discriminator;
  if ((d.checkpoint.empty() && context.generator == nullptr) || !context.text.defined()) {
    return absl::InvalidArgumentError(
        "the dit discriminator is built from discriminator.checkpoint or the generator's DiT, and the text "
        "embedding");
  }
  DiTDiscriminator model(DiTDiscriminatorOptions{config.model, FeatureLayers(config), d.dit_timestep_shift,
                                                 context.text, d.dit_condition == "lq"});
  if (!d.checkpoint.empty()) {
    if (auto s = dit::LoadDiTWeightsFile(*model->backbone, d.checkpoint); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("discriminator.checkpoint: ", s.message()));
    }
  } else {
    core::TensorList init;
    for (const auto& p : context.generator->named_parameters()) init.push_back({p.key(), p.value().detach()});
    if (auto s = dit::LoadDiTWeights(*model->backbone, init); !s.ok()) return s;
  }
  model->backbone->set_sequence_parallel(context.sequence_parallel);
  return model;
}

// A copy of the generator's DiT plus one cross-attention head per tapped
// layer, the LayerNorm and the logit projection.
int64_t DiTDiscriminatorImpl::CountParameters(const config::TrainConfig& config) {
  const int64_t dim = config.model.vid_dim;
  const int64_t taps = static_cast<int64_t>(FeatureLayers(config).size());
  return dit::CountDiTParameters(config.model) + taps * CrossAttentionHeadImpl::CountParameters(dim) + 2 * taps * dim +
         (taps * dim + 1);
}

// The backbone up to the deepest tapped block; the heads are small.
double DiTDiscriminatorImpl::ActivationBytes(const config::TrainConfig& config, const ClipShape& s) {
  const std::vector<int64_t> layers = FeatureLayers(config);
  dit::DiTConfig backbone = config.model;
  backbone.num_layers = std::min<int64_t>(layers.back() + 1, config.model.num_layers);
  const auto& p = config.model.patch_size;
  const dit::Grid3 grid = {s.frames / p[0], s.height / p[1], s.width / p[2]};
  const dit::DiTActivations a = dit::DiTActivationBytes(backbone, grid, s.text_tokens, 1);
  return s.gradient_checkpointing ? a.checkpointed : a.full;
}

DiTDiscriminatorImpl::DiTDiscriminatorImpl(const DiTDiscriminatorOptions& o) : options_(o) {
  const int64_t d = o.backbone.vid_dim;
  backbone = register_module("backbone", dit::NaDiT(o.backbone));
  heads = register_module("heads", torch::nn::ModuleList());
  for (size_t i = 0; i < o.layers.size(); ++i) heads->push_back(CrossAttentionHead(d, o.backbone.heads));
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

void DiTDiscriminatorImpl::Condition(const at::Tensor& lq) { condition_ = lq; }

at::Tensor DiTDiscriminatorImpl::Timesteps(int64_t b) const {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed_);
  const double s = options_.timestep_shift;
  at::Tensor u = at::rand({b}, gen, at::kFloat);
  return s * u / (1 + (s - 1) * u);
}

at::Tensor DiTDiscriminatorImpl::BackboneInput(const at::Tensor& x) const {
  const int64_t b = x.size(0), t = x.size(2), h = x.size(3), w = x.size(4);
  const int64_t cond = options_.backbone.vid_in_channels - x.size(1);
  at::Tensor c;
  if (options_.condition) {
    TORCH_CHECK(condition_.defined() && condition_.sizes() == x.sizes(),
                "dit discriminator: Condition() needs the LQ latents shaped like the judged clips ", x.sizes());
    c = at::cat({condition_.to(x.options()), at::ones({b, cond - x.size(1), t, h, w}, x.options())}, 1);
  } else {
    c = at::zeros({b, cond, t, h, w}, x.options());
  }
  at::Tensor input = at::cat({x, c}, 1);
  return input.permute({0, 2, 3, 4, 1}).reshape({b * t * h * w, input.size(1)});
}

DiscriminatorOutput DiTDiscriminatorImpl::forward(const at::Tensor& x) {
  const int64_t b = x.size(0), t = x.size(2), h = x.size(3), w = x.size(4);
  at::Tensor vid_shape = at::tensor({t, h, w}, at::kLong).repeat({b, 1});
  at::Tensor txt = options_.text.to(x.options()).repeat({b, 1});
  at::Tensor txt_shape = at::full({b, 1}, options_.text.size(0), at::kLong);
  at::Tensor timestep = Timesteps(b).to(x.options()) * 1000.0;
  DiscriminatorOutput result;
  result.features = backbone->Features(BackboneInput(x), vid_shape, txt, txt_shape, timestep, options_.layers);
  std::vector<at::Tensor> pooled;
  for (size_t i = 0; i < result.features.size(); ++i) {
    const at::Tensor& f = result.features[i];
    pooled.push_back(heads[i]->as<CrossAttentionHead>()->forward(f.to(x.scalar_type()).view({b, -1, f.size(1)})));
  }
  result.logits = out->forward(norm->forward(at::cat(pooled, 1)));
  return result;
}

}  // namespace seedvr::discriminator

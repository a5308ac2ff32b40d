// The APT trainer, composed at compile time from four policies:
//
//   Generator      SeedVR2Generator: Restore(lq, noise) -> x̂, NamedParameters()
//   Discriminator  patch | video | dit (models/discriminator/discriminator.h)
//   Loss           non_saturating | hinge | rpgan (losses/adversarial.h)
//   Parallelism    single process here; data parallel, sharded and sequence
//                  parallel strategies share parallel/parallelism.h
//
// One step, as SeedVR2 and APT describe it: HQ and LQ clips are encoded by the
// frozen VAE (posterior samples); the generator restores x̂ = noise - v at
// t = 1000; the discriminator is updated d_steps times (adversarial loss,
// lazy exact R1, approximated R1/R2), then the generator with D frozen
// (adversarial, feature matching, L1); the EMA follows the generator.
// Everything random draws from one seeded generator saved in checkpoints, so
// N steps equal N/2 + resume + N/2 bit for bit on a CPU.
#pragma once

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/utils.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "seedvr/config/config.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/data/clip_tensor.h"
#include "seedvr/data/loader.h"
#include "seedvr/losses/adversarial.h"
#include "seedvr/losses/regularizers.h"
#include "seedvr/models/discriminator/discriminator.h"
#include "seedvr/parallel/parallelism.h"
#include "seedvr/train/adamw.h"
#include "seedvr/train/checkpoint.h"
#include "seedvr/train/codec.h"
#include "seedvr/train/ema.h"
#include "seedvr/train/generator.h"
#include "seedvr/train/monitor.h"

namespace seedvr::train {

template <class G>
concept Generator = requires(G g, const at::Tensor& x) {
  { g.Restore(x, x) } -> std::same_as<at::Tensor>;
  { g.NamedParameters() } -> std::same_as<std::vector<std::pair<std::string, at::Tensor>>>;
};

// L1 distances on held-out clips: how far the EMA generator's restorations
// and the LQ inputs are from the HQ latents.
struct EvalResult {
  double restored_l1 = 0;
  double lq_l1 = 0;
  int64_t clips = 0;
};

template <class G, class D, class L, class P>
class Trainer {
  static_assert(Generator<G>, "G must provide Restore(lq, noise) and NamedParameters() (see train/generator.h)");
  static_assert(Discriminator<D>, "D must return DiscriminatorOutput from forward() (see discriminator.h)");
  static_assert(losses::AdversarialLoss<L>, "L must be an adversarial loss policy (see losses/adversarial.h)");
  static_assert(parallel::Parallelism<P>, "P must be a parallelism strategy (see parallel/parallelism.h)");

 public:
  // Type aliases: the composed parts.
  using GeneratorType = G;
  using DiscriminatorType = D;
  using LossType = L;
  using ParallelismType = P;

  Trainer(TrainConfig config, G generator, D discriminator, LatentCodec codec, data::DataLoader* loader, P parallel)
      : config_(std::move(config)),
        g_(std::move(generator)),
        d_(std::move(discriminator)),
        codec_(std::move(codec)),
        loader_(loader),
        parallel_(std::move(parallel)),
        gen_(at::make_generator<at::CPUGeneratorImpl>(config_.training.seed)),
        lazy_r1_{config_.loss.lambda_r1, config_.loss.r1_interval},
        g_opt_(g_.NamedParameters(), AdamWOptions{config_.optimizer.g_lr, config_.optimizer.betas[0],
                                                  config_.optimizer.betas[1], config_.optimizer.eps,
                                                  config_.optimizer.weight_decay}),
        d_opt_(DNamedParameters(), AdamWOptions{lazy_r1_.CorrectLr(config_.optimizer.d_lr),
                                               lazy_r1_.CorrectBeta(config_.optimizer.betas[0]),
                                               lazy_r1_.CorrectBeta(config_.optimizer.betas[1]),
                                               config_.optimizer.eps, config_.optimizer.weight_decay}),
        ema_(g_.NamedParameters(), config_.training.ema_decay) {}

  int64_t step() const { return step_; }
  G& generator() { return g_; }
  const Ema& ema() const { return ema_; }

  // One generator step (and its discriminator steps); returns the metrics.
  absl::StatusOr<Metrics> Step() {
    const auto start = std::chrono::steady_clock::now();
    std::vector<Batch> batches;
    for (int64_t i = 0; i < config_.training.grad_accum; ++i) {
      auto b = NextBatch();
      if (!b.ok()) return b.status();
      batches.push_back(*std::move(b));
    }
    const double accum = static_cast<double>(batches.size());
    Metrics m;

    // Discriminator.
    SetRequiresGrad(d_->parameters(), true);
    double d_adv = 0, r1 = 0, ar1 = 0, ar2 = 0, d_norm = 0;
    for (int64_t k = 0; k < config_.training.d_steps; ++k) {
      ResampleDiscriminator();
      d_opt_.ZeroGrad();
      const bool r1_due = lazy_r1_.Due(d_step_);
      for (const Batch& b : batches) {
        at::Tensor fake;
        {
          torch::NoGradGuard no_grad;
          fake = g_.Restore(b.lq, b.noise);
        }
        at::Tensor real_in = ToD(b.hq), fake_in = ToD(fake).detach();
        DiscriminatorOutput real_out = d_->forward(real_in), fake_out = d_->forward(fake_in);
        at::Tensor adv = L::Discriminator(real_out.logits, fake_out.logits);
        at::Tensor loss = adv;
        auto logits_fn = [this](const at::Tensor& x) { return d_->forward(x).logits; };
        if (r1_due) {
          at::Tensor p = losses::R1Penalty(logits_fn, real_in.detach());
          loss = loss + lazy_r1_.Loss(p);
          r1 += p.item<double>() / accum;
        }
        if (config_.loss.lambda_ar1 > 0) {
          at::Tensor p = losses::ApproximatedPenalty(logits_fn, real_out.logits, real_in, Randn(real_in), config_.loss.ar_sigma);
          loss = loss + config_.loss.lambda_ar1 * p;
          ar1 += p.item<double>() / accum;
        }
        if (config_.loss.lambda_ar2 > 0) {
          at::Tensor p = losses::ApproximatedPenalty(logits_fn, fake_out.logits, fake_in, Randn(fake_in), config_.loss.ar_sigma);
          loss = loss + config_.loss.lambda_ar2 * p;
          ar2 += p.item<double>() / accum;
        }
        (loss / accum).backward();
        d_adv += adv.item<double>() / accum;
      }
      parallel_.AllReduceGradients(d_->parameters());
      d_norm = d_opt_.ClipGradNorm(config_.optimizer.grad_clip);
      d_opt_.Step();
      ++d_step_;
    }
    const double steps = static_cast<double>(config_.training.d_steps);

    // Generator, with D frozen so feature matching only moves G.
    SetRequiresGrad(d_->parameters(), false);
    ResampleDiscriminator();
    g_opt_.ZeroGrad();
    double g_adv = 0, fm = 0, l1 = 0;
    for (const Batch& b : batches) {
      at::Tensor fake = g_.Restore(b.lq, b.noise);
      DiscriminatorOutput fake_out = d_->forward(ToD(fake));
      DiscriminatorOutput real_out;
      {
        torch::NoGradGuard no_grad;
        real_out = d_->forward(ToD(b.hq));
      }
      at::Tensor adv = L::Generator(fake_out.logits, real_out.logits);
      at::Tensor loss = config_.loss.lambda_adv * adv;
      if (config_.loss.lambda_fm > 0) {
        at::Tensor f = losses::FeatureMatching(fake_out.features, real_out.features);
        loss = loss + config_.loss.lambda_fm * f;
        fm += f.item<double>() / accum;
      }
      at::Tensor rec = (fake - b.hq).abs().mean();
      if (config_.loss.lambda_l1 > 0) loss = loss + config_.loss.lambda_l1 * rec;
      l1 += rec.item<double>() / accum;
      (loss / accum).backward();
      g_adv += adv.item<double>() / accum;
    }
    parallel_.AllReduceGradients(GParameters());
    const double g_norm = g_opt_.ClipGradNorm(config_.optimizer.grad_clip);
    g_opt_.Step();
    ema_.Update();
    ++step_;

    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double clips = accum * static_cast<double>(config_.training.batch_size) * parallel_.world_size();
    m = {{"d_adv", d_adv / steps}, {"g_adv", g_adv}, {"fm", fm}, {"r1", r1}, {"l1", l1}};
    if (config_.loss.lambda_ar1 > 0) m.emplace_back("ar1", ar1 / steps);
    if (config_.loss.lambda_ar2 > 0) m.emplace_back("ar2", ar2 / steps);
    m.insert(m.end(), {{"g_grad_norm", g_norm}, {"d_grad_norm", d_norm}, {"g_lr", g_opt_.options().lr},
                       {"d_lr", d_opt_.options().lr}, {"sec_per_step", seconds}, {"clips_per_sec", clips / seconds}});
    return m;
  }

  // Everything needed to continue exactly.
  PyValue State() {
    auto d = std::make_shared<PyDict>();
    auto put = [&](const char* k, PyValue v) { d->emplace_back(PyValue{std::string(k)}, std::move(v)); };
    put("format", PyValue{std::string(kCheckpointFormat)});
    put("step", PyValue{step_});
    put("d_step", PyValue{d_step_});
    put("generator", FromTensorList(Named(g_.NamedParameters())));
    put("ema", FromTensorList(ema_.weights()));
    put("discriminator", FromTensorList(Named(DNamedParameters())));
    put("g_optimizer", g_opt_.State());
    put("d_optimizer", d_opt_.State());
    auto rng = std::make_shared<PyDict>();
    rng->emplace_back(PyValue{std::string("cpu")}, PyValue{gen_.get_state()});
    put("rng", PyValue{rng});
    auto loader = std::make_shared<PyDict>();
    const data::LoaderPosition pos = loader_->position();
    loader->emplace_back(PyValue{std::string("epoch")}, PyValue{pos.epoch});
    loader->emplace_back(PyValue{std::string("index")}, PyValue{pos.index});
    put("loader", PyValue{loader});
    put("config", PyValue{DumpTrainConfig(config_)});
    // A randomly initialised VAE exists nowhere else: keep it for inference.
    if (config_.training.vae_checkpoint.empty()) {
      TensorList vae;
      for (const auto& item : codec_.vae()->named_parameters()) vae.push_back({item.key(), item.value().detach()});
      put("vae", FromTensorList(vae));
    }
    return PyValue{d};
  }

  absl::Status LoadState(const PyValue& state, const std::string& where) {
    auto load_params = [&](const char* key, const std::vector<std::pair<std::string, at::Tensor>>& params) -> absl::Status {
      const PyValue* v = state.find(key);
      if (v == nullptr) return absl::InvalidArgumentError(absl::StrCat(where, ": no '", key, "' entry"));
      auto list = ToTensorList(*v, absl::StrCat(where, "['", key, "']"));
      if (!list.ok()) return list.status();
      if (list->size() != params.size()) {
        return absl::InvalidArgumentError(absl::StrCat(where, "['", key, "'] holds ", list->size(),
                                                       " tensors; this model has ", params.size(),
                                                       " (was it trained with another config?)"));
      }
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < params.size(); ++i) {
        if ((*list)[i].name != params[i].first || !(*list)[i].tensor.sizes().equals(params[i].second.sizes())) {
          return absl::InvalidArgumentError(absl::StrCat(
              where, "['", key, "']: '", (*list)[i].name, "' [", absl::StrJoin((*list)[i].tensor.sizes(), ", "),
              "] does not match '", params[i].first, "' [", absl::StrJoin(params[i].second.sizes(), ", "), "]"));
        }
        params[i].second.copy_((*list)[i].tensor);
      }
      return absl::OkStatus();
    };
    if (auto s = load_params("generator", g_.NamedParameters()); !s.ok()) return s;
    if (auto s = load_params("discriminator", DNamedParameters()); !s.ok()) return s;
    const PyValue* ema = state.find("ema");
    if (ema == nullptr) return absl::InvalidArgumentError(where + ": no 'ema' entry");
    auto ema_list = ToTensorList(*ema, where + "['ema']");
    if (!ema_list.ok()) return ema_list.status();
    if (auto s = ema_.Load(*ema_list, where); !s.ok()) return s;
    for (auto [key, opt] : {std::pair{"g_optimizer", &g_opt_}, std::pair{"d_optimizer", &d_opt_}}) {
      const PyValue* v = state.find(key);
      if (v == nullptr) return absl::InvalidArgumentError(absl::StrCat(where, ": no '", key, "' entry"));
      if (auto s = opt->LoadState(*v, absl::StrCat(where, "['", key, "']")); !s.ok()) return s;
    }
    const PyValue* step = state.find("step");
    const PyValue* d_step = state.find("d_step");
    const PyValue* rng = state.find("rng");
    const PyValue* loader = state.find("loader");
    if (step == nullptr || d_step == nullptr || rng == nullptr || loader == nullptr || rng->find("cpu") == nullptr ||
        loader->find("epoch") == nullptr || loader->find("index") == nullptr) {
      return absl::InvalidArgumentError(where + ": step, d_step, rng or loader entries missing");
    }
    step_ = std::get<int64_t>(step->v);
    d_step_ = std::get<int64_t>(d_step->v);
    gen_.set_state(std::get<at::Tensor>(rng->find("cpu")->v));
    loader_->Restore({std::get<int64_t>(loader->find("epoch")->v), std::get<int64_t>(loader->find("index")->v)});
    return absl::OkStatus();
  }

  // Mean L1 to the HQ latents over `clips` samples of `loader`, for the EMA
  // restoration and for the LQ latents themselves. Latents are posterior
  // means, and the noise comes from its own seeded generator, so evaluating
  // is deterministic and never changes the training stream.
  absl::StatusOr<EvalResult> Evaluate(data::DataLoader* eval_loader, int64_t clips) {
    torch::NoGradGuard no_grad;
    auto params = g_.NamedParameters();
    std::vector<at::Tensor> saved;
    for (size_t i = 0; i < params.size(); ++i) {
      saved.push_back(params[i].second.detach().clone());
      params[i].second.copy_(ema_.weights()[i].tensor);
    }
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(config_.training.seed + 1);
    eval_loader->Restore({0, 0});
    EvalResult r;
    absl::Status status;
    for (int64_t i = 0; i < clips && status.ok(); ++i) {
      auto sample = eval_loader->Next();
      if (!sample.ok()) {
        status = sample.status();
        break;
      }
      at::Tensor hq = data::ClipToTensor(sample->hq).unsqueeze(0), lq = data::ClipToTensor(sample->lq).unsqueeze(0);
      auto hq_lat = codec_.Encode(hq, std::nullopt);
      auto lq_lat = hq_lat.ok() ? codec_.Encode(lq, std::nullopt) : hq_lat;
      if (!lq_lat.ok()) {
        status = lq_lat.status();
        break;
      }
      at::Tensor noise = at::randn(lq_lat->sizes(), gen, lq_lat->options());
      at::Tensor restored = g_.Restore(*lq_lat, noise);
      r.restored_l1 += (restored - *hq_lat).abs().mean().item<double>();
      r.lq_l1 += (*lq_lat - *hq_lat).abs().mean().item<double>();
      ++r.clips;
    }
    for (size_t i = 0; i < params.size(); ++i) params[i].second.copy_(saved[i]);
    if (!status.ok()) return status;
    if (r.clips > 0) {
      r.restored_l1 /= r.clips;
      r.lq_l1 /= r.clips;
    }
    return r;
  }

 private:
  struct Batch {
    at::Tensor hq, lq, noise;  // latents [B, 16, T', h, w]
  };

  absl::StatusOr<Batch> NextBatch() {
    std::vector<data::Sample> samples;
    for (int64_t i = 0; i < config_.training.batch_size; ++i) {
      auto s = loader_->Next();
      if (!s.ok()) return s.status();
      samples.push_back(*std::move(s));
    }
    std::vector<const data::Clip*> hq, lq;
    for (const auto& s : samples) {
      hq.push_back(&s.hq);
      lq.push_back(&s.lq);
    }
    Batch b;
    std::optional<at::Generator> sample;
    if (config_.training.sample_posterior) sample = gen_;
    auto hq_lat = codec_.Encode(data::ClipsToBatch(hq), sample);
    if (!hq_lat.ok()) return hq_lat.status();
    auto lq_lat = codec_.Encode(data::ClipsToBatch(lq), sample);
    if (!lq_lat.ok()) return lq_lat.status();
    b.hq = *hq_lat;
    b.lq = *lq_lat;
    b.noise = Randn(b.lq);
    return b;
  }

  at::Tensor Randn(const at::Tensor& like) { return at::randn(like.sizes(), gen_, like.options()); }

  // Discriminators with their own noise (the DiT discriminator's timesteps)
  // draw it once per update from the trainer's generator.
  void ResampleDiscriminator() {
    if constexpr (requires { d_->Resample(gen_); }) d_->Resample(gen_);
  }

  // What D judges: latents, or pixels decoded by the frozen VAE.
  at::Tensor ToD(const at::Tensor& latents) {
    return config_.discriminator.input == "pixel" ? codec_.DecodeWithGrad(latents) : latents;
  }

  std::vector<std::pair<std::string, at::Tensor>> DNamedParameters() const {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (const auto& item : d_->named_parameters()) out.emplace_back(item.key(), item.value());
    return out;
  }
  std::vector<at::Tensor> GParameters() const {
    std::vector<at::Tensor> out;
    for (auto& [name, p] : g_.NamedParameters()) out.push_back(p);
    return out;
  }
  static TensorList Named(const std::vector<std::pair<std::string, at::Tensor>>& params) {
    TensorList out;
    for (const auto& [name, p] : params) out.push_back({name, p.detach()});
    return out;
  }
  static void SetRequiresGrad(const std::vector<at::Tensor>& params, bool on) {
    for (const auto& p : params) const_cast<at::Tensor&>(p).requires_grad_(on);
  }

  TrainConfig config_;
  G g_;
  D d_;
  LatentCodec codec_;
  data::DataLoader* loader_;
  P parallel_;
  at::Generator gen_;
  losses::LazyR1 lazy_r1_;
  AdamW g_opt_;
  AdamW d_opt_;
  Ema ema_;
  int64_t step_ = 0;
  int64_t d_step_ = 0;
};

}  // namespace seedvr::train

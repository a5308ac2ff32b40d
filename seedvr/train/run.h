// Assembles a Trainer from a validated config and runs it: dataset, text
// embedding, DiT (from the released checkpoint), frozen VAE, discriminator,
// resume, the step loop with logging and checkpoints, and the held-out
// evaluation before and after. Instantiated once per compiled preset.
#pragma once

#include <ATen/ATen.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "seedvr/config/config.h"
#include "seedvr/data/loader.h"
#include "seedvr/data/video_pair_dataset.h"
#include "seedvr/models/dit/dit_weights.h"
#include "seedvr/models/discriminator/dit.h"
#include "seedvr/models/dit/nadit.h"
#include "seedvr/models/vae/vae_model.h"
#include "seedvr/models/vae/vae_weights.h"
#include "seedvr/text/text_embeddings.h"
#include "seedvr/train/checkpoint.h"
#include "seedvr/train/monitor.h"
#include "seedvr/train/trainer.h"

namespace seedvr::train {

// Builds the discriminator a preset names from the config. The DiT
// discriminator starts from the generator's initial weights (the released
// checkpoint, or the same random init).
template <class D>
absl::StatusOr<D> MakeDiscriminator(const TrainConfig& c, dit::NaDiT& generator, const at::Tensor& text) {
  if constexpr (std::is_same_v<D, DiTDiscriminator>) {
    if (c.discriminator.input != "latent") {
      return absl::InvalidArgumentError("discriminator.input: the dit discriminator judges latents, got pixel");
    }
    D d(DiTDiscriminatorOptions{c.model, c.discriminator.dit_feature_layers, c.discriminator.dit_timestep_shift, text});
    TensorList init;
    for (const auto& p : generator->named_parameters()) init.push_back({p.key(), p.value().detach()});
    if (auto s = LoadDiTWeights(*d->backbone, init); !s.ok()) return s;
    return d;
  } else {
    const int64_t in = c.discriminator.input == "pixel" ? c.vae.out_channels : c.vae.latent_channels;
    return D(typename D::Impl::Options{in, c.discriminator.base_channels, c.discriminator.num_layers});
  }
}

// Everything a trainer needs besides the config, built in dependency order
// so that a bad file fails before any training work.
template <class TrainerT>
struct Assembly {
  std::unique_ptr<data::VideoPairDataset> dataset;
  std::unique_ptr<data::DataLoader> loader;
  std::unique_ptr<data::VideoPairDataset> eval_dataset;
  std::unique_ptr<data::DataLoader> eval_loader;
  std::unique_ptr<TrainerT> trainer;
};

template <class TrainerT>
absl::StatusOr<Assembly<TrainerT>> Assemble(const TrainConfig& c, int rank = 0, int world_size = 1) {
  using D = typename TrainerT::DiscriminatorType;
  Assembly<TrainerT> a;
  auto dataset = data::VideoPairDataset::Create(c.data);
  if (!dataset.ok()) return dataset.status();
  a.dataset = *std::move(dataset);
  if (c.training.eval_clips > 0) {
    data::DataConfig eval = c.data;
    eval.data_root = c.training.eval_root;
    auto eval_dataset = data::VideoPairDataset::Create(eval);
    if (!eval_dataset.ok()) {
      return absl::Status(eval_dataset.status().code(),
                          absl::StrCat("training.eval_root: ", eval_dataset.status().message()));
    }
    a.eval_dataset = *std::move(eval_dataset);
    data::LoaderOptions o = data::LoaderOptions::FromConfig(eval);
    o.num_workers = 0;
    o.shuffle = false;
    a.eval_loader = std::make_unique<data::DataLoader>(a.eval_dataset.get(), o);
  }
  const std::string text_path = c.training.text_embeddings;
  if (text_path.empty()) return absl::InvalidArgumentError("training.text_embeddings is empty");
  auto text = LoadTextEmbeddings(text_path, c.model.txt_in_dim);
  if (!text.ok()) return text.status();

  at::manual_seed(static_cast<uint64_t>(c.training.seed));  // random init when no checkpoint is given
  dit::NaDiT model(c.model);
  if (!c.training.dit_checkpoint.empty()) {
    if (auto s = LoadDiTWeightsFile(*model, c.training.dit_checkpoint); !s.ok()) return s;
  }
  vae::VideoVAE vae(c.vae);
  if (!c.training.vae_checkpoint.empty()) {
    if (auto s = vae::LoadVAEWeights(*vae, c.training.vae_checkpoint); !s.ok()) return s;
  }
  const at::Tensor text_pos = text->pos.to(at::kFloat);
  auto discriminator = MakeDiscriminator<D>(c, model, text_pos);
  if (!discriminator.ok()) return discriminator.status();
  a.loader = std::make_unique<data::DataLoader>(a.dataset.get(), data::LoaderOptions::FromConfig(c.data, rank, world_size));
  a.trainer = std::make_unique<TrainerT>(c, SeedVR2Generator(model, text_pos), *std::move(discriminator),
                                         LatentCodec(vae), a.loader.get(), typename TrainerT::ParallelismType{});
  return a;
}

template <class TrainerT>
absl::Status RunTraining(const TrainConfig& c) {
  auto assembled = Assemble<TrainerT>(c);
  if (!assembled.ok()) return assembled.status();
  TrainerT& t = *assembled->trainer;
  const std::string& dir = c.checkpoint.save_dir;
  if (!c.checkpoint.resume.empty()) {
    auto state = LoadCheckpoint(c.checkpoint.resume);
    if (!state.ok()) return state.status();
    if (auto s = t.LoadState(*state, c.checkpoint.resume); !s.ok()) return s;
  }
  Monitor monitor({dir, c.training.max_steps, c.logging.log_every, c.logging.progress_bar, 200,
                   /*append=*/!c.checkpoint.resume.empty()});
  monitor.Print(absl::StrCat("training ", TrainerT::DiscriminatorType::Impl::kName, " discriminator, ",
                             TrainerT::LossType::kName, " loss, ", TrainerT::ParallelismType::kName, "; ",
                             assembled->dataset->size(), " clips; from step ", t.step(), " to ", c.training.max_steps));
  auto evaluate = [&](const char* when) -> absl::Status {
    if (!assembled->eval_loader) return absl::OkStatus();
    auto r = t.Evaluate(assembled->eval_loader.get(), c.training.eval_clips);
    if (!r.ok()) return r.status();
    monitor.Print(absl::StrFormat("eval %s (step %d, %d held-out clips): L1(restored EMA, HQ) = %.5f, "
                                  "L1(LQ, HQ) = %.5f",
                                  when, t.step(), r->clips, r->restored_l1, r->lq_l1));
    return monitor.Record(t.step(), {{"eval_restored_l1", r->restored_l1}, {"eval_lq_l1", r->lq_l1}});
  };
  if (auto s = evaluate("before"); !s.ok()) return s;
  while (t.step() < c.training.max_steps) {
    auto m = t.Step();
    if (!m.ok()) return m.status();
    if (auto s = monitor.Record(t.step(), *m); !s.ok()) return s;  // NaN: stop, keep the last checkpoint
    if (t.step() % c.checkpoint.save_every == 0 && t.step() < c.training.max_steps) {
      if (auto s = SaveCheckpoint(dir, t.step(), false, t.State(), c.checkpoint.keep_last); !s.ok()) return s;
      if (auto s = monitor.WritePlot(); !s.ok()) return s;
    }
  }
  if (auto s = SaveCheckpoint(dir, t.step(), false, t.State(), c.checkpoint.keep_last); !s.ok()) return s;
  if (auto s = SaveCheckpoint(dir, t.step(), true, t.State(), 0); !s.ok()) return s;
  if (auto s = evaluate("after"); !s.ok()) return s;
  monitor.Print(absl::StrCat("saved ", FinalCheckpointPath(dir), "; logs in ", dir, "/train_log.jsonl and ", dir,
                             "/loss_curves.html"));
  return monitor.WritePlot();
}

}  // namespace seedvr::train

// One compiled trainer preset: builds the parts, the discriminator its type
// names, and the Trainer specialization, ready to step. Included only by the
// generated per-preset translation units (tools/build/trainers.bzl), each
// with its own discriminator's header.
#pragma once

#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "seedvr/models/generator/generator.h"
#include "seedvr/parallel/parallelism.h"
#include "seedvr/train/frozen_vae.h"
#include "seedvr/train/params.h"
#include "seedvr/train/run.h"
#include "seedvr/train/trainer.h"

namespace seedvr::train {

template <class TrainerT>
absl::StatusOr<std::unique_ptr<TrainingRun>> BuildPreset(const TrainerParams& params,
                                                         std::shared_ptr<parallel::ProcessGroups> groups) {
  using D = typename TrainerT::DiscriminatorType;
  using P = typename TrainerT::ParallelismType;
  auto parts = BuildTrainingParts(params);
  if (!parts.ok()) return parts.status();
  P parallel(std::move(groups), parallel::StrategyOptions{.bucket_bytes = params.bucket_bytes});
  auto d = D::Impl::FromConfig(params.config, {parts->dit.get(), parts->text, parallel.sequence_parallel()});
  if (!d.ok()) return d.status();
  (*d)->to(params.device);
  auto run = std::make_unique<TrainingRun>();
  run->parts = std::make_unique<TrainingParts>(*std::move(parts));
  run->trainer = std::make_unique<TrainerT>(params, generator::SeedVR2Generator(run->parts->dit, run->parts->text),
                                            *std::move(d), FrozenVAE(run->parts->vae, params.vae_bf16),
                                            run->parts->loader.get(), std::move(parallel));
  return run;
}

}  // namespace seedvr::train

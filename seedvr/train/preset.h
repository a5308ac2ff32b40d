// One compiled trainer preset: builds the parts, the discriminator its type
// names, and the Trainer specialization, then runs the loop. Included only
// by the generated per-preset translation units (tools/build/trainers.bzl),
// each with its own discriminator's header.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "seedvr/models/generator/generator.h"
#include "seedvr/train/frozen_vae.h"
#include "seedvr/train/params.h"
#include "seedvr/train/run.h"
#include "seedvr/train/trainer.h"

namespace seedvr::train {

template <class TrainerT>
absl::Status RunPreset(const TrainerParams& params) {
  using D = typename TrainerT::DiscriminatorType;
  using P = typename TrainerT::ParallelismType;
  auto parts = BuildTrainingParts(params);
  if (!parts.ok()) return parts.status();
  auto d = D::Impl::FromConfig(params.config, {parts->dit.get(), parts->text});
  if (!d.ok()) return d.status();
  TrainerT trainer(params, generator::SeedVR2Generator(parts->dit, parts->text), *std::move(d), FrozenVAE(parts->vae),
                   parts->loader.get(), P{});
  return RunTrainingLoop(trainer, params, *parts);
}

}  // namespace seedvr::train

// Picks the compiled trainer a config asks for and runs it. The compiled
// trainers are the product declared once in seedvr/train/BUILD.bazel
// (discriminator.type x loss.loss_type x parallelism), each its own
// translation unit (tools/build/trainers.bzl); this header and its .cc
// belong to the generated target :trainers. //tools:train uses it.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "seedvr/config/config.h"
#include "seedvr/train/params.h"

namespace seedvr::train {

struct TrainingRun;  // run.h

struct CompiledTrainer {
  const char* discriminator;  // discriminator.type
  const char* loss;           // loss.loss_type
  const char* parallelism;    // strategy, see parallel/parallelism.h
  const char* preset;         // the specialization's name, e.g. PatchHinge
  // Builds the parts and the specialized trainer, ready to step.
  absl::StatusOr<std::unique_ptr<TrainingRun>> (*build)(const TrainerParams&);
};

// Every compiled specialization (generated).
const std::vector<CompiledTrainer>& CompiledTrainers();

// WORLD_SIZE of a multi-process launch (torchrun), 1 without one.
int LaunchWorldSize();

// The parallelism a launch gets: "single" without a multi-process launcher.
std::string ParallelismFor(const config::TrainConfig& config, int world_size);

// The compiled trainer for `config` under `world_size` processes, with the
// config lowered for it; errors name the key, or list what is compiled.
absl::StatusOr<std::pair<const CompiledTrainer*, TrainerParams>> SelectTrainer(const config::TrainConfig& config,
                                                                               int world_size);

// Builds `trainer` and runs the training loop (run.h) to params.max_steps.
absl::Status RunTrainer(const CompiledTrainer& trainer, const TrainerParams& params);

// Selects for LaunchWorldSize() and trains.
absl::Status Train(const config::TrainConfig& config);

}  // namespace seedvr::train

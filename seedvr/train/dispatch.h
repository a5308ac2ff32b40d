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
#include "seedvr/parallel/process_groups.h"
#include "seedvr/train/params.h"

namespace seedvr::train {

struct TrainingRun;  // run.h

struct CompiledTrainer {
  const char* discriminator;  // discriminator.type
  const char* loss;           // loss.loss_type
  const char* parallelism;    // strategy, see parallel/parallelism.h
  const char* preset;         // the specialization's name, e.g. PatchHinge
  // Builds the parts and the specialized trainer, ready to step; `groups`
  // is null for one process.
  absl::StatusOr<std::unique_ptr<TrainingRun>> (*build)(const TrainerParams&,
                                                        std::shared_ptr<parallel::ProcessGroups> groups);
};

// Every compiled specialization (generated).
const std::vector<CompiledTrainer>& CompiledTrainers();

// The parallelism a launch gets: "single" for one process, else
// parallel.strategy (sequence parallelism composes with either).
std::string ParallelismFor(const config::TrainConfig& config, int world_size);

// The compiled trainer for `config` under `world_size` processes, with the
// config lowered for it; errors name the key, or list what is compiled.
absl::StatusOr<std::pair<const CompiledTrainer*, TrainerParams>> SelectTrainer(const config::TrainConfig& config,
                                                                               int world_size);

// The process groups of this launch (parallel.*), on `device`; null for one
// process. Blocks until every rank has joined.
absl::StatusOr<std::shared_ptr<parallel::ProcessGroups>> ConnectProcessGroups(const config::TrainConfig& config,
                                                                              const parallel::LaunchEnv& env,
                                                                              c10::Device device);

// Builds `trainer` for this rank's place in `groups` (null: one process)
// and runs the training loop (run.h) to params.max_steps. A collective that
// fails, inside backward included, comes back as an error.
absl::Status RunTrainer(const CompiledTrainer& trainer, TrainerParams params,
                        std::shared_ptr<parallel::ProcessGroups> groups);

// Reads the launch from the environment, selects, connects and trains.
absl::Status Train(const config::TrainConfig& config);

}  // namespace seedvr::train

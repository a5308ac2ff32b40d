// Named trainer presets: the policy combinations users run, each compiled in
// its own translation unit (see tools/build/trainers.bzl and
// seedvr/train/BUILD.bazel). //tools:train picks one from the config.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "seedvr/config/config.h"

namespace seedvr::train {

struct CompiledTrainer {
  const char* discriminator;  // discriminator.type
  const char* loss;           // loss.loss_type
  const char* parallelism;    // strategy, see parallel/parallelism.h
  const char* preset;         // the C++ alias in presets_types.h
  absl::Status (*run)(const TrainConfig&);
};

// Every compiled specialization (generated list).
const std::vector<CompiledTrainer>& CompiledTrainers();

// The parallelism a launch gets: "single" without a multi-process launcher.
std::string ParallelismFor(const TrainConfig& config, int world_size);

// Runs the specialization matching the config, or says which ones exist.
absl::Status Train(const TrainConfig& config);

}  // namespace seedvr::train

// The compiled discriminators, looked up by discriminator.type: what the
// config lowering (params.h) and the memory estimate need to know of each
// without building one. The list is generated from the trainer product in
// seedvr/train/BUILD.bazel (tools/build/trainers.bzl); this header and its
// .cc belong to the generated target :trainers_discriminators.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "seedvr/config/config.h"
#include "seedvr/models/discriminator/discriminator.h"
#include "seedvr/train/params.h"

namespace seedvr::train {

struct DiscriminatorEntry {
  DiscriminatorTraits traits;
  int64_t (*count_parameters)(const config::TrainConfig&);
  double (*activation_bytes)(const config::TrainConfig&, const discriminator::ClipShape&);
};

template <discriminator::Discriminator D>
DiscriminatorEntry MakeDiscriminatorEntry() {
  using Impl = typename D::Impl;
  return {{Impl::kName, Impl::kDoubleBackward, Impl::kJudges, &Impl::Validate}, &Impl::CountParameters,
          &Impl::ActivationBytes};
}

// Every compiled discriminator (generated).
const std::vector<DiscriminatorEntry>& CompiledDiscriminators();

// The entry for discriminator.type `type`, or an error listing the compiled ones.
absl::StatusOr<const DiscriminatorEntry*> FindDiscriminator(const std::string& type);

}  // namespace seedvr::train

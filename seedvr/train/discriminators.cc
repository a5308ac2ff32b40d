#include "seedvr/train/discriminators.h"

#include "absl/strings/str_cat.h"

namespace seedvr::train {

absl::StatusOr<const DiscriminatorEntry*> FindDiscriminator(const std::string& type) {
  std::string names;
  for (const DiscriminatorEntry& d : CompiledDiscriminators()) {
    if (type == d.traits.name) return &d;
    absl::StrAppend(&names, names.empty() ? "" : ", ", d.traits.name);
  }
  return absl::InvalidArgumentError(absl::StrCat("discriminator.type: expected one of ", names, ", got ", type));
}

}  // namespace seedvr::train

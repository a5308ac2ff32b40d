#include "seedvr/train/presets.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace seedvr::train {

std::string ParallelismFor(const TrainConfig& config, int world_size) {
  if (world_size <= 1 && config.parallel.sp_size == 1) return "single";
  if (config.parallel.sp_size > 1) return "sequence";
  return config.parallel.strategy;
}

absl::Status Train(const TrainConfig& config) {
  const char* env = std::getenv("WORLD_SIZE");
  const int world_size = env != nullptr ? std::atoi(env) : 1;
  const std::string parallelism = ParallelismFor(config, world_size);
  for (const CompiledTrainer& t : CompiledTrainers()) {
    if (config.discriminator.type == t.discriminator && config.loss.loss_type == t.loss &&
        parallelism == t.parallelism) {
      return t.run(config);
    }
  }
  std::string list;
  for (const CompiledTrainer& t : CompiledTrainers()) {
    absl::StrAppend(&list, "\n  discriminator.type=", t.discriminator, " loss.loss_type=", t.loss,
                    " parallelism=", t.parallelism, " (", t.preset, ")");
  }
  return absl::UnimplementedError(absl::StrCat("no compiled trainer for discriminator.type=", config.discriminator.type,
                                               " loss.loss_type=", config.loss.loss_type, " parallelism=", parallelism,
                                               " (WORLD_SIZE=", world_size, ", sp_size=", config.parallel.sp_size,
                                               "); compiled:", list));
}

}  // namespace seedvr::train

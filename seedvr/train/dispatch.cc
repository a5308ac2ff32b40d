#include "seedvr/train/dispatch.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "seedvr/train/discriminators.h"
#include "seedvr/train/run.h"
#include "seedvr/train/save_dir.h"

namespace seedvr::train {

std::string ParallelismFor(const config::TrainConfig& config, int world_size) {
  return world_size <= 1 ? "single" : config.parallel.strategy;
}

absl::StatusOr<std::pair<const CompiledTrainer*, TrainerParams>> SelectTrainer(const config::TrainConfig& config,
                                                                               int world_size) {
  auto d = FindDiscriminator(config.discriminator.type);
  if (!d.ok()) return d.status();
  std::vector<std::string> losses;  // compiled with this discriminator, in product order
  for (const CompiledTrainer& t : CompiledTrainers()) {
    if (config.discriminator.type == t.discriminator && absl::c_find(losses, t.loss) == losses.end()) {
      losses.push_back(t.loss);
    }
  }
  if (absl::c_find(losses, config.loss.loss_type) == losses.end()) {
    return absl::InvalidArgumentError(absl::StrCat("loss.loss_type: expected one of ", absl::StrJoin(losses, ", "),
                                                   ", got ", config.loss.loss_type));
  }
  if (world_size % config.parallel.sp_size != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("parallel.sp_size: ", config.parallel.sp_size,
                     " ranks per sequence-parallel group need a launch of a multiple of ", config.parallel.sp_size,
                     " processes (torchrun --nproc-per-node), got WORLD_SIZE=", world_size));
  }
  const std::string parallelism = ParallelismFor(config, world_size);
  auto params = LowerTrainConfig(config, (*d)->traits, parallelism);
  if (!params.ok()) return params.status();
  for (const CompiledTrainer& t : CompiledTrainers()) {
    if (config.discriminator.type == t.discriminator && config.loss.loss_type == t.loss &&
        parallelism == t.parallelism) {
      return std::pair{&t, *std::move(params)};
    }
  }
  std::string list;
  for (const CompiledTrainer& t : CompiledTrainers()) {
    absl::StrAppend(&list, "\n  discriminator.type=", t.discriminator, " loss.loss_type=", t.loss,
                    " parallelism=", t.parallelism, " (", t.preset, ")");
  }
  return absl::UnimplementedError(absl::StrCat("no compiled trainer for discriminator.type=",
                                               config.discriminator.type, " loss.loss_type=", config.loss.loss_type,
                                               " parallelism=", parallelism, " (WORLD_SIZE=", world_size,
                                               ", sp_size=", config.parallel.sp_size, "); compiled:", list));
}

absl::StatusOr<std::shared_ptr<parallel::ProcessGroups>> ConnectProcessGroups(const config::TrainConfig& config,
                                                                              const parallel::LaunchEnv& env,
                                                                              c10::Device device) {
  if (env.world_size == 1) return std::shared_ptr<parallel::ProcessGroups>();
  parallel::GroupOptions o;
  o.sp_size = static_cast<int>(config.parallel.sp_size);
  o.device = device;
  o.timeout = std::chrono::milliseconds(static_cast<int64_t>(config.parallel.timeout_s * 1000));
  return parallel::ProcessGroups::Create(env, o);
}

absl::Status RunTrainer(const CompiledTrainer& trainer, TrainerParams params,
                        std::shared_ptr<parallel::ProcessGroups> groups) {
  if (groups != nullptr) {
    params.dp_rank = groups->dp_rank();
    params.dp_size = groups->dp_size();
  }
  // Before any work: a folder holding another run is refused on every rank;
  // the rank that writes cleans up.
  const bool main = groups == nullptr || groups->is_main();
  auto prepared = PrepareSaveDir(params.save_dir, params.resume, params.overwrite, /*remove=*/main);
  if (!prepared.ok()) return prepared.status();
  for (const std::string& line : *prepared) std::printf("%s\n", line.c_str());
  try {
    auto run = trainer.build(params, std::move(groups));
    if (!run.ok()) return run.status();
    return RunTrainingLoop(*(*run)->trainer, params, *(*run)->parts);
  } catch (const std::exception& e) {
    return absl::UnavailableError(parallel::ErrorMessage(e));
  }
}

absl::Status Train(const config::TrainConfig& config) {
  auto env = parallel::LaunchEnv::FromEnvironment();
  if (!env.ok()) return env.status();
  auto selected = SelectTrainer(config, env->world_size);
  if (!selected.ok()) return selected.status();
  auto groups = ConnectProcessGroups(config, *env, selected->second.device);
  if (!groups.ok()) return groups.status();
  return RunTrainer(*selected->first, selected->second, *groups);
}

}  // namespace seedvr::train

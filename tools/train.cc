// bazel run //tools:train -- --config configs/train.yaml [flags]
// torchrun --nproc-per-node=N --no-python seedvr train --config ... [flags]   (tools/install.sh)
//
// Adversarial post-training of SeedVR2 (APT). The config picks a compiled
// trainer (discriminator.type x loss.loss_type x parallelism); see --help.
// Under torchrun every rank runs this program; a failure on any rank stops
// every rank with a message naming the rank that failed.
#include <cstdio>
#include <string>
#include <vector>

#include "seedvr/config/config.h"
#include "seedvr/core/cli.h"
#include "seedvr/data/log.h"
#include "seedvr/parallel/fault.h"
#include "seedvr/train/dispatch.h"

int main(int argc, char** argv) {
  seedvr::core::ExitOnUncaughtException("train");
  seedvr::parallel::InstallStopHandler("train");  // before any thread starts
  seedvr::core::EnterUserWorkingDirectory();
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::printf(
          "Usage: train --config FILE [flags]\n\n"
          "Adversarial post-training of the SeedVR2 DiT into a one-step video restorer.\n"
          "One process, or one process per GPU under torchrun:\n"
          "  torchrun --nproc-per-node=4 --no-python seedvr train --config FILE [flags]\n"
          "parallel.sp_size (--sp_size) groups consecutive ranks for Ulysses sequence parallelism;\n"
          "the other factor of the world size is data parallel, with parallel.strategy ddp (default)\n"
          "or zero2 (AdamW state and EMA sharded over every rank).\n\nFlags:\n%s\nCompiled trainers:\n",
          seedvr::config::TrainCommandLineHelp().c_str());
      for (const auto& t : seedvr::train::CompiledTrainers()) {
        std::printf("  discriminator.type=%-6s loss.loss_type=%-15s parallelism=%s\n", t.discriminator, t.loss,
                    t.parallelism);
      }
      return 0;
    }
  }
  auto config = seedvr::config::ParseTrainCommandLine(args);
  if (!config.ok()) {
    std::fprintf(stderr, "train: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  auto env = seedvr::parallel::LaunchEnv::FromEnvironment();
  if (!env.ok()) {
    std::fprintf(stderr, "train: %s\n", std::string(env.status().message()).c_str());
    return 2;
  }
  if (env->rank != 0) {
    // Every rank scans the same dataset, so rank 0 alone reports it; each
    // rank still reports the files it fails to read.
    seedvr::data::SetDataLogSink([rank = env->rank](seedvr::data::LogLevel level, const std::string& message) {
      if (level == seedvr::data::LogLevel::kInfo) return;
      std::fprintf(stderr, "[data] rank %d: %s\n", rank, message.c_str());
    });
  }
  // A config no compiled trainer accepts is rejected before any work.
  auto selected = seedvr::train::SelectTrainer(*config, env->world_size);
  if (!selected.ok()) {
    std::fprintf(stderr, "train: %s\n", std::string(selected.status().message()).c_str());
    return 2;
  }
  auto groups = seedvr::train::ConnectProcessGroups(*config, *env, selected->second.device);
  if (!groups.ok()) seedvr::parallel::StopProcess(1, std::string(groups.status().message()));
  seedvr::parallel::WatchProcessGroups(*groups);
  absl::Status status = seedvr::train::RunTrainer(*selected->first, selected->second, *groups);
  if (!status.ok()) {
    // A stop signal ends the run with its conventional status (130 for SIGINT).
    const int signal = seedvr::parallel::StopSignal();
    seedvr::parallel::StopProcess(signal != 0 ? 128 + signal : 1, std::string(status.message()));
  }
  return 0;
}

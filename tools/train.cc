// bazel run //tools:train -- --config configs/train.yaml [flags]
//
// Adversarial post-training of SeedVR2 (APT). The config picks a compiled
// trainer (discriminator.type x loss.loss_type x parallelism); see --help.
#include <cstdio>
#include <string>
#include <vector>

#include "seedvr/config/config.h"
#include "seedvr/core/cli.h"
#include "seedvr/train/dispatch.h"

int main(int argc, char** argv) {
  seedvr::core::EnterUserWorkingDirectory();
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::printf(
          "Usage: train --config FILE [flags]\n\n"
          "Adversarial post-training of the SeedVR2 DiT into a one-step video restorer.\n"
          "Single process, or one process per GPU under torchrun.\n\nFlags:\n%s\nCompiled trainers:\n",
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
  // A config no compiled trainer accepts is rejected before any work.
  auto selected = seedvr::train::SelectTrainer(*config, seedvr::train::LaunchWorldSize());
  if (!selected.ok()) {
    std::fprintf(stderr, "train: %s\n", std::string(selected.status().message()).c_str());
    return 2;
  }
  absl::Status status = seedvr::train::RunTrainer(*selected->first, selected->second);
  if (!status.ok()) {
    std::fprintf(stderr, "train: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

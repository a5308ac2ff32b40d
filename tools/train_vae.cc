// bazel run //tools:train_vae -- --config configs/tiny.yaml [--set section.key=value ...] [--overwrite]
//
// Trains the causal video VAE to reconstruct the HQ clips of data.data_root
// (seedvr/train/vae_training.h), with the vae_training section's settings,
// and writes it to training.vae_checkpoint, which `train` then loads.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "seedvr/config/config.h"
#include "seedvr/core/cli.h"
#include "seedvr/train/vae_training.h"

namespace {

constexpr char kHelp[] =
    "Usage: train_vae --config FILE [--set SECTION.KEY=VALUE ...] [--overwrite]\n\n"
    "Trains the config's VAE (vae section) to reconstruct the HQ clips of data.data_root/hq:\n"
    "random data.crop_size crops of data.num_frames frames, L1 in pixels plus a small KL term\n"
    "(LDM's autoencoder loss), AdamW; settings in the vae_training section (steps, batch_size,\n"
    "lr, warmup_steps, lr_schedule, weight_decay, grad_clip, kl_weight, log_every, eval_every,\n"
    "eval_frames). Prints step, loss and seconds per step, then the round-trip PSNR on the\n"
    "held-out videos of training.eval_root and the latents' standard deviation times\n"
    "vae.scaling_factor. Writes the weights (official key names, .safetensors) to\n"
    "training.vae_checkpoint, the file `train` reads as its VAE.\n\n"
    "Flags:\n"
    "  --config FILE            training config (YAML; see configs/)\n"
    "  --set SECTION.KEY=VALUE  any key, e.g. --set vae_training.steps=100 (repeatable)\n"
    "  --overwrite              replace an existing training.vae_checkpoint\n";

}  // namespace

int main(int argc, char** argv) {
  seedvr::core::ExitOnUncaughtException("train_vae");
  seedvr::core::EnterUserWorkingDirectory();
  std::string config_path;
  std::vector<std::string> overrides;
  bool overwrite = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    const bool inline_value = arg.find('=') != std::string::npos;
    if (inline_value) {
      value = arg.substr(arg.find('=') + 1);
      arg = arg.substr(0, arg.find('='));
    }
    if (arg == "--help" || arg == "-h") {
      std::printf("%s", kHelp);
      return 0;
    }
    if (arg == "--overwrite" && !inline_value) {
      overwrite = true;
      continue;
    }
    if (arg != "--config" && arg != "--set") {
      std::fprintf(stderr, "train_vae: unknown argument '%s'\n\n%s", argv[i], kHelp);
      return 2;
    }
    if (!inline_value) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "train_vae: %s expects a value\n", arg.c_str());
        return 2;
      }
      value = argv[++i];
    }
    (arg == "--config" ? config_path = value : overrides.emplace_back(value));
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "train_vae: --config FILE is required\n\n%s", kHelp);
    return 2;
  }
  auto config = seedvr::config::LoadTrainConfig(config_path, overrides);
  if (!config.ok()) {
    std::fprintf(stderr, "train_vae: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  seedvr::train::VAETrainingOptions options;
  options.overwrite = overwrite;
  options.print = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  auto result = seedvr::train::TrainVAE(*config, options);
  if (!result.ok()) {
    std::fprintf(stderr, "train_vae: %s\n", std::string(result.status().message()).c_str());
    return 1;
  }
  if (result->evaluated) {
    std::printf("held-out round-trip PSNR %.2f dB, latent std x scaling_factor %.3f\n", result->eval.psnr_db,
                result->eval.latent_std);
  }
  return 0;
}

// Model configs from YAML files that use the official key names (each
// fixture's config.yaml, or a `model:`/`vae:` section of a training config).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "seedvr/models/dit/dit_config.h"
#include "seedvr/models/vae/vae_config.h"

namespace seedvr::config {

// A flat YAML file of DiT hyperparameters (code_path "dit_v2" or "dit").
// Unknown keys, wrong types and inconsistent values are errors naming the key.
absl::StatusOr<dit::DiTConfig> LoadDiTConfigFile(const std::string& path);

// A flat YAML file of VAE hyperparameters (code_path "video_vae_v3").
absl::StatusOr<vae::VAEConfig> LoadVAEConfigFile(const std::string& path);

}  // namespace seedvr::config

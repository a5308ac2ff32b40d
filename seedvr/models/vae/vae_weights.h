// Strict loading of the official VAE checkpoint (`ema_vae.pth`, fp32) or its
// conversions (`ema_vae_fp16.safetensors`) into a VideoVAE.
//
// Strict like the official loader (`load_state_dict(strict=True)`): every
// model parameter must be present with the same shape and nothing else may
// be in the file. Errors list all missing and unexpected keys and, for a
// shape mismatch, the key with both shapes, so a wrong config or a DiT
// checkpoint passed as the VAE is diagnosed in one run. Stored dtypes are
// converted to the model's (fp16/bf16 files into an fp32 model and back).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "seedvr/core/tensor_file.h"

namespace torch::nn {
class Module;
}

namespace seedvr::vae {

// Copies `weights` into the parameters and buffers of `model` by name.
absl::Status LoadVAEWeights(torch::nn::Module& model, const core::TensorList& weights);

// Reads `path` (.pth or .safetensors, detected by content) and loads it.
absl::Status LoadVAEWeights(torch::nn::Module& model, const std::string& path);

}  // namespace seedvr::vae

// Strict loading of official DiT checkpoints (.pth or .safetensors) into a
// NaDiT module.
//
// Strict like the official `load_state_dict(strict=True)`: every model entry
// must be present and every file entry must belong to the model; all problems
// are reported at once (missing keys, unexpected keys, each shape mismatch
// with both shapes), and nothing is copied unless everything matches. fp16 /
// bf16 / fp32 tensors are converted to the model's dtype. The RoPE buffers
// `*.rope.rope.freqs` keep the values the module computed in fp32 (fp16 files
// store them rounded; some conversions drop them): if present their shape is
// still checked.
//
// Works on any torch::nn::Module (the implementation does not include the
// model headers), so it is one light translation unit.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "seedvr/core/tensor_file.h"

namespace torch::nn {
class Module;
}

namespace seedvr {

struct StrictLoadOptions {
  // Entries the module computes itself: optional in the file, shape-checked
  // when present, never copied.
  std::function<bool(const std::string& key)> recomputed;
  // At most this many keys are listed per kind of problem.
  int max_listed = 20;
};

absl::Status LoadStateDictStrict(torch::nn::Module& module, const TensorList& weights,
                                 const StrictLoadOptions& options);

// LoadStateDictStrict with the DiT's recomputed `*.rope.rope.freqs` buffers.
absl::Status LoadDiTWeights(torch::nn::Module& model, const TensorList& weights);

// Reads `path` (.pth or .safetensors, by content) and loads it; errors name the file.
absl::Status LoadDiTWeightsFile(torch::nn::Module& model, const std::string& path);

}  // namespace seedvr

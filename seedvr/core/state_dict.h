// Strict loading of a state dict into a torch::nn::Module, like the official
// `load_state_dict(strict=True)`: every model entry must be present and every
// file entry must belong to the model; all problems are reported at once
// (missing keys, unexpected keys, each shape mismatch with both shapes), and
// nothing is copied unless everything matches. Tensors are converted to the
// model's dtype and device on copy.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "seedvr/core/tensor_file.h"

namespace torch::nn {
class Module;
}

namespace seedvr::core {

struct StrictLoadOptions {
  // Entries the module computes itself: optional in the file, shape-checked
  // when present, never copied.
  std::function<bool(const std::string& key)> recomputed;
  // At most this many keys are listed per kind of problem.
  int max_listed = 20;
};

absl::Status LoadStateDictStrict(torch::nn::Module& module, const TensorList& weights,
                                 const StrictLoadOptions& options);

// Reads `path` with ReadStateDict (.pth or .safetensors, by content;
// "FILE:ENTRY" picks an entry; wrappers and prefixes of other trainers are
// removed) and loads it; errors name the file.
absl::Status LoadStateDictFile(torch::nn::Module& module, const std::string& path,
                               const StrictLoadOptions& options = {});

}  // namespace seedvr::core

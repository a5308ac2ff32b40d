// Loading official DiT checkpoints (.pth or .safetensors) into a NaDiT
// module, strictly (core/state_dict.h). The RoPE buffers `*.rope.rope.freqs`
// keep the values the module computed in fp32 (fp16 files store them
// rounded; some conversions drop them): if present their shape is still
// checked.
//
// Works on any torch::nn::Module (the implementation does not include the
// model headers), so it is one light translation unit.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "seedvr/core/state_dict.h"
#include "seedvr/core/tensor_file.h"

namespace seedvr::dit {

absl::Status LoadDiTWeights(torch::nn::Module& model, const core::TensorList& weights);

// Reads `path` (.pth or .safetensors, by content) and loads it; errors name the file.
absl::Status LoadDiTWeightsFile(torch::nn::Module& model, const std::string& path);

}  // namespace seedvr::dit

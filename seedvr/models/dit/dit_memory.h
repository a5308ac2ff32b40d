// Bytes autograd keeps for one DiT forward, computed from a DiTConfig
// without LibTorch, tensor by tensor from what models/dit/block.h, layers.h
// and attention.h save for backward. Used by the training memory estimate
// (train/memory_estimate.h) for the generator and the DiT discriminator, and
// checked against measured peak memory by tools/measure_memory.sh.
#pragma once

#include <cstdint>

#include "seedvr/models/dit/dit_config.h"
#include "seedvr/models/dit/window.h"

namespace seedvr::dit {

// compute_dtype "bfloat16": activations are bf16 under autocast.
bool IsBf16Compute(const DiTConfig& config);

struct DiTActivations {
  double full = 0;          // every block's saved tensors
  double checkpointed = 0;  // block inputs + one recomputed block
  double per_block_max = 0;
  double block_bytes_per_token = 0;
  int64_t max_windows = 0;  // most attention windows of one layer (each adds a text copy)
};

// Saved activations of one forward with autograd over `clips` clips of
// `grid` tokens each (after patchify) and `text` text tokens.
DiTActivations DiTActivationBytes(const DiTConfig& config, const Grid3& grid, int64_t text, int64_t clips);

}  // namespace seedvr::dit

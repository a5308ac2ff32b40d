// What one DiT forward costs, computed from a DiTConfig without LibTorch:
// the FLOPs of its matrix products (for MFU), and the bytes autograd keeps
// without LibTorch, tensor by tensor from what models/dit/block.h, layers.h
// and attention.h save for backward. Used by the training memory estimate
// (train/memory_estimate.h) for the generator and the DiT discriminator, and
// checked against measured peak memory by tools/measure_memory.sh.
#pragma once

#include <cstdint>
#include <vector>

#include "seedvr/models/dit/dit_config.h"
#include "seedvr/models/dit/window.h"

namespace seedvr::dit {

// The attention windows of block `layer` over one sample's token grid (the
// layer's window counts and method, or the official defaults).
std::vector<Window> DiTLayerWindows(const DiTConfig& config, int64_t layer, const Grid3& grid);

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

// Floating-point operations of one forward over `clips` clips (multiply-add
// = 2): every weight matrix over the tokens of its stream (vid, txt, or both
// for shared layers) plus windowed attention (q k^T and p v per window of
// video tokens joined with the text). A training step's model FLOPs are 3x
// this (forward, and backward twice the forward); recomputation from
// activation checkpointing is not model work and is not counted.
double DiTForwardFlops(const DiTConfig& config, const Grid3& grid, int64_t text, int64_t clips);

}  // namespace seedvr::dit

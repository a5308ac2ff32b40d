// What one DiT forward costs, computed from a DiTConfig without LibTorch:
// the FLOPs of its matrix products (for MFU), the bytes autograd keeps
// without LibTorch, tensor by tensor from what models/dit/block.h, layers.h
// and attention.h save for backward, and the peak of a forward without
// autograd (restoration). The autograd bytes are used by the training memory
// estimate (train/memory_estimate.h) for the generator and the DiT
// discriminator, and checked against measured peak memory by
// tools/measure_memory.sh; the inference peak sizes restoration's spatial
// tiles (models/generator/spatial_tiles.h).
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

// Peak activation bytes of one forward without autograd over one clip of
// `grid` tokens (after patchify) and `text` text tokens; B clips in one call
// take about B times this. Weights are not counted. It counts, from
// models/dit/block.cc, attention.cc and layers.cc, what is alive at the
// larger of a block's two peaks, every tensor at the compute dtype's width e
// (4, or 2 under bf16) unless fp32:
//   attention, per video and text token: the block input and its normalised
//     copy, the q/k/v projection and normalised q, k, then the larger of the
//     q/k RMSNorm's fp32 working copies and the window outputs with their
//     concatenation and reorder; plus one attention call's working set (the
//     gathered, RoPE'd and joined q/k/v of its windows and their text copies,
//     RoPE's fp32 temporaries, the output) over max(2048, largest window +
//     text) tokens: attention batches windows into calls of up to 2048 tokens
//     (AttentionContext::max_tokens_per_call) and its kernel is assumed
//     flash-style (no window x window scores);
//   MLP, per token: the block input, normalised attention input, attention
//     output, residual, normalised MLP input and MLP output, and the hidden
//     tensors (SwiGLU: gate, silu, up, product; GELU: pre- and post-activation);
// plus the packed model input alive through the blocks (three fp32 copies of
// the vid_in_channels-wide input per latent pixel). The text stream is
// counted at the video's per-token peak (slightly more than it holds).
// Measured on the CPU (configs/tiny.yaml, fp32 and bf16): 7-10% above the
// peak resident memory a Restore adds at 16k to 25k tokens; 12% (fp32) and
// 32% (bf16) above at 4k, where the attention call's 2048 tokens dominate.
double DiTInferenceBytes(const DiTConfig& config, const Grid3& grid, int64_t text);

// Floating-point operations of one forward over `clips` clips (multiply-add
// = 2): every weight matrix over the tokens of its stream (vid, txt, or both
// for shared layers) plus windowed attention (q k^T and p v per window of
// video tokens joined with the text). A training step's model FLOPs are 3x
// this (forward, and backward twice the forward); recomputation from
// activation checkpointing is not model work and is not counted.
double DiTForwardFlops(const DiTConfig& config, const Grid3& grid, int64_t text, int64_t clips);

}  // namespace seedvr::dit

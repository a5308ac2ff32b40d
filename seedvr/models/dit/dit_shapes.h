// What a DiTConfig implies, computed without LibTorch: validation with clear
// messages, the derived sizes (MLP hidden width, RoPE frequency counts), and
// the full official state-dict layout (names and shapes). The layout lets the
// project count parameters and check checkpoints without allocating a
// multi-GB model, and lets tests compare the C++ module against the official
// key lists.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "seedvr/models/dit/dit_config.h"

namespace seedvr::dit {

// Checks code_path, per-layer list lengths, window methods, the dimensions the
// official code assumes (emb_dim = 6*vid_dim, txt_dim = vid_dim, ...) and the
// patch/rope sizes. Errors name the key, what was expected and what was given.
absl::Status ValidateDiTConfig(const DiTConfig& config);

// Hidden width of the block MLP: SwiGLU 256*ceil(int(2*D*r/3)/256) (3B
// family), or r*D for the GELU MLP (7B family).
int64_t DiTMlpHidden(const DiTConfig& config);

// Whether the 3B output head (vid_out_norm + vid_out_ada) exists: only on
// code_path "dit_v2" with vid_out_norm set (the 7B has neither).
bool DiTHasOutputNorm(const DiTConfig& config);

// Whether block `layer` has one weight set shared by both streams (`.all`).
bool DiTLayerShared(const DiTConfig& config, int64_t layer);

// Number of RoPE frequencies per axis (the length of `rope.rope.freqs`), or 0
// when the configuration has no RoPE. 3B: (rope_dim/3)/2 "lang" frequencies;
// 7B: ((head_dim/2)/3)/2 "pixel" frequencies.
int64_t DiTRopeFreqCount(const DiTConfig& config);

struct DiTTensorShape {
  std::string name;
  std::vector<int64_t> shape;
  bool buffer = false;  // persistent buffer (rope.rope.freqs), not a parameter
};

// Every state-dict entry of the official model for `config`, block by block.
std::vector<DiTTensorShape> DiTStateDictShapes(const DiTConfig& config);

// Sum of parameter elements (buffers excluded), as the official loader prints
// "DiT trainable parameters": 3,391,475,776 (3B) and 8,239,607,872 (7B).
int64_t CountDiTParameters(const DiTConfig& config);

}  // namespace seedvr::dit

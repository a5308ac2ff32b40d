// Rotary position embeddings of the SeedVR2 DiT (spec §1.3.6 and the 7B notes).
//
// Two flavours, both axial over (t, h, w) with interleaved pairs
// (x0,x1),(x2,x3),... and the leading head dims rotated, the rest passed
// through:
//   3B "mmrope3d": "lang" frequencies 1/10000^(2i/a), a = rope_dim/3, integer
//       positions; video token (t,y,x) of a window sits at (L_txt+t, y, x),
//       text token j at (j, j, j).
//   7B "pixel" (video only): frequencies linspace(1, 128, a/2)*pi with
//       a = (head_dim/2)/3, positions linspace(-1, 1, n) over the window.
// Positions are window-local, so only the (few) window shapes of a forward
// need tables; the official code instead slices an ~8 GB table.
// Everything is computed in fp32, as the official code does (`q.float()`).
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <vector>

#include "seedvr/models/dit/window.h"

namespace seedvr::dit {

enum class RopeKind { kNone, kMMLang3d, kPixel3d };

// 1 / 10000^(arange(0, a, 2)[:a/2] / a), fp32 (rotary-embedding-torch "lang").
at::Tensor LangRopeFreqs(int64_t axis_dim);

// linspace(1, max_freq/2, a/2) * pi, fp32 (rotary-embedding-torch "pixel").
at::Tensor PixelRopeFreqs(int64_t axis_dim, double max_freq = 256.0);

// Holds the persistent buffer `freqs` so that the state dict has the official
// `...attn.rope.rope.freqs` key. The forward pass recomputes the frequencies
// from the config in fp32 (fp16 checkpoint files store them rounded).
class RotaryFreqsImpl : public torch::nn::Module {
 public:
  explicit RotaryFreqsImpl(at::Tensor freqs);
  const at::Tensor& freqs() const { return freqs_; }

 private:
  at::Tensor freqs_;
};
TORCH_MODULE(RotaryFreqs);

// `attn.rope`: a wrapper whose only child is `rope`, as in the official module tree.
class NaRopeImpl : public torch::nn::Module {
 public:
  explicit NaRopeImpl(at::Tensor freqs);
  RotaryFreqs rope{nullptr};
};
TORCH_MODULE(NaRope);

// Angles of one axis: positions [n] x frequencies [F] -> [n, F], fp32.
at::Tensor AxisAngles(const at::Tensor& positions, const at::Tensor& freqs);

// Per-pair cos/sin of a window grid (f,h,w) in row-major token order:
// [f*h*w, 1, 3F] each (the middle dim broadcasts over heads). Per axis the
// angles are concatenated t | h | w, as get_axial_freqs does.
struct RopeTable {
  at::Tensor cos, sin;
  bool defined() const { return cos.defined(); }
};

RopeTable MakeRopeTable(const at::Tensor& at_, const at::Tensor& ah, const at::Tensor& aw);

// Video table of one window shape. `txt_len` offsets the 3B temporal axis.
RopeTable WindowRopeTable(RopeKind kind, const at::Tensor& freqs, const Grid3& shape, int64_t txt_len);

// 3B text table for texts of lengths `lens` laid out back to back: token j of
// each text at (j, j, j). [sum(lens), 1, 3F].
RopeTable TextRopeTable(const at::Tensor& freqs, const std::vector<int64_t>& lens);

// Rotates the leading 2P dims of x [..., N, H, D] by a table [N, 1, P]:
// out[2i] = x[2i] c - x[2i+1] s, out[2i+1] = x[2i+1] c + x[2i] s, which is
// x*cos + rotate_half(x)*sin with interleaved pairs. Computed in fp32 and
// cast back, as the official code does.
at::Tensor ApplyRope(const at::Tensor& x, const RopeTable& table);

}  // namespace seedvr::dit

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

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <cmath>
#include <cstdint>

#include "seedvr/models/dit/window.h"

namespace seedvr::dit {

enum class RopeKind { kNone, kMMLang3d, kPixel3d };

// 1 / 10000^(arange(0, a, 2)[:a/2] / a), fp32 (rotary-embedding-torch "lang").
inline at::Tensor LangRopeFreqs(int64_t axis_dim) {
  auto i = at::arange(0, axis_dim, 2, at::kFloat).narrow(0, 0, axis_dim / 2);
  return at::pow(10000.0, i / static_cast<double>(axis_dim)).reciprocal();
}

// linspace(1, max_freq/2, a/2) * pi, fp32 (rotary-embedding-torch "pixel").
inline at::Tensor PixelRopeFreqs(int64_t axis_dim, double max_freq = 256.0) {
  return at::linspace(1.0, max_freq / 2.0, axis_dim / 2, at::kFloat) * M_PI;
}

// Holds the persistent buffer `freqs` so that the state dict has the official
// `...attn.rope.rope.freqs` key. The forward pass recomputes the frequencies
// from the config in fp32 (fp16 checkpoint files store them rounded).
class RotaryFreqsImpl : public torch::nn::Module {
 public:
  explicit RotaryFreqsImpl(at::Tensor freqs) { freqs_ = register_buffer("freqs", std::move(freqs)); }
  const at::Tensor& freqs() const { return freqs_; }

 private:
  at::Tensor freqs_;
};
TORCH_MODULE(RotaryFreqs);

// `attn.rope`: a wrapper whose only child is `rope`, as in the official module tree.
class NaRopeImpl : public torch::nn::Module {
 public:
  explicit NaRopeImpl(at::Tensor freqs) { rope = register_module("rope", RotaryFreqs(std::move(freqs))); }
  RotaryFreqs rope{nullptr};
};
TORCH_MODULE(NaRope);

// Angles of one axis: positions [n] x frequencies [F] -> [n, F], fp32.
inline at::Tensor AxisAngles(const at::Tensor& positions, const at::Tensor& freqs) {
  return positions.to(at::kFloat).unsqueeze(1) * freqs.unsqueeze(0);
}

// Per-pair cos/sin of a window grid (f,h,w) in row-major token order:
// [f*h*w, 1, 3F] each (the middle dim broadcasts over heads). Per axis the
// angles are concatenated t | h | w, as get_axial_freqs does.
struct RopeTable {
  at::Tensor cos, sin;
  bool defined() const { return cos.defined(); }
};

inline RopeTable MakeRopeTable(const at::Tensor& at_, const at::Tensor& ah, const at::Tensor& aw) {
  const int64_t f = at_.size(0), h = ah.size(0), w = aw.size(0), n = at_.size(1);
  auto grid = at::cat({at_.view({f, 1, 1, n}).expand({f, h, w, n}),
                       ah.view({1, h, 1, ah.size(1)}).expand({f, h, w, ah.size(1)}),
                       aw.view({1, 1, w, aw.size(1)}).expand({f, h, w, aw.size(1)})},
                      -1)
                  .reshape({f * h * w, 1, -1});
  return {grid.cos(), grid.sin()};
}

// Video table of one window shape. `txt_len` offsets the 3B temporal axis.
inline RopeTable WindowRopeTable(RopeKind kind, const at::Tensor& freqs, const Grid3& shape,
                                 int64_t txt_len) {
  if (kind == RopeKind::kNone) return {};
  std::array<at::Tensor, 3> ang;
  for (int a = 0; a < 3; ++a) {
    at::Tensor pos;
    if (kind == RopeKind::kMMLang3d) {
      const int64_t start = a == 0 ? txt_len : 0;
      pos = at::arange(start, start + shape[a], at::kFloat);
    } else {
      pos = at::linspace(-1.0, 1.0, shape[a], at::kFloat);
    }
    ang[a] = AxisAngles(pos, freqs);
  }
  return MakeRopeTable(ang[0], ang[1], ang[2]);
}

// 3B text table for texts of lengths `lens` laid out back to back: token j of
// each text at (j, j, j). [sum(lens), 1, 3F].
inline RopeTable TextRopeTable(const at::Tensor& freqs, const std::vector<int64_t>& lens) {
  std::vector<at::Tensor> pos;
  for (int64_t l : lens) pos.push_back(at::arange(l, at::kFloat));
  auto a = AxisAngles(pos.empty() ? at::zeros({0}, at::kFloat) : at::cat(pos), freqs);
  auto ang = at::cat({a, a, a}, -1).unsqueeze(1);
  return {ang.cos(), ang.sin()};
}

// Rotates the leading 2P dims of x [..., N, H, D] by a table [N, 1, P]:
// out[2i] = x[2i] c - x[2i+1] s, out[2i+1] = x[2i+1] c + x[2i] s, which is
// x*cos + rotate_half(x)*sin with interleaved pairs. Computed in fp32 and
// cast back, as the official code does.
inline at::Tensor ApplyRope(const at::Tensor& x, const RopeTable& table) {
  if (!table.defined()) return x;
  const auto dtype = x.scalar_type();
  const int64_t d = x.size(-1), pairs = table.cos.size(-1);
  auto xf = x.to(at::kFloat);
  auto rot = xf.narrow(-1, 0, 2 * pairs).unflatten(-1, {pairs, 2});
  auto x0 = rot.select(-1, 0), x1 = rot.select(-1, 1);
  auto y = at::stack({x0 * table.cos - x1 * table.sin, x1 * table.cos + x0 * table.sin}, -1).flatten(-2);
  if (2 * pairs < d) y = at::cat({y, xf.narrow(-1, 2 * pairs, d - 2 * pairs)}, -1);
  return y.to(dtype);
}

}  // namespace seedvr::dit

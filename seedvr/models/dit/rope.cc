// Rotary position embeddings of the SeedVR2 DiT; see rope.h.
#include "seedvr/models/dit/rope.h"

#include <ATen/ATen.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace seedvr::dit {

at::Tensor LangRopeFreqs(int64_t axis_dim) {
  auto i = at::arange(0, axis_dim, 2, at::kFloat).narrow(0, 0, axis_dim / 2);
  return at::pow(10000.0, i / static_cast<double>(axis_dim)).reciprocal();
}

at::Tensor PixelRopeFreqs(int64_t axis_dim, double max_freq) {
  return at::linspace(1.0, max_freq / 2.0, axis_dim / 2, at::kFloat) * M_PI;
}

RotaryFreqsImpl::RotaryFreqsImpl(at::Tensor freqs) { freqs_ = register_buffer("freqs", std::move(freqs)); }

NaRopeImpl::NaRopeImpl(at::Tensor freqs) { rope = register_module("rope", RotaryFreqs(std::move(freqs))); }

at::Tensor AxisAngles(const at::Tensor& positions, const at::Tensor& freqs) {
  return positions.to(at::kFloat).unsqueeze(1) * freqs.unsqueeze(0);
}

RopeTable MakeRopeTable(const at::Tensor& at_, const at::Tensor& ah, const at::Tensor& aw) {
  const int64_t f = at_.size(0), h = ah.size(0), w = aw.size(0), n = at_.size(1);
  auto grid = at::cat({at_.view({f, 1, 1, n}).expand({f, h, w, n}),
                       ah.view({1, h, 1, ah.size(1)}).expand({f, h, w, ah.size(1)}),
                       aw.view({1, 1, w, aw.size(1)}).expand({f, h, w, aw.size(1)})},
                      -1)
                  .reshape({f * h * w, 1, -1});
  return {grid.cos(), grid.sin()};
}

RopeTable WindowRopeTable(RopeKind kind, const at::Tensor& freqs, const Grid3& shape, int64_t txt_len) {
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

RopeTable TextRopeTable(const at::Tensor& freqs, const std::vector<int64_t>& lens) {
  std::vector<at::Tensor> pos;
  for (int64_t l : lens) pos.push_back(at::arange(l, at::kFloat));
  auto a = AxisAngles(pos.empty() ? at::zeros({0}, at::kFloat) : at::cat(pos), freqs);
  auto ang = at::cat({a, a, a}, -1).unsqueeze(1);
  return {ang.cos(), ang.sin()};
}

at::Tensor ApplyRope(const at::Tensor& x, const RopeTable& table) {
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

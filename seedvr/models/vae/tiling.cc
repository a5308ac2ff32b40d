#include "seedvr/models/vae/tiling.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace seedvr::vae {

std::vector<TileSpan> TileSpans(int64_t size, int64_t tile, int64_t overlap) {
  std::vector<TileSpan> spans;
  if (tile <= 0 || size <= tile) {
    spans.push_back({0, size, 0, 0});
    return spans;
  }
  overlap = std::clamp<int64_t>(overlap, 0, tile / 2);
  const int64_t stride = tile - overlap;
  for (int64_t s = 0;; s += stride) {
    if (s + tile >= size) {
      spans.push_back({size - tile, size, 0, 0});
      break;
    }
    spans.push_back({s, s + tile, 0, 0});
  }
  for (size_t i = 1; i < spans.size(); ++i) {
    const int64_t shared = spans[i - 1].end - spans[i].begin;
    spans[i - 1].overlap_next = shared;
    spans[i].overlap_prev = shared;
  }
  return spans;
}

at::Tensor RampWeights(int64_t len, int64_t before, int64_t after, bool cosine) {
  std::vector<float> w(static_cast<size_t>(len), 1.0f);
  auto ramp = [cosine](double x) {
    x = std::clamp(x, 0.0, 1.0);
    return cosine ? 0.5 - 0.5 * std::cos(M_PI * x) : x;
  };
  for (int64_t i = 0; i < len; ++i) {
    double v = 1.0;
    if (before > 0 && i < before) v = std::min(v, ramp((i + 0.5) / before));
    const int64_t j = len - 1 - i;
    if (after > 0 && j < after) v = std::min(v, ramp((j + 0.5) / after));
    w[static_cast<size_t>(i)] = static_cast<float>(v);
  }
  return at::tensor(w);
}

TileBlender::TileBlender(at::IntArrayRef shape, const at::TensorOptions& opts)
    : acc_(at::zeros(shape, opts.dtype(at::kFloat))),
      weight_(at::zeros({shape[3], shape[4]}, opts.dtype(at::kFloat))) {}

void TileBlender::Add(const at::Tensor& tile, int64_t y0, int64_t x0, const at::Tensor& row_w,
                      const at::Tensor& col_w) {
  const int64_t h = tile.size(3), w = tile.size(4);
  at::Tensor wt = at::outer(row_w, col_w).to(acc_.device());
  acc_.narrow(3, y0, h).narrow(4, x0, w).add_(tile.to(at::kFloat) * wt);
  weight_.narrow(0, y0, h).narrow(1, x0, w).add_(wt);
}

at::Tensor TileBlender::Result(at::ScalarType dtype) const { return (acc_ / weight_).to(dtype); }

}  // namespace seedvr::vae

// Spatial tiles with overlaps and the blend weights that hide their seams.
//
// The official VAE has no spatial tiling (tiled_encode/decode raise). Here a
// frame too large to convolve at once is cut into overlapping tiles; each
// tile runs through the network on its own and the results are blended with
// weights that ramp from ~0 to 1 across each overlap, so neighbouring tiles
// cross-fade instead of meeting at a hard edge. Ramps of two neighbours over
// the same overlap sum to 1 (linear: x + (1-x); cosine: the same for the
// raised cosine), and the blend still divides by the weight sum so uneven
// last tiles stay exact averages.
//
// Tiling is an approximation, unlike causal slicing: each tile's per-frame
// GroupNorm statistics and mid-block attention cover the tile, not the
// frame, so tiles differ from the untiled result everywhere, not only at
// seams (tests/models/vae/vae_memory_test measures it). The memory plan
// therefore tiles only when slicing alone does not fit, with the largest
// tile that does.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace seedvr::vae {

struct TileSpan {
  int64_t begin = 0;
  int64_t end = 0;           // exclusive
  int64_t overlap_prev = 0;  // cells shared with the previous tile
  int64_t overlap_next = 0;  // cells shared with the next tile
};

// Covers [0, size) with tiles of `tile` cells whose neighbours overlap by at
// least `overlap`; the last tile is aligned to the end (so it may overlap
// more). One tile when it already fits.
inline std::vector<TileSpan> TileSpans(int64_t size, int64_t tile, int64_t overlap) {
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

// Blend weights along one axis of a tile of `len` cells (already in output
// units) with ramps of `before`/`after` cells at its ends.
inline at::Tensor RampWeights(int64_t len, int64_t before, int64_t after, bool cosine) {
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

// Accumulates weighted tiles into a (B, C, T, H, W) canvas.
class TileBlender {
 public:
  TileBlender(at::IntArrayRef shape, const at::TensorOptions& opts)
      : acc_(at::zeros(shape, opts.dtype(at::kFloat))),
        weight_(at::zeros({shape[3], shape[4]}, opts.dtype(at::kFloat))) {}

  // `tile` covers rows [y0, y0+h) and columns [x0, x0+w) of the canvas.
  void Add(const at::Tensor& tile, int64_t y0, int64_t x0, const at::Tensor& row_w,
           const at::Tensor& col_w) {
    const int64_t h = tile.size(3), w = tile.size(4);
    at::Tensor wt = at::outer(row_w, col_w).to(acc_.device());
    acc_.narrow(3, y0, h).narrow(4, x0, w).add_(tile.to(at::kFloat) * wt);
    weight_.narrow(0, y0, h).narrow(1, x0, w).add_(wt);
  }

  at::Tensor Result(at::ScalarType dtype) const { return (acc_ / weight_).to(dtype); }

 private:
  at::Tensor acc_;
  at::Tensor weight_;
};

}  // namespace seedvr::vae

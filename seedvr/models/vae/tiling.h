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

#include <ATen/core/Tensor.h>

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
std::vector<TileSpan> TileSpans(int64_t size, int64_t tile, int64_t overlap);

// Blend weights along one axis of a tile of `len` cells (already in output
// units) with ramps of `before`/`after` cells at its ends.
at::Tensor RampWeights(int64_t len, int64_t before, int64_t after, bool cosine);

// Accumulates weighted tiles into a (B, C, T, H, W) canvas.
class TileBlender {
 public:
  TileBlender(at::IntArrayRef shape, const at::TensorOptions& opts);

  // `tile` covers rows [y0, y0+h) and columns [x0, x0+w) of the canvas.
  void Add(const at::Tensor& tile, int64_t y0, int64_t x0, const at::Tensor& row_w,
           const at::Tensor& col_w);

  at::Tensor Result(at::ScalarType dtype) const;

 private:
  at::Tensor acc_;
  at::Tensor weight_;
};

}  // namespace seedvr::vae

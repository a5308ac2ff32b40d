// Restoration in overlapped spatial tiles, for frames whose DiT activations
// do not fit in memory: the latent's h x w is split into overlapping tiles,
// each tile (all T' frames) is restored on its own by
// SeedVR2Generator::Restore, and the outputs are blended with weights that
// ramp across each overlap (raised cosine) and are 1 elsewhere, including at
// the frame's borders, normalised by their sum. This is the overlapped-tile
// blending of the SeedVR2 community ports and of MultiDiffusion-style tiled
// diffusion. Tiles are an approximation: a tile's tokens attend only within
// the tile, and its windows are sized from its own token grid (the official
// rule), so tiled output differs from the whole frame's; one tile covering
// the frame is exactly Restore.
//
// Sizes are in latent pixels (8 image pixels each for the SeedVR2 VAE).
// Tiles, overlaps and the frame are multiples of the DiT's spatial patch
// (DiTConfig::patch_size, 2 for the 3B and 7B), so tiles patchify on the
// frame's own token grid.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "seedvr/models/dit/dit_config.h"
#include "seedvr/models/generator/generator.h"

namespace seedvr::generator {

struct LatentTiles {
  int64_t tile_h = 0, tile_w = 0;        // tile size; a tile at least the frame's size is the whole frame
  int64_t overlap_h = 0, overlap_w = 0;  // least overlap of neighbouring tiles, < the tile size
};

// The first latent pixel of each tile along an axis of `size`: steps of
// tile - overlap from 0, the last tile ending at the border (so its overlap
// with the one before may exceed `overlap`). {0} when tile >= size.
// Requires 0 <= overlap < tile.
std::vector<int64_t> TileStarts(int64_t size, int64_t tile, int64_t overlap);

// lq, noise: [B, 16, T', h, w] -> restored latents, the shape and dtype of
// lq, from one g.Restore per tile, blended in fp32. The tiles' sizes and overlaps and h, w
// must be multiples of g's spatial patch, with 0 <= overlap < tile (a tile
// larger than the frame is clipped to it); otherwise throws c10::Error naming
// them.
at::Tensor RestoreTiled(SeedVR2Generator& g, const at::Tensor& lq, const at::Tensor& noise, const LatentTiles& tiles);

// One tile's restoration: lq, noise [B, C, T', th, tw] -> the same shape.
using TileRestore = std::function<at::Tensor(const at::Tensor& lq, const at::Tensor& noise)>;

// The tiling and blending of RestoreTiled around any per-tile restoration;
// `patch` (h, w) is what tiles, overlaps and the frame must be multiples of.
at::Tensor RestoreTiled(const TileRestore& restore, const at::Tensor& lq, const at::Tensor& noise,
                        const LatentTiles& tiles, const std::array<int64_t, 2>& patch);

// The tiles for restoring one clip (B = 1) of t_latent x h x w latent pixels
// in `budget_bytes` of DiT activations, with `text_tokens` text tokens
// (dit::DiTInferenceBytes; weights and the frame-sized inputs and output are
// the caller's, outside the budget). The whole frame when it fits; else the
// largest tiles with the frame's aspect (down to 16 latent px a side, or the
// frame's side when smaller) that fit, with overlaps of about 1/8 of the tile
// (multiples of the patch, at least one patch). Errors: InvalidArgument when
// h, w or t_latent are not positive multiples of the patch;
// ResourceExhausted naming the budget and the smallest tile's need when
// even that does not fit.
absl::StatusOr<LatentTiles> ChooseLatentTiles(const dit::DiTConfig& config, int64_t t_latent, int64_t h, int64_t w,
                                              double budget_bytes, int64_t text_tokens);

}  // namespace seedvr::generator

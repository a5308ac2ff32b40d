#include "seedvr/models/generator/spatial_tiles.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "seedvr/models/dit/dit_memory.h"

namespace seedvr::generator {
namespace {

// The smallest tile side ChooseLatentTiles tries (128 image px): below it the
// overlaps would take most of each tile.
constexpr int64_t kMinTileSide = 16;

void CheckAxis(const char* axis, int64_t size, int64_t tile, int64_t overlap, int64_t patch) {
  TORCH_CHECK(size % patch == 0, "RestoreTiled: latent ", axis, " = ", size, " is not a multiple of the patch (", patch,
              ")");
  TORCH_CHECK(tile > 0 && tile % patch == 0 && overlap >= 0 && overlap % patch == 0 && overlap < tile,
              "RestoreTiled: tile ", axis, " = ", tile, " with overlap ", overlap,
              ": expected multiples of the patch (", patch, ") with 0 <= overlap < tile");
}

// Blend weights along one axis of tile `i` of `starts` (all `tile` long): a
// raised-cosine ramp over the overlap with each neighbour, 1 elsewhere. Two
// neighbours' ramps over the same overlap sum to 1.
at::Tensor AxisWeights(const std::vector<int64_t>& starts, size_t i, int64_t tile) {
  const int64_t before = i > 0 ? starts[i - 1] + tile - starts[i] : 0;
  const int64_t after = i + 1 < starts.size() ? starts[i] + tile - starts[i + 1] : 0;
  auto ramp = [](int64_t k, int64_t n) {
    if (k >= n) return 1.0;
    const double s = std::sin(std::numbers::pi * (static_cast<double>(k) + 0.5) / (2.0 * static_cast<double>(n)));
    return s * s;
  };
  std::vector<float> w(tile);
  for (int64_t k = 0; k < tile; ++k) w[k] = static_cast<float>(ramp(k, before) * ramp(tile - 1 - k, after));
  return at::tensor(w, at::kFloat);
}

// About 1/8 of the tile in whole patches, at least one patch, less than the tile.
int64_t DefaultOverlap(int64_t tile, int64_t patch) {
  const int64_t eighth = std::max<int64_t>(1, std::llround(static_cast<double>(tile) / (8.0 * patch)));
  return std::min(tile - patch, patch * eighth);
}

// A side of `size` scaled by `scale`, in whole patches, between the smallest
// tile side (or `size` when smaller) and `size`.
int64_t ScaledSide(int64_t size, int64_t patch, double scale) {
  const int64_t smallest = std::min(size, patch * ((kMinTileSide + patch - 1) / patch));
  const int64_t scaled = patch * std::llround(scale * static_cast<double>(size) / static_cast<double>(patch));
  return std::clamp(scaled, smallest, size);
}

}  // namespace

std::vector<int64_t> TileStarts(int64_t size, int64_t tile, int64_t overlap) {
  TORCH_CHECK(0 <= overlap && overlap < tile, "TileStarts: expected 0 <= overlap < tile, got overlap ", overlap,
              " and tile ", tile);
  std::vector<int64_t> starts = {0};
  while (starts.back() + tile < size) starts.push_back(std::min(starts.back() + tile - overlap, size - tile));
  return starts;
}

at::Tensor RestoreTiled(SeedVR2Generator& g, const at::Tensor& lq, const at::Tensor& noise, const LatentTiles& tiles) {
  const auto& patch = g.dit()->config().patch_size;
  return RestoreTiled([&g](const at::Tensor& l, const at::Tensor& n) { return g.Restore(l, n); }, lq, noise, tiles,
                      {patch[1], patch[2]});
}

at::Tensor RestoreTiled(const TileRestore& restore, const at::Tensor& lq, const at::Tensor& noise,
                        const LatentTiles& tiles, const std::array<int64_t, 2>& patch) {
  TORCH_CHECK(lq.dim() == 5 && lq.sizes() == noise.sizes(),
              "RestoreTiled: expected matching [B, C, T, h, w] latents, got ", lq.sizes(), " and ", noise.sizes());
  const int64_t h = lq.size(3), w = lq.size(4);
  CheckAxis("h", h, tiles.tile_h, tiles.overlap_h, patch[0]);
  CheckAxis("w", w, tiles.tile_w, tiles.overlap_w, patch[1]);
  const std::vector<int64_t> ys = TileStarts(h, tiles.tile_h, tiles.overlap_h);
  const std::vector<int64_t> xs = TileStarts(w, tiles.tile_w, tiles.overlap_w);
  const int64_t th = std::min(tiles.tile_h, h), tw = std::min(tiles.tile_w, w);
  const auto f32 = lq.options().dtype(at::kFloat);
  at::Tensor sum = at::zeros(lq.sizes(), f32);
  at::Tensor weight_sum = at::zeros({h, w}, f32);
  for (size_t i = 0; i < ys.size(); ++i) {
    const at::Tensor wy = AxisWeights(ys, i, th).to(lq.device());
    for (size_t j = 0; j < xs.size(); ++j) {
      const at::Tensor weight = wy.unsqueeze(1) * AxisWeights(xs, j, tw).to(lq.device()).unsqueeze(0);
      auto tile = [&](const at::Tensor& x) { return x.narrow(-2, ys[i], th).narrow(-1, xs[j], tw); };
      tile(sum).add_(restore(tile(lq), tile(noise)).to(at::kFloat) * weight);
      tile(weight_sum).add_(weight);
    }
  }
  return (sum / weight_sum).to(lq.scalar_type());
}

absl::StatusOr<LatentTiles> ChooseLatentTiles(const dit::DiTConfig& config, int64_t t_latent, int64_t h, int64_t w,
                                              double budget_bytes, int64_t text_tokens) {
  const auto& p = config.patch_size;
  if (t_latent < 1 || h < 1 || w < 1 || t_latent % p[0] != 0 || h % p[1] != 0 || w % p[2] != 0) {
    return absl::InvalidArgumentError(absl::StrCat("DiT tiles: expected a latent of positive multiples of the patch (",
                                                   p[0], ", ", p[1], ", ", p[2], "), got ", t_latent, " x ", h, " x ",
                                                   w));
  }
  auto bytes = [&](const LatentTiles& t) {
    return dit::DiTInferenceBytes(config, {t_latent / p[0], t.tile_h / p[1], t.tile_w / p[2]}, text_tokens);
  };
  // Scales n / longest (in patches of the longer side), from the whole frame
  // (n = longest) down to the smallest tile (n = 1).
  const int64_t longest = std::max(h / p[1], w / p[2]);
  LatentTiles tiles;
  for (int64_t n = longest; n >= 1; --n) {
    const double scale = static_cast<double>(n) / static_cast<double>(longest);
    tiles.tile_h = ScaledSide(h, p[1], scale);
    tiles.tile_w = ScaledSide(w, p[2], scale);
    tiles.overlap_h = DefaultOverlap(tiles.tile_h, p[1]);
    tiles.overlap_w = DefaultOverlap(tiles.tile_w, p[2]);
    if (bytes(tiles) <= budget_bytes) return tiles;
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("DiT tiles: a budget of ", budget_bytes / 1e9, " GB does not hold even the smallest tile (",
                   tiles.tile_h, " x ", tiles.tile_w, " latent px over ", t_latent, " latent frames), which needs ",
                   bytes(tiles) / 1e9, " GB of activations"));
}

}  // namespace seedvr::generator

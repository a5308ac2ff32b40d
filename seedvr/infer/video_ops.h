// Tensor operations of the official one-step restoration pipeline (spec §4):
// area-preserving bicubic resize, crop to multiples of 16, padding clips to
// 4n+1 frames, and the wavelet colour fix (StableSR's wavelet_reconstruction).
// Videos are float [T, 3, H, W].
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>

namespace seedvr::infer {

// Resizes so that H*W ~= res_h*res_w keeping the aspect ratio (the official
// NaResize "area" mode): the size is data::AreaResizeSize (shared with the
// training data's data.resize_to_area), bicubic with antialiasing
// (torchvision's default for tensors), clamped to [0, 1].
at::Tensor AreaResize(const at::Tensor& video01, int64_t res_h, int64_t res_w);

// The frame size AreaResize then DivisibleCrop(multiple) produce from an
// h x w input: (height, width).
std::pair<int64_t, int64_t> RestoredSize(int64_t h, int64_t w, int64_t res_h, int64_t res_w, int64_t multiple = 16);

// Offset of a centre crop of `crop` out of `size` pixels as torchvision's
// center_crop computes it: int(round((size - crop) / 2.0)), where Python's
// round takes half to even (round(7.5) = 8, round(2.5) = 2), not the floor.
int64_t CenterCropOffset(int64_t size, int64_t crop);

// Centre crop to multiples of `multiple` (DivisibleCrop: torchvision's
// center_crop, offsets from CenterCropOffset).
at::Tensor DivisibleCrop(const at::Tensor& video, int64_t multiple = 16);

// Pads by repeating the last frame until (T - 1) % (4 * sp_size) == 0
// (cut_videos); a single frame is left alone.
at::Tensor PadTo4nPlus1(const at::Tensor& video, int64_t sp_size = 1);

// Blends the frames two consecutive chunks share, in place: `next`'s first
// previous.size(0) frames become w next + (1 - w) previous with w = (i + 1) /
// (overlap + 1) for shared frame i, a linear ramp from the earlier chunk to
// the later one. previous: [overlap, ...]; next: [>= overlap, ...].
void BlendOverlap(const at::Tensor& previous, at::Tensor& next);

// One level of the wavelet blur: 3x3 [[1,2,1],[2,4,2],[1,2,1]]/16, dilated by
// `radius`, replicate padding, per channel.
at::Tensor WaveletBlur(const at::Tensor& x, int64_t radius);

// Splits into (high, low) frequencies over 5 levels of radius 2^i.
std::pair<at::Tensor, at::Tensor> WaveletDecomposition(const at::Tensor& x, int levels = 5);

// Colour fix: the restored video's high frequencies over the LQ input's low
// frequencies, which removes the colour shift users see.
at::Tensor WaveletColorFix(const at::Tensor& restored, const at::Tensor& lq);

}  // namespace seedvr::infer

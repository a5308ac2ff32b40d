#include "seedvr/infer/video_ops.h"

#include <ATen/ATen.h>

#include <cmath>
#include <vector>

#include "seedvr/data/image_ops.h"

namespace seedvr::infer {

at::Tensor AreaResize(const at::Tensor& video01, int64_t res_h, int64_t res_w) {
  const data::AreaSize size =
      data::AreaResizeSize(video01.size(2), video01.size(3), static_cast<double>(res_h) * static_cast<double>(res_w));
  const int64_t nh = size.h, nw = size.w;
  if (nh == video01.size(2) && nw == video01.size(3)) return video01;
  return at::_upsample_bicubic2d_aa(video01, {nh, nw}, /*align_corners=*/false).clamp(0, 1);
}

std::pair<int64_t, int64_t> RestoredSize(int64_t h, int64_t w, int64_t res_h, int64_t res_w, int64_t multiple) {
  const data::AreaSize size = data::AreaResizeSize(h, w, static_cast<double>(res_h) * static_cast<double>(res_w));
  return {size.h / multiple * multiple, size.w / multiple * multiple};
}

int64_t CenterCropOffset(int64_t size, int64_t crop) {
  const int64_t margin = size - crop, half = margin / 2;
  // margin / 2 is k + 0.5 when the margin is odd: round to the even neighbour.
  return margin % 2 != 0 && half % 2 != 0 ? half + 1 : half;
}

at::Tensor DivisibleCrop(const at::Tensor& video, int64_t multiple) {
  const int64_t h = video.size(2) / multiple * multiple, w = video.size(3) / multiple * multiple;
  TORCH_CHECK(h > 0 && w > 0, "video of ", video.size(2), "x", video.size(3), " is smaller than ", multiple, " pixels");
  const int64_t top = CenterCropOffset(video.size(2), h), left = CenterCropOffset(video.size(3), w);
  return video.narrow(2, top, h).narrow(3, left, w);
}

at::Tensor PadTo4nPlus1(const at::Tensor& video, int64_t sp_size) {
  const int64_t t = video.size(0);
  if (t == 1) return video;
  const int64_t unit = 4 * sp_size;
  const int64_t target = t <= unit ? unit + 1 : (t - 1 + unit - 1) / unit * unit + 1;
  if (target == t) return video;
  return at::cat({video, video.narrow(0, t - 1, 1).expand({target - t, -1, -1, -1})}, 0);
}

void BlendOverlap(const at::Tensor& previous, at::Tensor& next) {
  const int64_t o = previous.size(0);
  if (o == 0) return;
  std::vector<int64_t> shape(next.dim(), 1);
  shape[0] = o;
  const at::Tensor w = at::arange(1, o + 1, next.options()).div_(o + 1).view(shape);
  next.narrow(0, 0, o).mul_(w).add_(previous * (1 - w));
}

at::Tensor WaveletBlur(const at::Tensor& x, int64_t radius) {
  const int64_t c = x.size(1);
  at::Tensor k = at::tensor({1.0f, 2.0f, 1.0f, 2.0f, 4.0f, 2.0f, 1.0f, 2.0f, 1.0f}, x.options()).view({1, 1, 3, 3}) / 16.0;
  k = k.expand({c, 1, 3, 3}).contiguous();
  at::Tensor padded = at::pad(x, {radius, radius, radius, radius}, "replicate");
  return at::conv2d(padded, k, at::Tensor(), at::IntArrayRef{1, 1}, at::IntArrayRef{0, 0}, at::IntArrayRef{radius, radius}, c);
}

std::pair<at::Tensor, at::Tensor> WaveletDecomposition(const at::Tensor& x, int levels) {
  at::Tensor high = at::zeros_like(x), low = x;
  for (int i = 0; i < levels; ++i) {
    at::Tensor blurred = WaveletBlur(low, int64_t{1} << i);
    high = high + (low - blurred);
    low = blurred;
  }
  return {high, low};
}

at::Tensor WaveletColorFix(const at::Tensor& restored, const at::Tensor& lq) {
  return WaveletDecomposition(restored).first + WaveletDecomposition(lq).second;
}

}  // namespace seedvr::infer

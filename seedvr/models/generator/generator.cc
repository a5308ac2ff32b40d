#include "seedvr/models/generator/generator.h"

#include <ATen/ATen.h>

#include <utility>

namespace seedvr::generator {

SeedVR2Generator::SeedVR2Generator(dit::NaDiT dit, at::Tensor text) : dit_(std::move(dit)), text_(std::move(text)) {}

at::Tensor SeedVR2Generator::Restore(const at::Tensor& lq, const at::Tensor& noise) {
  TORCH_CHECK(lq.dim() == 5 && lq.sizes() == noise.sizes(), "Restore: expected matching [B, C, T, h, w] latents, got ",
              lq.sizes(), " and ", noise.sizes());
  const int64_t b = lq.size(0), t = lq.size(2), h = lq.size(3), w = lq.size(4);
  const auto opts = lq.options();
  at::Tensor x = at::cat({noise, lq, at::ones({b, 1, t, h, w}, opts)}, 1);  // [noise | LQ | mask]
  at::Tensor vid = x.permute({0, 2, 3, 4, 1}).reshape({b * t * h * w, x.size(1)});
  at::Tensor vid_shape = at::tensor({t, h, w}, at::kLong).repeat({b, 1});
  const int64_t lt = text_.size(0);
  at::Tensor txt = text_.to(opts).repeat({b, 1});
  at::Tensor txt_shape = at::full({b, 1}, lt, at::kLong);
  at::Tensor timestep = at::full({b}, 1000.0, opts);
  at::Tensor v = dit_->forward(vid, vid_shape, txt, txt_shape, timestep).to(lq.scalar_type());
  v = v.reshape({b, t, h, w, v.size(1)}).permute({0, 4, 1, 2, 3});
  return noise - v;
}

NamedTensors SeedVR2Generator::NamedParameters() const {
  NamedTensors out;
  for (const auto& item : dit_->named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

double ConditionShift(int64_t frames, int64_t height, int64_t width) {
  const double pixels = static_cast<double>(frames) * static_cast<double>(height) * static_cast<double>(width);
  const bool video = frames > 1;
  const double x0 = video ? 256.0 * 256.0 * 37.0 : 256.0 * 256.0, y0 = 1.0;
  const double x1 = video ? 1280.0 * 720.0 * 145.0 : 1024.0 * 1024.0, y1 = video ? 5.0 : 3.2;
  return y0 + (pixels - x0) * (y1 - y0) / (x1 - x0);
}

at::Tensor AugmentCondition(const at::Tensor& lq, const at::Tensor& eps, double noise_scale, double shift) {
  if (noise_scale <= 0) return lq;
  const double t = shift * noise_scale / (1 + (shift - 1) * noise_scale);
  return lq * (1 - t) + eps * t;
}

}  // namespace seedvr::generator

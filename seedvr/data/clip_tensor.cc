#include "seedvr/data/clip_tensor.h"

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace seedvr::data {
namespace {

// Writes one clip into `out` (float, contiguous, layout-shaped, no batch dim).
void Fill(const Clip& clip, ClipLayout layout, float* out) {
  const int64_t plane = static_cast<int64_t>(clip.w) * clip.h;
  at::parallel_for(0, clip.t, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const uint8_t* src = clip.frame(static_cast<int>(t));
      float* c0;
      int64_t cstride;
      if (layout == ClipLayout::kTCHW) {
        c0 = out + t * 3 * plane;
        cstride = plane;
      } else {
        c0 = out + t * plane;
        cstride = static_cast<int64_t>(clip.t) * plane;
      }
      float* r = c0;
      float* g = c0 + cstride;
      float* b = c0 + 2 * cstride;
      constexpr float k = 1.0f / 127.5f;
      for (int64_t i = 0; i < plane; ++i) {
        r[i] = src[3 * i] * k - 1.0f;
        g[i] = src[3 * i + 1] * k - 1.0f;
        b[i] = src[3 * i + 2] * k - 1.0f;
      }
    }
  });
}

std::vector<int64_t> Shape(const Clip& c, ClipLayout layout) {
  if (layout == ClipLayout::kTCHW) return {c.t, 3, c.h, c.w};
  return {3, c.t, c.h, c.w};
}

}  // namespace

at::Tensor ClipToTensor(const Clip& clip, ClipLayout layout) {
  at::Tensor out = at::empty(Shape(clip, layout), at::kFloat);
  Fill(clip, layout, out.data_ptr<float>());
  return out;
}

at::Tensor ClipsToBatch(const std::vector<const Clip*>& clips, ClipLayout layout) {
  if (clips.empty()) throw std::invalid_argument("ClipsToBatch: no clips");
  std::vector<int64_t> shape = Shape(*clips[0], layout);
  shape.insert(shape.begin(), static_cast<int64_t>(clips.size()));
  at::Tensor out = at::empty(shape, at::kFloat);
  const int64_t per = out.numel() / static_cast<int64_t>(clips.size());
  for (size_t i = 0; i < clips.size(); ++i) {
    const Clip& c = *clips[i];
    if (c.t != clips[0]->t || c.w != clips[0]->w || c.h != clips[0]->h) {
      throw std::invalid_argument("ClipsToBatch: clips differ in size");
    }
    Fill(c, layout, out.data_ptr<float>() + per * static_cast<int64_t>(i));
  }
  return out;
}

at::Tensor ClipToUint8Tensor(Clip&& clip) {
  auto* owner = new std::vector<uint8_t>(std::move(clip.rgb));
  const std::vector<int64_t> shape = {clip.t, clip.h, clip.w, 3};
  clip = Clip();
  return at::from_blob(
      owner->data(), shape, [owner](void*) { delete owner; }, at::TensorOptions().dtype(at::kByte));
}

Clip TensorToClip(const at::Tensor& tensor, ClipLayout layout, double fps) {
  if (tensor.dim() != 4) throw std::invalid_argument("TensorToClip: expected a 4-D tensor");
  at::Tensor t = tensor.to(at::kFloat).contiguous();
  const int64_t T = layout == ClipLayout::kTCHW ? t.size(0) : t.size(1);
  const int64_t C = layout == ClipLayout::kTCHW ? t.size(1) : t.size(0);
  if (C != 3) throw std::invalid_argument("TensorToClip: expected 3 channels");
  Clip clip(static_cast<int>(T), static_cast<int>(t.size(3)), static_cast<int>(t.size(2)));
  clip.fps = fps;
  const float* p = t.data_ptr<float>();
  const int64_t plane = static_cast<int64_t>(clip.w) * clip.h;
  for (int64_t f = 0; f < T; ++f) {
    uint8_t* dst = clip.frame(static_cast<int>(f));
    for (int c = 0; c < 3; ++c) {
      const float* src = layout == ClipLayout::kTCHW ? p + (f * 3 + c) * plane : p + (c * T + f) * plane;
      for (int64_t i = 0; i < plane; ++i) {
        const float v = (src[i] + 1.0f) * 127.5f;
        dst[3 * i + c] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
    }
  }
  return clip;
}

}  // namespace seedvr::data

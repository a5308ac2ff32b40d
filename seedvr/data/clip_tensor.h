// LibTorch adapter for clips: the only data-layer header that includes ATen.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "seedvr/data/frame.h"

namespace seedvr::data {

enum class ClipLayout {
  kTCHW,  // [T, 3, H, W]
  kCTHW,  // [3, T, H, W] (the VAE's video layout)
};

// uint8 RGB -> float32 in [-1, 1] (x / 127.5 - 1), written straight into the
// output layout in one pass (no intermediate tensors).
at::Tensor ClipToTensor(const Clip& clip, ClipLayout layout = ClipLayout::kCTHW);

// A batch [B, ...] of same-size clips, one pass per clip into the batch.
at::Tensor ClipsToBatch(const std::vector<const Clip*>& clips, ClipLayout layout = ClipLayout::kCTHW);

// Zero-copy view of the clip's bytes as uint8 [T, H, W, 3]; the tensor takes
// ownership of the buffer (the clip is left empty).
at::Tensor ClipToUint8Tensor(Clip&& clip);

// float [-1, 1] tensor in `layout` (CPU, any float dtype) -> uint8 clip.
Clip TensorToClip(const at::Tensor& tensor, ClipLayout layout = ClipLayout::kCTHW, double fps = 0.0);

}  // namespace seedvr::data

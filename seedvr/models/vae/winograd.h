// Winograd F(2x2, 3x3) convolution for the VAE's 3x3 spatial convolutions on
// the CPU (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
// CVPR 2016, section 4).
//
// Each 2x2 block of output pixels is computed from a 4x4 input tile with 16
// multiplies per (input channel, output channel, temporal tap) instead of 36,
// so the products run at 2.25x fewer FLOPs. The kt temporal taps of a
// (kt, 3, 3) kernel join the channels: each output frame is one product with
// K = kt C over its kt transformed input frames. The products are 16 batched
// GEMMs (LibTorch's BLAS);
// the input and output transforms are adds and subtracts only (B and A of
// F(2, 3) hold 0 and +-1, G holds 0, +-1/2 and 1), so results differ from a
// direct convolution by fp32 rounding only (relative 1e-6 per layer).
//
// Memory: the transformed input and the products are held for one band of
// tile rows and a few frames at a time, in one scratch buffer per thread of
// 128 MiB at most (more only if a single tile row of one frame needs it),
// kept between calls so its pages are not cleared and mapped again at every
// layer, whatever the clip's size. The modules keep each weight's transform
// (WinogradWeightCache), 16/9 of its size.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/intrusive_ptr.h>

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace seedvr::vae {

// Whether WinogradConv3d computes at::conv3d of the frames of `parts` joined
// in time, zero-padded by `padding` (top, bottom, left, right), with weight,
// stride: fp32 tensors on the CPU, weight (O, C, kt, 3, 3), stride
// (1, 1, 1), padding 0..2 on each side, at least kt frames, and no autograd
// through the parts or the weight.
bool WinogradApplies(const std::vector<at::Tensor>& parts, const at::Tensor& weight, std::array<int64_t, 3> stride,
                     std::array<int64_t, 4> padding);

// Whether it is also faster than oneDNN's direct convolution on this
// machine kind (2 Zen 4 cores): at 128 channels in and out or more, 1.2x at
// 128, 1.3-1.6x at 256-512. Thinner GEMMs lose: 0.9x oneDNN's speed at 64
// channels, 0.3-0.6x at 16-32.
bool WinogradPays(const at::Tensor& weight);

// The weight (O, C, kt, 3, 3) in the Winograd domain, G g G^T per tap:
// (16, O, kt C), element (4 i + j, o, tap C + c).
at::Tensor WinogradWeight(const at::Tensor& weight);

// WinogradWeight(weight), computed again only when the weight changes: a
// different tensor, or an in-place update (optimizer step, checkpoint load).
// It refers to the weight weakly, so a replaced weight's storage is freed.
// Not thread-safe: one per module.
class WinogradWeightCache {
 public:
  const at::Tensor& Get(const at::Tensor& weight);

 private:
  std::optional<c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>> weight_;
  uint32_t version_ = 0;
  at::Tensor u_;
};

// The frames of `parts` (each (B, C, Ti, H, W), such as a causal conv's
// head frames and its input; views are read in place if each row of W
// values is contiguous) joined in time, zero-padded by `padding` (top,
// bottom, left, right), convolved with the weight whose WinogradWeight is
// `u`, stride 1, plus bias (O) if defined: (B, O, T - kt + 1,
// H + top + bottom - 2, W + left + right - 2) for T = sum of Ti. Requires
// WinogradApplies.
at::Tensor WinogradConv3d(const std::vector<at::Tensor>& parts, const at::Tensor& u, const at::Tensor& bias,
                          std::array<int64_t, 4> padding);

}  // namespace seedvr::vae

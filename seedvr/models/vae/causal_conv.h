// The two primitives every layer of the SeedVR causal video VAE is built from.
//
// CausalConv3d is a Conv3d whose temporal padding is replaced by front padding
// with copies of the first frame (no tail padding), so output frame t only
// sees input frames <= t. That property is what lets the VAE run a long clip
// in temporal chunks: in streaming mode the conv keeps the input frames the
// next output still needs (its "memory") and prepends them to the next chunk
// instead of the first-frame copies, which makes chunked and full-sequence
// results equal up to float rounding.
//
// FrameGroupNorm is GroupNorm applied to every frame on its own (statistics
// over channels-in-group x H x W of one frame, never across time); temporal
// statistics would break causality and chunking.
//
// Memory bounds (the official set_memory_limit(conv_max_mem, norm_max_mem)):
// a convolution whose causally padded input exceeds its bound runs over
// spatial tiles of its output, each reading its receptive field (halo
// included) from the whole input, and a GroupNorm above its bound runs
// over chunks of whole groups. Both are exact: every output element sees
// the same inputs and the statistics cover the whole frame, so the result
// equals the unsplit one up to float rounding. Splitting happens only with
// autograd off (Encode/Decode): under autograd each part would keep its own
// input for backward.
//
// Kernels: on the CPU every fp32 3x3 convolution of 128 channels or more
// with stride 1 runs as a Winograd F(2x2, 3x3) convolution when autograd
// does not need it (winograd.h; 1.2-1.6x faster than oneDNN at those widths,
// the same result up to fp32 rounding), and every other fp32 convolution on
// oneDNN. LibTorch's own choice (aten/src/ATen/native/Convolution.cpp,
// use_mkldnn) takes oneDNN at batch 1 only above
// batch·channels·frames·height = 20480 and otherwise its im2col path
// (slow_conv3d, Unfold3d), several times slower at the VAE's shapes.
// SetConvKernel restores LibTorch's choice, or oneDNN alone, so the
// benchmarks can compare them in one run; results agree up to fp32
// rounding. GPUs and other dtypes always take LibTorch's choice (cuDNN on
// CUDA).
//
// Parameter names are those of the official checkpoint: `weight`, `bias`.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <cstdint>

#include "seedvr/models/vae/winograd.h"

namespace seedvr::vae {

// Modules that keep state between temporal chunks. The VAE walks its module
// tree and switches them all at once, so no layer is ever half in one mode.
class CausalStreaming {
 public:
  virtual ~CausalStreaming() = default;
  // Enabling or disabling both clear the carried state: the next call is the
  // first chunk of a new clip.
  virtual void SetStreaming(bool enabled) = 0;
};

// kAuto: Winograd (winograd.h) where it applies and pays, else oneDNN.
// kWinograd: Winograd wherever it applies, else oneDNN. kOneDnn: oneDNN only.
// kLibTorchDefault: LibTorch's own choice.
enum class ConvKernel { kAuto, kWinograd, kOneDnn, kLibTorchDefault };
// Process-wide; kAuto unless set. Thread-safe.
void SetConvKernel(ConvKernel kernel);
ConvKernel GetConvKernel();

// Multiply-add FLOPs (2 per MAC) of every Conv3d call so far in this
// process, which the benchmarks divide by time to report the fraction of
// the machine's GEMM rate reached. Thread-safe.
int64_t Conv3dFlops();

// x (B, C, T, H, W), preceded in time by `head` (B, C, T', H, W) if
// defined, convolved with weight (O, C, kt, kh, kw): at::conv3d of the
// joined frames zero-padded by `padding` (top, bottom, left, right), on the
// kernel GetConvKernel() selects. Winograd reads head and x in place;
// the other kernels join and pad them in a copy first. `winograd` keeps the
// weight's Winograd transform between calls (one per weight).
at::Tensor Conv3d(const at::Tensor& head, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                  std::array<int64_t, 3> stride, std::array<int64_t, 4> padding, WinogradWeightCache& winograd);

struct CausalConv3dOptions {
  // "Same" spatial padding by default, as the official layers use.
  CausalConv3dOptions(int64_t in, int64_t out, std::array<int64_t, 3> kernel);
  CausalConv3dOptions& stride(std::array<int64_t, 3> s);
  // Zero padding (top, bottom, left, right).
  CausalConv3dOptions& spatial_padding(std::array<int64_t, 4> p);
  int64_t in_channels;
  int64_t out_channels;
  std::array<int64_t, 3> kernel;            // (t, h, w)
  std::array<int64_t, 3> stride_{1, 1, 1};  // (t, h, w)
  std::array<int64_t, 4> padding;           // zero padding (top, bottom, left, right)
};

class CausalConv3dImpl : public torch::nn::Module, public CausalStreaming {
 public:
  // Random init (fan-in scaled) so a model built without a checkpoint, as
  // in the benchmarks, keeps activations in a sane range.
  explicit CausalConv3dImpl(const CausalConv3dOptions& o);

  at::Tensor forward(const at::Tensor& x);

  void SetStreaming(bool enabled) override;

  // Inputs (with their causal head frames) above `bytes` run in spatial
  // tiles; 0: never.
  void set_max_input_bytes(int64_t bytes) { max_input_bytes_ = bytes; }
  // Output tiles (rows x columns) the last forward ran in.
  std::array<int64_t, 2> last_tiles() const { return last_tiles_; }

  const CausalConv3dOptions& options() const { return opt_; }

 private:
  // The convolution of [head | x] over `tiles` output tiles.
  at::Tensor Convolve(const at::Tensor& head, const at::Tensor& x, std::array<int64_t, 2> tiles) const;

  CausalConv3dOptions opt_;
  at::Tensor weight_;
  at::Tensor bias_;
  bool streaming_ = false;
  at::Tensor memory_;
  int64_t max_input_bytes_ = 0;
  std::array<int64_t, 2> last_tiles_{1, 1};
  mutable WinogradWeightCache winograd_;
};
TORCH_MODULE(CausalConv3d);

class FrameGroupNormImpl : public torch::nn::Module {
 public:
  FrameGroupNormImpl(int64_t groups, int64_t channels, double eps = 1e-6);

  // x: (B, C, T, H, W) or (N, C, H, W). With `silu`, SiLU(GroupNorm(x)),
  // applied in place on the normalised tensor when autograd does not need it.
  at::Tensor forward(const at::Tensor& x, bool silu = false);

  // Inputs above `bytes` (counted in fp32) are normalised a chunk of whole
  // groups at a time; 0: never.
  void set_max_bytes(int64_t bytes) { max_bytes_ = bytes; }

 private:
  // Normalises x (B, C, T, H, W) whose channels are `groups` whole groups,
  // with their affine parameters `w`, `b`, then SiLU if `silu`.
  at::Tensor Normalize(const at::Tensor& x, int64_t groups, const at::Tensor& w, const at::Tensor& b, bool silu) const;

  int64_t max_bytes_ = 0;
  int64_t groups_;
  int64_t channels_;
  double eps_;
  at::Tensor weight_;
  at::Tensor bias_;
};
TORCH_MODULE(FrameGroupNorm);

}  // namespace seedvr::vae

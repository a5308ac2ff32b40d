// Small building blocks of the SeedVR2 DiT: RMSNorm, the vid/txt/shared
// weight container, AdaSingle modulation, the two MLP types, the timestep
// embedding and patchify/unpatchify.
//
// Modules follow the LibTorch frontend (`XImpl` + TORCH_MODULE, registered
// children and parameters) and are registered under the official names, so
// `named_parameters()` yields exactly the keys of the released checkpoints.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "seedvr/models/dit/window.h"

namespace seedvr::dit {

enum class Stream { kVid, kTxt };

// RMSNorm as apex's FusedRMSNorm computes it: fp32 mean of squares,
// x * rsqrt(var + eps), then the optional affine weight; result in x's dtype.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps, bool affine);
  at::Tensor forward(const at::Tensor& x) const;
  at::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

// No-affine RMSNorm (the block's attn_norm / mlp_norm have no parameters).
at::Tensor RmsNormNoAffine(const at::Tensor& x, double eps);

// Either separate `vid` and `txt` children or one `all` child used for both
// streams (3B layers >= mm_layers). The official MMModule registers them
// under exactly these names.
//
// A template over the child holder and its factory, so it stays in the header.
template <typename Holder>
class MMImpl : public torch::nn::Module {
 public:
  template <typename Make>
  MMImpl(bool shared, Make make) {
    if (shared) {
      all_ = register_module("all", make());
    } else {
      vid_ = register_module("vid", make());
      txt_ = register_module("txt", make());
    }
  }
  Holder& operator[](Stream s) { return all_ ? all_ : (s == Stream::kVid ? vid_ : txt_); }
  bool shared() const { return static_cast<bool>(all_); }

 private:
  Holder all_{nullptr}, vid_{nullptr}, txt_{nullptr};
};
template <typename Holder>
using MM = std::shared_ptr<MMImpl<Holder>>;

template <typename Holder, typename Make>
MM<Holder> MakeMM(bool shared, Make make) {
  return std::make_shared<MMImpl<Holder>>(shared, make);
}

torch::nn::Linear MakeLinear(int64_t in, int64_t out, bool bias);

// Per-token view of a per-sample vector [B, D]: [1, D] when B == 1 (plain
// broadcasting), else gathered by the token -> sample index. The official
// code materialises emb repeated per token at 6*D wide; this never does.
struct TokenSamples {
  int64_t batch = 1;
  at::Tensor sample_of_token;  // [L] int64, defined when batch > 1
  at::Tensor expand(const at::Tensor& per_sample) const;
};

// The global modulation embedding emb [B, 6D] is read as (d, l, g) with l in
// {attn, mlp} and g in {shift, scale, gate}: channel d*6 + l*3 + g.
enum class AdaLayer { kAttn = 0, kMlp = 1 };
enum class AdaPart { kShift = 0, kScale = 1, kGate = 2 };

at::Tensor EmbSlot(const at::Tensor& emb, AdaLayer l, AdaPart g);

// AdaSingle: learned per-channel vectors added to the emb parts. There is no
// "1 + scale": the learned scale itself sits around 1.
class AdaSingleImpl : public torch::nn::Module {
 public:
  explicit AdaSingleImpl(int64_t dim);
  const at::Tensor& param(AdaLayer l, AdaPart g) const {
    return params_[static_cast<size_t>(l) * 3 + static_cast<size_t>(g)];
  }
  // Per-token vector (emb part + learned part), broadcastable against [L, D].
  at::Tensor vec(const at::Tensor& emb, AdaLayer l, AdaPart g, const TokenSamples& ts) const;

 private:
  std::vector<at::Tensor> params_;
};
TORCH_MODULE(AdaSingle);

// x * scale + shift, kept in x's dtype (the official in-place mul_/add_ on
// bf16 activations with fp32 vectors round back to bf16).
at::Tensor Modulate(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& shift);
at::Tensor Gate(const at::Tensor& x, const at::Tensor& gate);

// Block MLP. 3B: SwiGLU proj_out(silu(proj_in_gate(x)) * proj_in(x)), no
// biases; 7B: proj_out(gelu_tanh(proj_in(x))) with biases. Children are
// registered in the official order (proj_in_gate, proj_out, proj_in).
class MLPImpl : public torch::nn::Module {
 public:
  MLPImpl(int64_t dim, int64_t hidden, bool swiglu);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Linear proj_in_gate{nullptr}, proj_in{nullptr}, proj_out{nullptr};
};
TORCH_MODULE(MLP);

// Timestep embedding: diffusers' get_timestep_embedding(t, 256,
// flip_sin_to_cos=False, downscale_freq_shift=0) = [sin(t f_i), cos(t f_i)],
// f_i = exp(-ln(10000) i / 128), then Linear-SiLU-Linear-SiLU-Linear.
class TimeEmbeddingImpl : public torch::nn::Module {
 public:
  TimeEmbeddingImpl(int64_t hidden, int64_t out);
  static at::Tensor Sinusoid(const at::Tensor& t, int64_t dim = 256);
  at::Tensor forward(const at::Tensor& t, at::ScalarType dtype);
  torch::nn::Linear proj_in{nullptr}, proj_hid{nullptr}, proj_out{nullptr};
};
TORCH_MODULE(TimeEmbedding);

// Patchify of one sample: (T*pt)(H*ph)(W*pw) c -> T H W (pt ph pw c), so
// in-feature index = ((it*ph + ih)*pw + iw)*C + c.
at::Tensor Patchify(const at::Tensor& x, const Grid3& grid, const Grid3& patch);

// Inverse of Patchify for one sample: `grid` is the token grid (after patchify).
at::Tensor Unpatchify(const at::Tensor& y, const Grid3& grid, const Grid3& patch);

// `vid_in` / `vid_out`: a Linear named `proj`, as NaPatchIn / NaPatchOut.
class PatchLinearImpl : public torch::nn::Module {
 public:
  PatchLinearImpl(int64_t in, int64_t out);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Linear proj{nullptr};
};
TORCH_MODULE(PatchLinear);

// `vid_out_ada` (3B): out_shift and out_scale, no gate.
class OutAdaImpl : public torch::nn::Module {
 public:
  explicit OutAdaImpl(int64_t dim);
  at::Tensor out_shift, out_scale;
};
TORCH_MODULE(OutAda);

}  // namespace seedvr::dit

// Small building blocks of the SeedVR2 DiT; see layers.h.
#include "seedvr/models/dit/layers.h"

#include <ATen/ATen.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace seedvr::dit {

RMSNormImpl::RMSNormImpl(int64_t dim, double eps, bool affine) : eps_(eps) {
  if (affine) weight = register_parameter("weight", at::ones({dim}));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) const {
  auto xf = x.to(at::kFloat);
  auto y = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  if (weight.defined()) y = weight.to(at::kFloat) * y;
  return y.to(x.scalar_type());
}

at::Tensor RmsNormNoAffine(const at::Tensor& x, double eps) {
  auto xf = x.to(at::kFloat);
  return (xf * at::rsqrt(xf.pow(2).mean(-1, true) + eps)).to(x.scalar_type());
}

torch::nn::Linear MakeLinear(int64_t in, int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

at::Tensor TokenSamples::expand(const at::Tensor& per_sample) const {
  return batch == 1 ? per_sample : per_sample.index_select(0, sample_of_token);
}

at::Tensor EmbSlot(const at::Tensor& emb, AdaLayer l, AdaPart g) {
  const int64_t b = emb.size(0), d = emb.size(1) / 6;
  return emb.view({b, d, 6}).select(2, static_cast<int64_t>(l) * 3 + static_cast<int64_t>(g));
}

AdaSingleImpl::AdaSingleImpl(int64_t dim) {
  const double s = 1.0 / std::sqrt(static_cast<double>(dim));
  for (const char* l : {"attn", "mlp"}) {
    for (const char* g : {"shift", "scale", "gate"}) {
      auto init = at::randn({dim}) * s + (std::string(g) == "scale" ? 1.0 : 0.0);
      params_.push_back(register_parameter(std::string(l) + "_" + g, init));
    }
  }
}

at::Tensor AdaSingleImpl::vec(const at::Tensor& emb, AdaLayer l, AdaPart g, const TokenSamples& ts) const {
  return ts.expand(EmbSlot(emb, l, g) + param(l, g));
}

at::Tensor Modulate(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& shift) {
  return (x * scale + shift).to(x.scalar_type());
}

at::Tensor Gate(const at::Tensor& x, const at::Tensor& gate) { return (x * gate).to(x.scalar_type()); }

MLPImpl::MLPImpl(int64_t dim, int64_t hidden, bool swiglu) {
  if (swiglu) {
    proj_in_gate = register_module("proj_in_gate", MakeLinear(dim, hidden, false));
    proj_out = register_module("proj_out", MakeLinear(hidden, dim, false));
    proj_in = register_module("proj_in", MakeLinear(dim, hidden, false));
  } else {
    proj_in = register_module("proj_in", MakeLinear(dim, hidden, true));
    proj_out = register_module("proj_out", MakeLinear(hidden, dim, true));
  }
}

at::Tensor MLPImpl::forward(const at::Tensor& x) {
  if (proj_in_gate) return proj_out(at::silu(proj_in_gate(x)) * proj_in(x));
  return proj_out(at::gelu(proj_in(x), "tanh"));
}

TimeEmbeddingImpl::TimeEmbeddingImpl(int64_t hidden, int64_t out) {
  proj_in = register_module("proj_in", MakeLinear(256, hidden, true));
  proj_hid = register_module("proj_hid", MakeLinear(hidden, hidden, true));
  proj_out = register_module("proj_out", MakeLinear(hidden, out, true));
}

at::Tensor TimeEmbeddingImpl::Sinusoid(const at::Tensor& t, int64_t dim) {
  const int64_t half = dim / 2;
  auto exponent = at::arange(0, half, t.options().dtype(at::kFloat)) * (-std::log(10000.0));
  auto freqs = (exponent / static_cast<double>(half)).exp();
  auto e = t.to(at::kFloat).unsqueeze(1) * freqs.unsqueeze(0);
  return at::cat({e.sin(), e.cos()}, -1);
}

at::Tensor TimeEmbeddingImpl::forward(const at::Tensor& t, at::ScalarType dtype) {
  auto e = Sinusoid(t).to(dtype);
  return proj_out(at::silu(proj_hid(at::silu(proj_in(e)))));
}

at::Tensor Patchify(const at::Tensor& x, const Grid3& grid, const Grid3& patch) {
  const int64_t c = x.size(-1);
  return x
      .view({grid[0] / patch[0], patch[0], grid[1] / patch[1], patch[1], grid[2] / patch[2], patch[2], c})
      .permute({0, 2, 4, 1, 3, 5, 6})
      .reshape({-1, patch[0] * patch[1] * patch[2] * c});
}

at::Tensor Unpatchify(const at::Tensor& y, const Grid3& grid, const Grid3& patch) {
  const int64_t c = y.size(-1) / (patch[0] * patch[1] * patch[2]);
  return y.view({grid[0], grid[1], grid[2], patch[0], patch[1], patch[2], c})
      .permute({0, 3, 1, 4, 2, 5, 6})
      .reshape({-1, c});
}

PatchLinearImpl::PatchLinearImpl(int64_t in, int64_t out) {
  proj = register_module("proj", MakeLinear(in, out, true));
}

at::Tensor PatchLinearImpl::forward(const at::Tensor& x) { return proj(x); }

OutAdaImpl::OutAdaImpl(int64_t dim) {
  out_shift = register_parameter("out_shift", at::randn({dim}) / std::sqrt(static_cast<double>(dim)));
  out_scale = register_parameter("out_scale", at::randn({dim}) / std::sqrt(static_cast<double>(dim)) + 1.0);
}

}  // namespace seedvr::dit

#include "seedvr/models/vae/vae_model.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "seedvr/models/vae/causal_conv.h"
#include "seedvr/models/vae/memory_plan.h"
#include "seedvr/models/vae/vae_blocks.h"
#include "seedvr/models/vae/vae_config.h"

namespace seedvr::vae {

absl::Status ValidateVAEConfig(const VAEConfig& c) {
  if (c.code_path != "video_vae_v3")
    return absl::InvalidArgumentError(
        absl::StrCat("vae code_path: expected video_vae_v3, got ", c.code_path));
  if (c.act_fn != "silu")
    return absl::InvalidArgumentError(absl::StrCat("vae act_fn: only silu, got ", c.act_fn));
  const size_t n = c.block_out_channels.size();
  if (n < 2) return absl::InvalidArgumentError("vae block_out_channels: need >= 2 entries");
  for (const auto& t : c.down_block_types)
    if (t != "DownEncoderBlock3D")
      return absl::InvalidArgumentError(absl::StrCat("vae down_block_types: unsupported ", t));
  for (const auto& t : c.up_block_types)
    if (t != "UpDecoderBlock3D")
      return absl::InvalidArgumentError(absl::StrCat("vae up_block_types: unsupported ", t));
  if (c.down_block_types.size() != n || c.up_block_types.size() != n)
    return absl::InvalidArgumentError(
        "vae down/up_block_types: need one entry per block_out_channels entry");
  for (int64_t ch : c.block_out_channels)
    if (c.norm_num_groups <= 0 || ch % c.norm_num_groups != 0)
      return absl::InvalidArgumentError(absl::StrCat("vae norm_num_groups: ", c.norm_num_groups,
                                                     " does not divide channel count ", ch));
  if (c.spatial_downsample_factor != (int64_t{1} << (n - 1)))
    return absl::InvalidArgumentError(absl::StrCat(
        "vae spatial_downsample_factor: ", n, " blocks give ", int64_t{1} << (n - 1), ", got ",
        c.spatial_downsample_factor));
  if (c.temporal_scale_num < 0 || c.temporal_scale_num > static_cast<int64_t>(n) - 1 ||
      c.temporal_downsample_factor != (int64_t{1} << c.temporal_scale_num))
    return absl::InvalidArgumentError(absl::StrCat(
        "vae temporal_downsample_factor: must be 2^temporal_scale_num (", c.temporal_scale_num,
        "), got ", c.temporal_downsample_factor));
  if (c.use_quant_conv || c.use_post_quant_conv)
    return absl::InvalidArgumentError("vae use_quant_conv/use_post_quant_conv: not supported");
  if (c.slicing_split_size < 0 ||
      (c.slicing_split_size > 0 && c.slicing_split_size % c.temporal_downsample_factor != 0))
    return absl::InvalidArgumentError(absl::StrCat("vae slicing_split_size: must be 0 or a multiple of ",
                                                   c.temporal_downsample_factor, ", got ", c.slicing_split_size));
  return absl::OkStatus();
}

EncoderImpl::EncoderImpl(const VAEConfig& c) {
  const auto& ch = c.block_out_channels;
  const int64_t n = static_cast<int64_t>(ch.size()), g = c.norm_num_groups;
  conv_in_ = register_module(
      "conv_in", CausalConv3d(CausalConv3dOptions(c.in_channels, ch[0], {3, 3, 3})));
  auto blocks = register_module("down_blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < n; ++i) {
    const bool last = i == n - 1;
    // Time is halved in the last `temporal_scale_num` downsampling stages.
    const bool temporal = i >= n - 1 - c.temporal_scale_num && !last;
    blocks_.push_back(DownEncoderBlock3D(i == 0 ? ch[0] : ch[i - 1], ch[i],
                                         c.layers_per_block, g, !last, temporal));
    blocks->push_back(blocks_.back());
  }
  mid_ = register_module("mid_block", MidBlock3D(ch[n - 1], g));
  norm_out_ = register_module("conv_norm_out", FrameGroupNorm(g, ch[n - 1]));
  conv_out_ = register_module(
      "conv_out", CausalConv3d(CausalConv3dOptions(ch[n - 1], 2 * c.latent_channels, {3, 3, 3})));
}

at::Tensor EncoderImpl::forward(const at::Tensor& x) {
  at::Tensor h = conv_in_(x);
  for (auto& b : blocks_) h = b(h);
  h = mid_(h);
  return conv_out_(norm_out_(h, /*silu=*/true));
}

DecoderImpl::DecoderImpl(const VAEConfig& c) {
  std::vector<int64_t> ch(c.block_out_channels.rbegin(), c.block_out_channels.rend());
  const int64_t n = static_cast<int64_t>(ch.size()), g = c.norm_num_groups;
  conv_in_ = register_module(
      "conv_in", CausalConv3d(CausalConv3dOptions(c.latent_channels, ch[0], {3, 3, 3})));
  mid_ = register_module("mid_block", MidBlock3D(ch[0], g));
  auto blocks = register_module("up_blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < n; ++i) {
    const bool last = i == n - 1;
    const bool temporal = i < c.temporal_scale_num && !last;
    blocks_.push_back(UpDecoderBlock3D(i == 0 ? ch[0] : ch[i - 1], ch[i],
                                       c.layers_per_block + 1, g, !last, temporal));
    blocks->push_back(blocks_.back());
  }
  norm_out_ = register_module("conv_norm_out", FrameGroupNorm(g, ch[n - 1]));
  conv_out_ = register_module(
      "conv_out", CausalConv3d(CausalConv3dOptions(ch[n - 1], c.out_channels, {3, 3, 3})));
}

at::Tensor DecoderImpl::forward(const at::Tensor& z) {
  at::Tensor h = mid_(conv_in_(z));
  for (auto& b : blocks_) h = b(h);
  return conv_out_(norm_out_(h, /*silu=*/true));
}

at::Tensor Posterior::Sample(std::optional<at::Generator> gen) const {
  return Sample(at::randn(mean.sizes(), gen, mean.options()));
}

at::Tensor Posterior::Sample(const at::Tensor& eps) const { return mean + at::exp(0.5 * logvar) * eps; }

VideoVAEImpl::VideoVAEImpl(const VAEConfig& c) : config_(c) {
  const absl::Status ok = ValidateVAEConfig(c);
  TORCH_CHECK(ok.ok(), std::string(ok.message()));
  encoder_ = register_module("encoder", Encoder(c));
  decoder_ = register_module("decoder", Decoder(c));
}

at::ScalarType VideoVAEImpl::dtype() const {
  return encoder_->parameters().front().scalar_type();
}

absl::StatusOr<Posterior> VideoVAEImpl::Encode(const at::Tensor& video, const VAERunOptions& o) {
  at::Tensor x = video.dim() == 4 ? video.unsqueeze(2) : video;
  if (x.dim() != 5 || x.size(1) != config_.in_channels)
    return absl::InvalidArgumentError(absl::StrCat(
        "VAE encode: expected video (B, ", config_.in_channels, ", T, H, W), got [",
        absl::StrJoin(video.sizes(), ", "), "]"));
  const int64_t f = config_.spatial_downsample_factor;
  if (x.size(3) % f != 0 || x.size(4) % f != 0)
    return absl::InvalidArgumentError(absl::StrCat("VAE encode: H and W must be multiples of ",
                                                   f, ", got ", x.size(3), "x", x.size(4)));
  const int64_t tf = config_.temporal_downsample_factor;
  if (!IsValidFrameCount(x.size(2), tf)) {
    if (!o.pad_last_frame) return CheckFrameCount(x.size(2), tf);
    const int64_t pad = PaddedFrameCount(x.size(2), tf) - x.size(2);
    x = at::cat({x, x.narrow(2, x.size(2) - 1, 1).expand({-1, -1, pad, -1, -1})}, 2);
  }
  const VAEPlan plan = Resolve(o, PlanEncode(config_, x.size(2), x.size(3), x.size(4), at::elementSize(dtype())));
  last_plan_ = plan;
  ApplyMemoryLimits(o);
  try {
    at::NoGradGuard no_grad;
    x = x.to(dtype());
    at::Tensor h = EncodeRaw(x, plan.slice);
    const int64_t l = config_.latent_channels;
    return Posterior{h.narrow(1, 0, l), at::clamp(h.narrow(1, l, l), -30.0, 20.0)};
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("VAE encode failed: ", e.what()));
  }
}

absl::StatusOr<at::Tensor> VideoVAEImpl::Decode(const at::Tensor& z, const VAERunOptions& o) {
  at::Tensor x = z.dim() == 4 ? z.unsqueeze(2) : z;
  if (x.dim() != 5 || x.size(1) != config_.latent_channels)
    return absl::InvalidArgumentError(absl::StrCat(
        "VAE decode: expected latents (B, ", config_.latent_channels, ", T', h, w), got [",
        absl::StrJoin(z.sizes(), ", "), "]"));
  const int64_t f = config_.spatial_downsample_factor;
  const VAEPlan plan =
      Resolve(o, PlanDecode(config_, x.size(2), x.size(3) * f, x.size(4) * f, at::elementSize(dtype())));
  last_plan_ = plan;
  ApplyMemoryLimits(o);
  try {
    at::NoGradGuard no_grad;
    x = x.to(dtype());
    return DecodeRaw(x, plan.slice);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("VAE decode failed: ", e.what()));
  }
}

at::Tensor VideoVAEImpl::ToDiTLatent(const at::Tensor& z) const {
  TORCH_CHECK(z.dim() == 5 && z.size(0) == 1, "ToDiTLatent: expected (1, C, T, h, w), got ",
              z.sizes());
  return (z[0].permute({1, 2, 3, 0}) * config_.scaling_factor).contiguous();
}

at::Tensor VideoVAEImpl::FromDiTLatent(const at::Tensor& latent) const {
  TORCH_CHECK(latent.dim() == 4, "FromDiTLatent: expected (T, h, w, C), got ", latent.sizes());
  return (latent.permute({3, 0, 1, 2}) / config_.scaling_factor).unsqueeze(0).contiguous();
}

absl::StatusOr<at::Tensor> VideoVAEImpl::EncodeForDiT(const at::Tensor& video,
                                                      std::optional<at::Generator> gen,
                                                      const VAERunOptions& o) {
  auto post = Encode(video, o);
  if (!post.ok()) return post.status();
  at::NoGradGuard no_grad;
  return ToDiTLatent(gen.has_value() ? post->Sample(gen) : post->mean);
}

absl::StatusOr<at::Tensor> VideoVAEImpl::DecodeFromDiT(const at::Tensor& latent,
                                                       const VAERunOptions& o) {
  if (latent.dim() != 4 || latent.size(3) != config_.latent_channels)
    return absl::InvalidArgumentError(absl::StrCat(
        "DecodeFromDiT: expected (T', h, w, ", config_.latent_channels, "), got [",
        absl::StrJoin(latent.sizes(), ", "), "]"));
  return Decode(FromDiTLatent(latent), o);
}

VideoVAEImpl::StreamingScope::StreamingScope(torch::nn::Module& m, bool on) : m_(m) { Set(on); }

VideoVAEImpl::StreamingScope::~StreamingScope() { Set(false); }

void VideoVAEImpl::StreamingScope::Set(bool on) {
  for (const auto& child : m_.modules(/*include_self=*/true))
    if (auto s = std::dynamic_pointer_cast<CausalStreaming>(child)) s->SetStreaming(on);
}

int64_t VideoVAEImpl::SplitSize() const {
  return config_.slicing_split_size > 0 ? config_.slicing_split_size
                                        : config_.temporal_downsample_factor;
}

VAEPlan VideoVAEImpl::Resolve(const VAERunOptions& o, VAEPlan plan) const {
  const bool automatic = plan.slice;
  if (o.slicing == VAERunOptions::Switch::kOn) plan.slice = true;
  if (o.slicing == VAERunOptions::Switch::kOff) plan.slice = false;
  // The estimate belongs to the automatic plan only.
  if (plan.slice != automatic) plan.estimate_gb = -1;
  return plan;
}

void VideoVAEImpl::ApplyMemoryLimits(const VAERunOptions& o) {
  auto bytes = [](double option, double config) { return static_cast<int64_t>((option >= 0 ? option : config) * 1e9); };
  const int64_t conv = bytes(o.conv_max_mem_gb, config_.conv_max_mem_gb);
  const int64_t norm = bytes(o.norm_max_mem_gb, config_.norm_max_mem_gb);
  for (const auto& child : modules(/*include_self=*/false)) {
    if (auto c = std::dynamic_pointer_cast<CausalConv3dImpl>(child)) c->set_max_input_bytes(conv);
    if (auto n = std::dynamic_pointer_cast<FrameGroupNormImpl>(child)) n->set_max_bytes(norm);
  }
}

at::Tensor VideoVAEImpl::InTimeSlices(torch::nn::Module& module,
                                      const std::function<at::Tensor(const at::Tensor&)>& forward,
                                      const at::Tensor& x, int64_t per, bool slice) {
  const int64_t t = x.size(2);
  if (!slice || t <= 1 + per) return forward(x);
  StreamingScope scope(module, true);
  std::vector<at::Tensor> out;
  for (int64_t s = 0; s < t;) {
    const int64_t len = std::min(t - s, s == 0 ? 1 + per : per);
    out.push_back(forward(x.narrow(2, s, len)));
    s += len;
  }
  return at::cat(out, 2);
}

at::Tensor VideoVAEImpl::EncodeRaw(const at::Tensor& x, bool slice) {
  return InTimeSlices(*encoder_, [this](const at::Tensor& s) { return encoder_(s); }, x, SplitSize(), slice);
}

at::Tensor VideoVAEImpl::DecodeRaw(const at::Tensor& z, bool slice) {
  const int64_t per = std::max<int64_t>(SplitSize() / config_.temporal_downsample_factor, 1);
  return InTimeSlices(*decoder_, [this](const at::Tensor& s) { return decoder_(s); }, z, per, slice);
}

}  // namespace seedvr::vae

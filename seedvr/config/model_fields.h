// Field lists of the model configs (official key names), shared by the model
// files and the `model:`/`vae:` sections of a training config.
#pragma once

#include <string>
#include <vector>

#include "seedvr/config/yaml_fields.h"
#include "seedvr/models/dit/dit_config.h"
#include "seedvr/models/vae/vae_config.h"

namespace seedvr::config::internal {

// Upper bounds far above any released model (7B: width 3072, 36 layers, 24
// heads; the VAE: 512 channels), so that a typo is refused by key instead of
// aborting the allocation of a layer.
inline constexpr int64_t kMaxWidth = int64_t{1} << 16;
inline constexpr int64_t kMaxChannels = int64_t{1} << 14;
inline constexpr int64_t kMaxCount = 1024;  // layers, heads, head dims

template <class V>
void DiTFields(V& v, dit::DiTConfig& c) {
  v("code_path", c.code_path, OneOf({"dit_v2", "dit"}));
  v("vid_in_channels", c.vid_in_channels, InRange<int64_t>(1, kMaxChannels));
  v("vid_out_channels", c.vid_out_channels, InRange<int64_t>(1, kMaxChannels));
  v("vid_dim", c.vid_dim, InRange<int64_t>(1, kMaxWidth));
  v("vid_out_norm", c.vid_out_norm, OneOf({"fusedrms", "rms", "none", ""}));
  v("txt_in_dim", c.txt_in_dim, InRange<int64_t>(1, kMaxWidth));
  v("txt_in_norm", c.txt_in_norm);
  v("txt_dim", c.txt_dim, InRange<int64_t>(1, kMaxWidth));
  v("emb_dim", c.emb_dim, InRange<int64_t>(1, 6 * kMaxWidth));
  v("heads", c.heads, InRange<int64_t>(1, kMaxCount));
  v("head_dim", c.head_dim, InRange<int64_t>(2, kMaxCount));
  v("expand_ratio", c.expand_ratio, InRange<int64_t>(1, 64));
  v("norm", c.norm, OneOf({"fusedrms", "rms"}));
  v("norm_eps", c.norm_eps, InRange(0.0, 1.0));
  v("ada", c.ada, OneOf({"single"}));
  v("qk_bias", c.qk_bias);
  v("qk_norm", c.qk_norm, OneOf({"fusedrms", "rms"}));
  v("qk_rope", c.qk_rope);
  v("patch_size", c.patch_size);
  v("num_layers", c.num_layers, InRange<int64_t>(1, kMaxCount));
  v("mm_layers", c.mm_layers, InRange<int64_t>(0, kMaxCount));
  v("shared_mlp", c.shared_mlp);
  v("shared_qkv", c.shared_qkv);
  v("mlp_type", c.mlp_type, OneOf({"swiglu", "normal"}));
  v("msa_type", c.msa_type);
  v("block_type", c.block_type);
  v("window", c.window);
  v("window_method", c.window_method);
  v("rope_type", c.rope_type, OneOf({"mmrope3d"}));
  v("rope_dim", c.rope_dim, InRange<int64_t>(0, kMaxCount));
  v("gradient_checkpointing", c.gradient_checkpointing);
  v("compute_dtype", c.compute_dtype, OneOf({"float32", "bfloat16"}));
}

template <class V>
void VAEFields(V& v, vae::VAEConfig& c) {
  v("code_path", c.code_path, OneOf({"video_vae_v3"}));
  v("act_fn", c.act_fn, OneOf({"silu"}));
  v("block_out_channels", c.block_out_channels, Each(InRange<int64_t>(1, kMaxChannels)));
  v("down_block_types", c.down_block_types);
  v("up_block_types", c.up_block_types);
  v("in_channels", c.in_channels, InRange<int64_t>(1, kMaxChannels));
  v("out_channels", c.out_channels, InRange<int64_t>(1, kMaxChannels));
  v("latent_channels", c.latent_channels, InRange<int64_t>(1, kMaxChannels));
  v("layers_per_block", c.layers_per_block, InRange<int64_t>(1, 64));
  v("norm_num_groups", c.norm_num_groups, InRange<int64_t>(1, kMaxChannels));
  v("slicing_sample_min_size", c.slicing_sample_min_size, AtLeast<int64_t>(1));
  v("temporal_scale_num", c.temporal_scale_num, InRange<int64_t>(0, 16));
  v("inflation_mode", c.inflation_mode, OneOf({"pad", "tail"}));
  v("spatial_downsample_factor", c.spatial_downsample_factor, InRange<int64_t>(1, 64));
  v("temporal_downsample_factor", c.temporal_downsample_factor, InRange<int64_t>(1, 64));
  v("use_quant_conv", c.use_quant_conv);
  v("use_post_quant_conv", c.use_post_quant_conv);
  v("freeze_encoder", c.freeze_encoder);
  v("scaling_factor", c.scaling_factor, InRange(1e-6, 1e6));
  v("slicing_split_size", c.slicing_split_size, AtLeast<int64_t>(0));
  v("memory_limit_gb", c.memory_limit_gb, InRange(0.0, 1e6));
  v("conv_max_mem_gb", c.conv_max_mem_gb, InRange(0.0, 1e6));
  v("norm_max_mem_gb", c.norm_max_mem_gb, InRange(0.0, 1e6));
  // Retired with the approximate spatial tiles; still in the configs that
  // older checkpoints store, so it is read and dropped.
  v.Ignore("tile_overlap");
}

// Cross-field rules; per-layer lists left empty are filled with the
// official pattern (regular/shifted windows alternating).
std::vector<std::string> ValidateDiT(dit::DiTConfig& c, const std::string& path);
std::vector<std::string> ValidateVAE(vae::VAEConfig& c, const std::string& path);

}  // namespace seedvr::config::internal

// Hyperparameters of the SeedVR causal video VAE
// (video_vae_v3/s8_c16_t4_inflation_sd3.yaml) under the official key names,
// plus the project's memory settings. Plain data: no LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace seedvr::vae {

struct VAEConfig {
  std::string code_path = "video_vae_v3";
  std::string act_fn = "silu";
  std::vector<int64_t> block_out_channels = {128, 256, 512, 512};
  std::vector<std::string> down_block_types = {
      "DownEncoderBlock3D", "DownEncoderBlock3D", "DownEncoderBlock3D",
      "DownEncoderBlock3D"};
  std::vector<std::string> up_block_types = {
      "UpDecoderBlock3D", "UpDecoderBlock3D", "UpDecoderBlock3D",
      "UpDecoderBlock3D"};
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  int64_t latent_channels = 16;
  int64_t layers_per_block = 2;
  int64_t norm_num_groups = 32;
  int64_t slicing_sample_min_size = 4;
  int64_t temporal_scale_num = 2;
  std::string inflation_mode = "pad";
  int64_t spatial_downsample_factor = 8;
  int64_t temporal_downsample_factor = 4;
  bool use_quant_conv = false;
  bool use_post_quant_conv = false;
  bool freeze_encoder = false;

  // Inference settings of the official pipeline (set_causal_slicing,
  // set_memory_limit) and the project's activation budget; every one of
  // them is exact (memory_plan.h).
  double scaling_factor = 0.9152;   // latent = z * scaling_factor
  int64_t slicing_split_size = 4;   // causal temporal slicing; 0 disables
  // Bounds in GB (1e9 bytes; the official 0.5 GiB are 0.54 GB); 0: none.
  double memory_limit_gb = 0.5;     // activation budget: full sequence or temporal slices
  double conv_max_mem_gb = 0.5;     // convolutions with larger inputs run in spatial tiles
  double norm_max_mem_gb = 0.5;     // GroupNorms with larger inputs run in chunks of groups
};

}  // namespace seedvr::vae

// Hyperparameters of the SeedVR2 DiT ("NaDiT"), under the official config
// key names so that an official model YAML maps onto this struct one to one.
//
// Two code paths share the struct:
//   code_path "dit_v2" - the 3B family (mm_layers, SwiGLU, mmrope3d, output
//                        RMSNorm + modulation);
//   code_path "dit"    - the 7B family (qk_rope pixel RoPE on video only,
//                        GELU-tanh MLP with biases, no output norm).
// Keys that one path ignores keep their defaults. Plain data: no LibTorch.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace seedvr::dit {

struct DiTConfig {
  std::string code_path = "dit_v2";
  int64_t vid_in_channels = 33;
  int64_t vid_out_channels = 16;
  int64_t vid_dim = 2560;
  std::string vid_out_norm = "fusedrms";  // "" or "none": no output norm (7B)
  int64_t txt_in_dim = 5120;
  std::string txt_in_norm = "fusedln";    // unused when txt_in_dim is an int
  int64_t txt_dim = 2560;
  int64_t emb_dim = 15360;
  int64_t heads = 20;
  int64_t head_dim = 128;
  int64_t expand_ratio = 4;
  std::string norm = "fusedrms";
  double norm_eps = 1e-5;
  std::string ada = "single";
  bool qk_bias = false;
  std::string qk_norm = "fusedrms";
  bool qk_rope = true;                    // 7B path only
  std::array<int64_t, 3> patch_size = {1, 2, 2};
  int64_t num_layers = 32;
  int64_t mm_layers = 10;                 // 3B path only
  bool shared_mlp = false;                // 7B path only; must be false
  bool shared_qkv = false;                // 7B path only; must be false
  std::string mlp_type = "swiglu";        // "swiglu" (3B) or "normal" (7B)
  std::string msa_type = "None";          // unused by the official code
  std::vector<std::string> block_type;    // per layer, "mmdit_sr"
  std::vector<std::array<int64_t, 3>> window;  // per layer window counts (t,h,w)
  std::vector<std::string> window_method;      // per layer
  std::string rope_type = "mmrope3d";     // 3B path only
  int64_t rope_dim = 128;                 // 3B path only

  // Project options, not official keys.
  bool gradient_checkpointing = false;  // recompute each block in backward
  std::string compute_dtype = "float32";  // "float32" or "bfloat16" (autocast)
  // The spatial token grid (h, w) window sizes are computed for; {0, 0}:
  // each input's own grid (the official rule). Training sets the grid of the
  // frame restoration will see (training.window_frame), so crops meet
  // inference's window sizes and shifted windows. Not a config key and not
  // saved with the model: restoration always uses the official rule.
  std::array<int64_t, 2> window_reference_grid = {0, 0};

  bool is_3b_path() const { return code_path == "dit_v2"; }
};

// The released configurations (configs_3b/main.yaml, configs_7b/main.yaml).
DiTConfig OfficialDiT3B();
DiTConfig OfficialDiT7B();

}  // namespace seedvr::dit

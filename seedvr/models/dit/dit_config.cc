// The two released DiT configurations (configs_3b/main.yaml and
// configs_7b/main.yaml), with the official `${eval:...}` expressions and
// per-layer lists expanded to concrete values (spec §1.1).
#include "seedvr/models/dit/dit_config.h"

namespace seedvr::dit {
namespace {

// Both releases use 4x3x3 window counts in every layer and alternate regular
// (even layers) and shifted (odd layers) 720p-relative windows.
void FillPerLayerLists(DiTConfig& c) {
  c.block_type.assign(c.num_layers, "mmdit_sr");
  c.window.assign(c.num_layers, {4, 3, 3});
  c.window_method.clear();
  for (int64_t i = 0; i < c.num_layers; ++i) {
    c.window_method.push_back(i % 2 == 0 ? "720pwin_by_size_bysize"
                                         : "720pswin_by_size_bysize");
  }
}

}  // namespace

DiTConfig OfficialDiT3B() {
  DiTConfig c;
  c.code_path = "dit_v2";
  c.vid_in_channels = 33;
  c.vid_out_channels = 16;
  c.vid_dim = 2560;
  c.vid_out_norm = "fusedrms";
  c.txt_in_dim = 5120;
  c.txt_in_norm = "fusedln";
  c.txt_dim = 2560;
  c.emb_dim = 6 * 2560;
  c.heads = 20;
  c.head_dim = 128;
  c.expand_ratio = 4;
  c.norm = "fusedrms";
  c.norm_eps = 1e-5;
  c.ada = "single";
  c.qk_bias = false;
  c.qk_norm = "fusedrms";
  c.patch_size = {1, 2, 2};
  c.num_layers = 32;
  c.mm_layers = 10;
  c.mlp_type = "swiglu";
  c.msa_type = "None";
  c.rope_type = "mmrope3d";
  c.rope_dim = 128;
  FillPerLayerLists(c);
  return c;
}

// The 7B (v1 code) shares the 3B's channels, text width, head size, norms,
// modulation, patch and windows; the rest differs.
DiTConfig OfficialDiT7B() {
  DiTConfig c = OfficialDiT3B();
  c.code_path = "dit";
  c.vid_dim = 3072;
  c.vid_out_norm = "none";  // the v1 NaDiT has no output norm or modulation
  c.txt_dim = 3072;
  c.emb_dim = 6 * 3072;
  c.heads = 24;
  c.qk_rope = true;
  c.num_layers = 36;
  c.mm_layers = 0;  // not a key of the 7B config: every layer is dual-stream
  c.shared_mlp = false;
  c.shared_qkv = false;
  c.mlp_type = "normal";
  FillPerLayerLists(c);
  return c;
}

}  // namespace seedvr::dit

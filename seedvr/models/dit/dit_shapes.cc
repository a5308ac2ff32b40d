#include "seedvr/models/dit/dit_shapes.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "seedvr/models/dit/window.h"

namespace seedvr::dit {
namespace {

absl::Status Invalid(const std::string& key, const std::string& expected, const std::string& got) {
  return absl::InvalidArgumentError(
      absl::StrCat("DiT config: `", key, "` must be ", expected, ", got ", got));
}

}  // namespace

absl::Status ValidateDiTConfig(const DiTConfig& c) {
  if (c.code_path != "dit_v2" && c.code_path != "dit") {
    return Invalid("code_path", "\"dit_v2\" (3B family) or \"dit\" (7B family)",
                   "\"" + c.code_path + "\"");
  }
  const bool v2 = c.is_3b_path();
  auto positive = [](const char* key, int64_t v) -> absl::Status {
    if (v <= 0) return Invalid(key, "positive", std::to_string(v));
    return absl::OkStatus();
  };
  for (auto [key, v] : {std::pair<const char*, int64_t>{"vid_in_channels", c.vid_in_channels},
                        {"vid_out_channels", c.vid_out_channels},
                        {"vid_dim", c.vid_dim},
                        {"txt_in_dim", c.txt_in_dim},
                        {"heads", c.heads},
                        {"head_dim", c.head_dim},
                        {"expand_ratio", c.expand_ratio},
                        {"num_layers", c.num_layers}}) {
    if (auto s = positive(key, v); !s.ok()) return s;
  }
  for (int a = 0; a < 3; ++a) {
    if (c.patch_size[a] <= 0) return Invalid("patch_size", "three positive ints", absl::StrJoin(c.patch_size, ","));
  }
  if (c.txt_dim != c.vid_dim) {
    return Invalid("txt_dim", "equal to vid_dim (" + std::to_string(c.vid_dim) + ")",
                   std::to_string(c.txt_dim));
  }
  if (c.emb_dim != 6 * c.vid_dim) {
    return Invalid("emb_dim", "6*vid_dim = " + std::to_string(6 * c.vid_dim), std::to_string(c.emb_dim));
  }
  if (c.ada != "single") return Invalid("ada", "\"single\"", "\"" + c.ada + "\"");
  if (c.norm != "fusedrms" && c.norm != "rms") return Invalid("norm", "\"fusedrms\"", "\"" + c.norm + "\"");
  if (c.qk_norm != "fusedrms" && c.qk_norm != "rms") {
    return Invalid("qk_norm", "\"fusedrms\"", "\"" + c.qk_norm + "\"");
  }
  if (!(c.norm_eps > 0)) return Invalid("norm_eps", "positive", std::to_string(c.norm_eps));
  const std::string want_mlp = v2 ? "swiglu" : "normal";
  if (c.mlp_type != want_mlp) {
    return Invalid("mlp_type", "\"" + want_mlp + "\" for code_path " + c.code_path, "\"" + c.mlp_type + "\"");
  }
  if (v2) {
    if (c.mm_layers < 0 || c.mm_layers > c.num_layers) {
      return Invalid("mm_layers", "in [0, num_layers]", std::to_string(c.mm_layers));
    }
    if (c.rope_type != "mmrope3d" && c.rope_type != "none" && c.rope_type != "None" && !c.rope_type.empty()) {
      return Invalid("rope_type", "\"mmrope3d\" (or none)", "\"" + c.rope_type + "\"");
    }
    if (c.rope_type == "mmrope3d" && (c.rope_dim < 6 || c.rope_dim > c.head_dim)) {
      return Invalid("rope_dim", "in [6, head_dim]", std::to_string(c.rope_dim));
    }
  } else {
    if (c.shared_mlp || c.shared_qkv) {
      return Invalid("shared_mlp/shared_qkv", "false (the released 7B keeps separate weights)", "true");
    }
    if (c.qk_rope && c.head_dim < 12) return Invalid("head_dim", "at least 12 with qk_rope", std::to_string(c.head_dim));
  }
  const auto n = static_cast<size_t>(c.num_layers);
  if (c.window.size() != n) {
    return Invalid("window", "a list of num_layers = " + std::to_string(n) + " entries",
                   std::to_string(c.window.size()) + " entries");
  }
  if (c.window_method.size() != n) {
    return Invalid("window_method", "a list of num_layers = " + std::to_string(n) + " entries",
                   std::to_string(c.window_method.size()) + " entries");
  }
  if (!c.block_type.empty() && c.block_type.size() != n) {
    return Invalid("block_type", "a list of num_layers entries", std::to_string(c.block_type.size()) + " entries");
  }
  for (size_t i = 0; i < n; ++i) {
    if (!dit::ParseWindowMethod(c.window_method[i])) {
      return Invalid(absl::StrCat("window_method[", i, "]"),
                     "\"720pwin_by_size_bysize\" or \"720pswin_by_size_bysize\"",
                     "\"" + c.window_method[i] + "\"");
    }
    for (int a = 0; a < 3; ++a) {
      if (c.window[i][a] <= 0) {
        return Invalid(absl::StrCat("window[", i, "]"), "three positive counts", absl::StrJoin(c.window[i], ","));
      }
    }
    if (!c.block_type.empty() && c.block_type[i] != "mmdit_sr") {
      return Invalid(absl::StrCat("block_type[", i, "]"), "\"mmdit_sr\"", "\"" + c.block_type[i] + "\"");
    }
  }
  return absl::OkStatus();
}

int64_t DiTMlpHidden(const DiTConfig& c) {
  if (c.mlp_type == "swiglu") {
    // int(2 * dim * ratio / 3), rounded up to a multiple of 256.
    const int64_t h = (2 * c.vid_dim * c.expand_ratio) / 3;
    return 256 * ((h + 255) / 256);
  }
  return c.expand_ratio * c.vid_dim;
}

bool DiTHasOutputNorm(const DiTConfig& c) {
  return c.is_3b_path() && !c.vid_out_norm.empty() && c.vid_out_norm != "none" && c.vid_out_norm != "None";
}

bool DiTLayerShared(const DiTConfig& c, int64_t layer) { return c.is_3b_path() && layer >= c.mm_layers; }

int64_t DiTRopeFreqCount(const DiTConfig& c) {
  if (c.is_3b_path()) return c.rope_type == "mmrope3d" ? (c.rope_dim / 3) / 2 : 0;
  return c.qk_rope ? ((c.head_dim / 2) / 3) / 2 : 0;
}

std::vector<DiTTensorShape> DiTStateDictShapes(const DiTConfig& c) {
  std::vector<DiTTensorShape> out;
  auto add = [&out](std::string name, std::vector<int64_t> shape, bool buffer = false) {
    out.push_back({std::move(name), std::move(shape), buffer});
  };
  const int64_t d = c.vid_dim, inner = c.heads * c.head_dim;
  const int64_t patch = c.patch_size[0] * c.patch_size[1] * c.patch_size[2];
  const int64_t hid = std::max(c.vid_dim, c.txt_dim);
  const int64_t mlp = DiTMlpHidden(c);
  const bool v2 = c.is_3b_path();
  add("vid_in.proj.weight", {d, c.vid_in_channels * patch});
  add("vid_in.proj.bias", {d});
  add("txt_in.weight", {c.txt_dim, c.txt_in_dim});
  add("txt_in.bias", {c.txt_dim});
  add("emb_in.proj_in.weight", {hid, 256});
  add("emb_in.proj_in.bias", {hid});
  add("emb_in.proj_hid.weight", {hid, hid});
  add("emb_in.proj_hid.bias", {hid});
  add("emb_in.proj_out.weight", {c.emb_dim, hid});
  add("emb_in.proj_out.bias", {c.emb_dim});
  const int64_t freqs = DiTRopeFreqCount(c);
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string b = absl::StrCat("blocks.", i, ".");
    const std::vector<std::string> streams =
        DiTLayerShared(c, i) ? std::vector<std::string>{"all"} : std::vector<std::string>{"vid", "txt"};
    for (const auto& s : streams) {
      add(b + "attn.proj_qkv." + s + ".weight", {3 * inner, d});
      if (c.qk_bias) add(b + "attn.proj_qkv." + s + ".bias", {3 * inner});
    }
    for (const auto& s : streams) {
      add(b + "attn.proj_out." + s + ".weight", {d, inner});
      add(b + "attn.proj_out." + s + ".bias", {d});
    }
    for (const char* nq : {"norm_q", "norm_k"}) {
      for (const auto& s : streams) add(b + "attn." + nq + "." + s + ".weight", {c.head_dim});
    }
    if (freqs > 0) add(b + "attn.rope.rope.freqs", {freqs}, /*buffer=*/true);
    for (const auto& s : streams) {
      const std::string m = b + "mlp." + s + ".";
      if (v2) {
        add(m + "proj_in_gate.weight", {mlp, d});
        add(m + "proj_out.weight", {d, mlp});
        add(m + "proj_in.weight", {mlp, d});
      } else {
        add(m + "proj_in.weight", {mlp, d});
        add(m + "proj_in.bias", {mlp});
        add(m + "proj_out.weight", {d, mlp});
        add(m + "proj_out.bias", {d});
      }
    }
    for (const auto& s : streams) {
      for (const char* p : {"attn_shift", "attn_scale", "attn_gate", "mlp_shift", "mlp_scale", "mlp_gate"}) {
        add(b + "ada." + s + "." + p, {d});
      }
    }
  }
  if (DiTHasOutputNorm(c)) {
    add("vid_out_norm.weight", {d});
    add("vid_out_ada.out_shift", {d});
    add("vid_out_ada.out_scale", {d});
  }
  add("vid_out.proj.weight", {c.vid_out_channels * patch, d});
  add("vid_out.proj.bias", {c.vid_out_channels * patch});
  return out;
}

int64_t CountDiTParameters(const DiTConfig& c) {
  int64_t n = 0;
  for (const auto& t : DiTStateDictShapes(c)) {
    if (t.buffer) continue;
    int64_t e = 1;
    for (int64_t s : t.shape) e *= s;
    n += e;
  }
  return n;
}

}  // namespace seedvr::dit

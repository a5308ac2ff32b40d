#include "seedvr/config/model_config.h"

#include <yaml-cpp/yaml.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "seedvr/config/model_fields.h"
#include "seedvr/core/io.h"

namespace seedvr::config {
namespace internal {
namespace {

std::string At(const std::string& path, const char* key) {
  return path.empty() ? key : absl::StrCat(path, ".", key);
}

}  // namespace

std::vector<std::string> ValidateDiT(dit::DiTConfig& c, const std::string& path) {
  std::vector<std::string> e;
  const size_t n = static_cast<size_t>(c.num_layers);
  if (c.block_type.empty()) c.block_type.assign(n, "mmdit_sr");
  if (c.window.empty()) c.window.assign(n, {4, 3, 3});
  if (c.window_method.empty()) {
    for (size_t i = 0; i < n; ++i) {
      c.window_method.push_back(i % 2 == 0 ? "720pwin_by_size_bysize" : "720pswin_by_size_bysize");
    }
  }
  auto per_layer = [&](const char* key, size_t size) {
    if (size != n) e.push_back(absl::StrCat(At(path, key), ": expected one entry per layer (", n, "), got ", size));
  };
  per_layer("block_type", c.block_type.size());
  per_layer("window", c.window.size());
  per_layer("window_method", c.window_method.size());
  for (size_t i = 0; i < c.block_type.size(); ++i) {
    if (c.block_type[i] != "mmdit_sr") e.push_back(absl::StrCat(At(path, "block_type"), "[", i, "]: expected mmdit_sr, got '", c.block_type[i], "'"));
  }
  for (size_t i = 0; i < c.window_method.size(); ++i) {
    const std::string& m = c.window_method[i];
    if (m != "720pwin_by_size_bysize" && m != "720pswin_by_size_bysize") {
      e.push_back(absl::StrCat(At(path, "window_method"), "[", i, "]: expected 720pwin_by_size_bysize or 720pswin_by_size_bysize, got '", m, "'"));
    }
  }
  for (size_t i = 0; i < c.window.size(); ++i) {
    for (int64_t w : c.window[i]) {
      if (w < 1) e.push_back(absl::StrCat(At(path, "window"), "[", i, "]: expected positive window counts"));
    }
  }
  if (c.heads * c.head_dim != c.vid_dim) {
    e.push_back(absl::StrCat(At(path, "heads"), ": expected heads * head_dim == vid_dim (", c.vid_dim, "), got ", c.heads, " * ", c.head_dim));
  }
  if (c.txt_dim != c.vid_dim) e.push_back(absl::StrCat(At(path, "txt_dim"), ": expected vid_dim (", c.vid_dim, "), got ", c.txt_dim));
  if (c.emb_dim != 6 * c.vid_dim) e.push_back(absl::StrCat(At(path, "emb_dim"), ": expected 6 * vid_dim (", 6 * c.vid_dim, "), got ", c.emb_dim));
  for (int64_t p : c.patch_size) {
    if (p < 1 || p > 64) e.push_back(absl::StrCat(At(path, "patch_size"), ": expected sizes in [1, 64], got ", p));
  }
  if (c.is_3b_path()) {
    if (c.mm_layers > c.num_layers) e.push_back(absl::StrCat(At(path, "mm_layers"), ": expected at most num_layers (", c.num_layers, "), got ", c.mm_layers));
    if (c.mlp_type != "swiglu") e.push_back(absl::StrCat(At(path, "mlp_type"), ": the dit_v2 code path uses swiglu, got '", c.mlp_type, "'"));
    if (c.rope_dim > c.head_dim) {
      e.push_back(absl::StrCat(At(path, "rope_dim"), ": expected at most head_dim (", c.head_dim, "), got ", c.rope_dim));
    }
  } else {
    if (c.mlp_type != "normal") e.push_back(absl::StrCat(At(path, "mlp_type"), ": the dit code path uses normal, got '", c.mlp_type, "'"));
    if (c.shared_mlp || c.shared_qkv) e.push_back(absl::StrCat(At(path, "shared_mlp"), ": shared weights are not part of the dit code path"));
  }
  return e;
}

std::vector<std::string> ValidateVAE(vae::VAEConfig& c, const std::string& path) {
  std::vector<std::string> e;
  const size_t n = c.block_out_channels.size();
  if (n < 1) e.push_back(absl::StrCat(At(path, "block_out_channels"), ": expected at least one block"));
  if (c.down_block_types.size() != n || c.up_block_types.size() != n) {
    e.push_back(absl::StrCat(At(path, "down_block_types"), ": expected as many down and up blocks as block_out_channels (", n, ")"));
  }
  for (int64_t ch : c.block_out_channels) {
    if (ch < 1 || ch % c.norm_num_groups != 0) {
      e.push_back(absl::StrCat(At(path, "block_out_channels"), ": expected multiples of norm_num_groups (", c.norm_num_groups, "), got ", ch));
    }
  }
  if (c.temporal_scale_num >= static_cast<int64_t>(n)) {
    e.push_back(absl::StrCat(At(path, "temporal_scale_num"), ": expected fewer than the number of blocks (", n, ")"));
  }
  if (c.use_quant_conv || c.use_post_quant_conv) {
    e.push_back(absl::StrCat(At(path, "use_quant_conv"), ": quant convs are not part of the SeedVR VAE"));
  }
  return e;
}

}  // namespace internal

namespace {

template <class C, class F, class V>
absl::StatusOr<C> LoadFlat(const std::string& path, F fields, V validate) {
  // The same limit as a training config (config.cc).
  absl::StatusOr<uint64_t> size = core::CheckInputFile(path, "config file", uint64_t{16} << 20);
  if (!size.ok()) return size.status();
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& ex) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", ex.what()));
  }
  if (!root.IsMap()) return absl::InvalidArgumentError(absl::StrCat(path, ": expected a mapping of keys"));
  C config;
  std::vector<std::string> errors;
  internal::Reader reader(root, "", &errors);
  fields(reader, config);
  reader.Finish();
  if (errors.empty()) errors = validate(config, "");
  if (!errors.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", absl::StrJoin(errors, "; ")));
  }
  return config;
}

}  // namespace

absl::StatusOr<dit::DiTConfig> LoadDiTConfigFile(const std::string& path) {
  return LoadFlat<dit::DiTConfig>(
      path, [](auto& v, dit::DiTConfig& c) { internal::DiTFields(v, c); }, internal::ValidateDiT);
}

absl::StatusOr<vae::VAEConfig> LoadVAEConfigFile(const std::string& path) {
  return LoadFlat<vae::VAEConfig>(
      path, [](auto& v, vae::VAEConfig& c) { internal::VAEFields(v, c); }, internal::ValidateVAE);
}

}  // namespace seedvr::config

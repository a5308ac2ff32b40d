// The SeedVR2 DiT ("NaDiT"); see nadit.h.
#include "seedvr/models/dit/nadit.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "seedvr/core/device.h"

namespace seedvr::dit {

RopeKind DiTRopeKind(const DiTConfig& c) {
  if (DiTRopeFreqCount(c) == 0) return RopeKind::kNone;
  return c.is_3b_path() ? RopeKind::kMMLang3d : RopeKind::kPixel3d;
}

at::Tensor DiTRopeFreqs(const DiTConfig& c) {
  switch (DiTRopeKind(c)) {
    case RopeKind::kMMLang3d: return LangRopeFreqs(c.rope_dim / 3);
    case RopeKind::kPixel3d: return PixelRopeFreqs((c.head_dim / 2) / 3);
    default: return at::zeros({0}, at::kFloat);
  }
}

NaDiTImpl::NaDiTImpl(DiTConfig config) : config_(std::move(config)) {
  if (auto s = ValidateDiTConfig(config_); !s.ok()) TORCH_CHECK(false, std::string(s.message()));
  const auto& c = config_;
  const int64_t d = c.vid_dim;
  const int64_t patch = c.patch_size[0] * c.patch_size[1] * c.patch_size[2];
  const bool v2 = c.is_3b_path();
  vid_in = register_module("vid_in", PatchLinear(c.vid_in_channels * patch, d));
  txt_in = register_module("txt_in", MakeLinear(c.txt_in_dim, c.txt_dim, true));
  emb_in = register_module("emb_in", TimeEmbedding(std::max(c.vid_dim, c.txt_dim), c.emb_dim));
  blocks = register_module("blocks", torch::nn::ModuleList());
  const at::Tensor freqs = DiTRopeFreqs(c);
  for (int64_t i = 0; i < c.num_layers; ++i) {
    BlockOptions o;
    o.attn.dim = d;
    o.attn.heads = c.heads;
    o.attn.head_dim = c.head_dim;
    o.attn.qk_bias = c.qk_bias;
    o.attn.eps = c.norm_eps;
    o.attn.shared = DiTLayerShared(c, i);
    o.attn.rope_freqs = freqs.numel();
    o.attn.rope_init = freqs;
    o.mlp_hidden = DiTMlpHidden(c);
    o.swiglu = c.mlp_type == "swiglu";
    o.shared = DiTLayerShared(c, i);
    o.last = i + 1 == c.num_layers;
    o.last_txt_unmodulated = v2 && o.last;
    o.eps = c.norm_eps;
    MMBlock block(o);
    blocks->push_back(block);
    block_list_.push_back(block);
    WindowMethod m = *ParseWindowMethod(c.window_method[i]);
    layer_plan_key_.push_back(PlanKey(c.window[i], m));
  }
  if (DiTHasOutputNorm(c)) {
    vid_out_norm = register_module("vid_out_norm", RMSNorm(d, c.norm_eps, true));
    vid_out_ada = register_module("vid_out_ada", OutAda(d));
  }
  vid_out = register_module("vid_out", PatchLinear(d, c.vid_out_channels * patch));
}

at::Tensor NaDiTImpl::forward(const at::Tensor& vid, const at::Tensor& vid_shape, const at::Tensor& txt,
                              const at::Tensor& txt_shape, const at::Tensor& timestep) {
  return Run(vid, vid_shape, txt, txt_shape, timestep, {}, nullptr);
}

std::vector<at::Tensor> NaDiTImpl::Features(const at::Tensor& vid, const at::Tensor& vid_shape,
                                            const at::Tensor& txt, const at::Tensor& txt_shape,
                                            const at::Tensor& timestep, const std::vector<int64_t>& layers) {
  TORCH_CHECK(!layers.empty() && std::is_sorted(layers.begin(), layers.end()) && layers.front() >= 0 &&
                  layers.back() < config_.num_layers,
              "NaDiT::Features: layers must be ascending in [0, ", config_.num_layers, ")");
  std::vector<at::Tensor> features;
  Run(vid, vid_shape, txt, txt_shape, timestep, layers, &features);
  return features;
}

at::Tensor NaDiTImpl::Run(const at::Tensor& vid, const at::Tensor& vid_shape, const at::Tensor& txt,
                          const at::Tensor& txt_shape, const at::Tensor& timestep, const std::vector<int64_t>& taps,
                          std::vector<at::Tensor>* features) {
  const auto& c = config_;
  const Grid3 patch = c.patch_size;
  CheckInputs(vid, vid_shape, txt, txt_shape, timestep);
  const int64_t batch = vid_shape.size(0);
  auto vs = vid_shape.to(at::kCPU).to(at::kLong).contiguous();
  auto ts = txt_shape.to(at::kCPU).to(at::kLong).contiguous();
  std::vector<Grid3> latent(batch), grids(batch);
  std::vector<int64_t> txt_lens(batch);
  for (int64_t b = 0; b < batch; ++b) {
    for (int a = 0; a < 3; ++a) {
      latent[b][a] = vs[b][a].item<int64_t>();
      TORCH_CHECK(latent[b][a] > 0 && latent[b][a] % patch[a] == 0, "NaDiT: vid_shape[", b, "] = (",
                  latent[b][0], ",", latent[b][1], ",", latent[b][2], ") must be positive and divisible by patch_size (",
                  patch[0], ",", patch[1], ",", patch[2], ")");
      grids[b][a] = latent[b][a] / patch[a];
    }
    txt_lens[b] = ts[b][0].item<int64_t>();
    TORCH_CHECK(txt_lens[b] >= 0, "NaDiT: txt_shape[", b, "] is negative");
  }
  auto layout = SequenceLayout::Make(grids, txt_lens);
  TORCH_CHECK(layout.txt_total == txt.size(0), "NaDiT: txt has ", txt.size(0), " rows but txt_shape sums to ",
              layout.txt_total);

  const bool bf16 = c.compute_dtype == "bfloat16" || c.compute_dtype == "bf16";
  const auto device = vid.device();
  core::AutocastScope autocast(device.type(), bf16);
  const auto wdtype = vid_in->proj->weight.scalar_type();

  // Patchify per sample, then the input projections.
  std::vector<at::Tensor> pieces;
  int64_t off = 0;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t n = latent[b][0] * latent[b][1] * latent[b][2];
    pieces.push_back(Patchify(vid.narrow(0, off, n), latent[b], patch));
    off += n;
  }
  // Under sequence parallelism everything up to attention and after it is
  // per token, so it runs on this rank's shard.
  auto shard = [&](const at::Tensor& x) { return sp_ ? parallel::ScatterSequence(x, sp_) : x; };
  auto x_v = vid_in(shard(at::cat(pieces)).to(wdtype));
  auto x_t = txt_in(shard(txt).to(wdtype));
  auto emb = emb_in(timestep, wdtype);  // [B, 6D]

  // Per-forward context shared by the blocks.
  TokenSamples vid_samples{batch, {}}, txt_samples{batch, {}};
  if (batch > 1) {
    std::vector<int64_t> sv, st;
    for (int64_t b = 0; b < batch; ++b) {
      const auto& g = grids[b];
      sv.insert(sv.end(), g[0] * g[1] * g[2], b);
      st.insert(st.end(), txt_lens[b], b);
    }
    vid_samples.sample_of_token = shard(at::tensor(c10::ArrayRef<int64_t>(sv), at::kLong)).to(device);
    txt_samples.sample_of_token = shard(at::tensor(c10::ArrayRef<int64_t>(st), at::kLong)).to(device);
  }
  const RopeKind rope_kind = DiTRopeKind(c);
  const at::Tensor freqs = DiTRopeFreqs(c);
  RopeTable txt_rope;
  if (rope_kind == RopeKind::kMMLang3d) {
    txt_rope = TextRopeTable(freqs, txt_lens);
    txt_rope = {txt_rope.cos.to(device), txt_rope.sin.to(device)};
  }
  std::map<std::string, std::shared_ptr<WindowPlan>> plans;
  std::map<std::string, std::shared_ptr<const BlockContext>> contexts;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string& key = layer_plan_key_[i];
    if (plans.count(key)) continue;
    auto plan = std::make_shared<WindowPlan>(
        MakeWindowPlan(layout, c.window[i], *ParseWindowMethod(c.window_method[i]), rope_kind, freqs,
                       /*mm_text_quirk=*/rope_kind == RopeKind::kMMLang3d, c.window_reference_grid));
    MovePlanTo(*plan, device);
    plans[key] = plan;
    auto bc = std::make_shared<BlockContext>();
    bc->attn.plan = plan.get();
    bc->attn.txt_rope = txt_rope;
    bc->attn.bf16_attention = bf16;
    bc->attn.sp = sp_;
    bc->vid_samples = vid_samples;
    bc->txt_samples = txt_samples;
    bc->bf16 = bf16;
    bc->plan_owner = plan;  // checkpointed backward may run after forward returned
    contexts[key] = bc;
  }

  const bool checkpoint = c.gradient_checkpointing && at::GradMode::is_enabled();
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const auto& ctx = contexts[layer_plan_key_[i]];
    auto outs = checkpoint ? CheckpointedBlockForward(block_list_[i].ptr(), x_v, x_t, emb, ctx)
                           : block_list_[i]->forward(x_v, x_t, emb, *ctx);
    x_v = outs[0];
    if (outs.size() > 1) x_t = outs[1];
    if (features != nullptr && std::find(taps.begin(), taps.end(), i) != taps.end()) {
      features->push_back(sp_ ? parallel::GatherSequence(x_v, layout.vid_total, sp_) : x_v);
      if (i == taps.back()) return at::Tensor();
    }
  }

  if (vid_out_norm) {
    // Quirk of the official 3B (reproduced because the released weights
    // depend on it): vid_out_ada is built for one layer ("out") and would
    // reshape the 6*D emb wrongly, but it reads the per-token emb from a
    // cache whose key collides with block 0's attention entry. So the
    // output modulation uses the *attention* shift/scale slots (d*6+0,
    // d*6+1) of the global emb, plus out_shift/out_scale, and no gate.
    auto h = vid_out_norm(x_v);
    x_v = Modulate(h, vid_samples.expand(EmbSlot(emb, AdaLayer::kAttn, AdaPart::kScale) + vid_out_ada->out_scale),
                   vid_samples.expand(EmbSlot(emb, AdaLayer::kAttn, AdaPart::kShift) + vid_out_ada->out_shift));
  }
  auto y = vid_out(x_v);
  if (sp_) y = parallel::GatherSequence(y, layout.vid_total, sp_);
  std::vector<at::Tensor> outs;
  for (int64_t b = 0; b < batch; ++b) {
    outs.push_back(Unpatchify(y.narrow(0, layout.vid_offset[b], grids[b][0] * grids[b][1] * grids[b][2]), grids[b], patch));
  }
  return batch == 1 ? outs[0] : at::cat(outs);
}

std::string NaDiTImpl::PlanKey(const Grid3& counts, WindowMethod m) {
  return std::to_string(counts[0]) + "x" + std::to_string(counts[1]) + "x" + std::to_string(counts[2]) + ":" +
         WindowMethodName(m);
}

void NaDiTImpl::CheckInputs(const at::Tensor& vid, const at::Tensor& vid_shape, const at::Tensor& txt,
                            const at::Tensor& txt_shape, const at::Tensor& timestep) const {
  const auto& c = config_;
  TORCH_CHECK(vid.dim() == 2 && vid.size(1) == c.vid_in_channels, "NaDiT: vid must be [L, ", c.vid_in_channels,
              "], got ", vid.sizes());
  TORCH_CHECK(vid_shape.dim() == 2 && vid_shape.size(1) == 3 && vid_shape.size(0) > 0,
              "NaDiT: vid_shape must be [B, 3] (T, H, W), got ", vid_shape.sizes());
  const int64_t batch = vid_shape.size(0);
  TORCH_CHECK(txt.dim() == 2 && txt.size(1) == c.txt_in_dim, "NaDiT: txt must be [Lt, ", c.txt_in_dim, "], got ",
              txt.sizes());
  TORCH_CHECK(txt_shape.dim() == 2 && txt_shape.size(0) == batch && txt_shape.size(1) == 1,
              "NaDiT: txt_shape must be [B, 1] with B = ", batch, ", got ", txt_shape.sizes());
  TORCH_CHECK(timestep.dim() == 1 && timestep.size(0) == batch, "NaDiT: timestep must be [B] with B = ", batch,
              ", got ", timestep.sizes());
  TORCH_CHECK(vid_shape.prod(1).sum().item<int64_t>() == vid.size(0), "NaDiT: vid has ", vid.size(0),
              " rows but vid_shape sums to ", vid_shape.prod(1).sum().item<int64_t>());
}

}  // namespace seedvr::dit

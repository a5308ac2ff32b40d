#include "seedvr/train/memory_estimate.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "seedvr/models/dit/dit_memory.h"
#include "seedvr/models/dit/dit_shapes.h"
#include "seedvr/models/dit/window.h"
#include "seedvr/models/vae/memory_plan.h"
#include "seedvr/train/discriminators.h"

namespace seedvr::train {
namespace {

constexpr double kF32 = 4, kBf16 = 2;

int64_t ResnetParams(int64_t in, int64_t out) {
  int64_t n = 2 * in + (in * out * 27 + out) + 2 * out + (out * out * 27 + out);
  if (in != out) n += in * out + out;
  return n;
}

double GiB(double bytes) { return bytes / (1024.0 * 1024.0 * 1024.0); }

}  // namespace

int64_t CountVAEParameters(const vae::VAEConfig& v) {
  const int64_t n = static_cast<int64_t>(v.block_out_channels.size());
  if (n == 0) return 0;
  const auto& ch = v.block_out_channels;
  const int64_t top = ch[n - 1];
  const int64_t mid = 2 * ResnetParams(top, top) + 2 * top + 4 * (top * top + top);
  // Encoder.
  int64_t enc = v.in_channels * ch[0] * 27 + ch[0];
  int64_t in = ch[0];
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t r = 0; r < v.layers_per_block; ++r) {
      enc += ResnetParams(in, ch[i]);
      in = ch[i];
    }
    if (i < n - 1) {
      const bool temporal = i >= n - 1 - v.temporal_scale_num;
      enc += ch[i] * ch[i] * (temporal ? 27 : 9) + ch[i];
    }
  }
  enc += mid + 2 * top + top * 2 * v.latent_channels * 27 + 2 * v.latent_channels;
  // Decoder: one more resnet per block; MAGViT-style upsamplers.
  int64_t dec = v.latent_channels * top * 27 + top + mid;
  in = top;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = ch[n - 1 - i];
    for (int64_t r = 0; r <= v.layers_per_block; ++r) {
      dec += ResnetParams(in, c);
      in = c;
    }
    if (i < n - 1) {
      const bool temporal = i < v.temporal_scale_num;
      const int64_t factor = 4 * (temporal ? 2 : 1);
      dec += c * c * factor + c * factor + c * c * 27 + c;
    }
  }
  dec += 2 * ch[0] + ch[0] * v.out_channels * 27 + v.out_channels;
  return enc + dec;
}

std::vector<std::pair<std::string, double>> MemoryEstimate::Parts() const {
  return {{"generator weights (fp32)", weights},
          {"gradients (fp32)", gradients},
          {optimizer_offload ? "AdamW moments (offloaded to host)" : "AdamW moments (fp32)", optimizer},
          {ema_on_host ? "EMA copy (in host memory)" : "EMA copy (fp32)", ema},
          {"bf16 weight copies (autocast)", autocast_weights},
          {"discriminator (weights+grads+AdamW)", discriminator_state},
          {"discriminator activations", discriminator_activations},
          {"DiT activations, checkpointed", activations_checkpointed},
          {"DiT activations, no checkpointing", activations_full},
          {vae_bf16 ? "VAE weights (bf16)" : "VAE weights (fp32)", vae_weights},
          {"VAE encode peak + clips", vae_encode},
          {"total (peak)", total}};
}

absl::StatusOr<MemoryEstimate> EstimateMemory(const config::TrainConfig& config, const MemoryOptions& o) {
  const dit::DiTConfig& m = config.model;
  if (absl::Status s = dit::ValidateDiTConfig(m); !s.ok()) return s;
  MemoryEstimate r;
  r.dp_size = std::max<int64_t>(o.dp_size, 1);
  r.sp_size = o.sp_size > 0 ? o.sp_size : std::max<int64_t>(config.parallel.sp_size, 1);
  r.zero2 = o.zero2 >= 0 ? o.zero2 == 1 : config.parallel.strategy == "zero2";
  r.checkpointing = o.checkpointing >= 0 ? o.checkpointing == 1 : m.gradient_checkpointing;
  const config::TrainingConfig& t = config.training;
  const bool gpu = t.device != "cpu";  // "auto" sizes a GPU run
  r.bf16 = t.precision == "bf16" || (t.precision == "auto" && (gpu || dit::IsBf16Compute(m)));
  r.vae_bf16 = t.vae_precision == "bf16" || (t.vae_precision == "auto" && gpu);
  r.ema_on_host = t.ema_device == "cpu";
  r.optimizer_offload = config.optimizer.offload == "cpu";
  r.text_tokens = std::max<int64_t>(o.text_tokens, 0);
  if (m.heads % r.sp_size != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("sp_size ", r.sp_size, " must divide model.heads (", m.heads, ")"));
  }
  const int64_t crop_h = config.data.crop_size.h, crop_w = config.data.crop_size.w;
  const int64_t spatial = config.vae.spatial_downsample_factor;
  const int64_t tfac = std::max<int64_t>(config.vae.temporal_downsample_factor, 1);
  const int64_t unit_h = spatial * m.patch_size[1], unit_w = spatial * m.patch_size[2];
  if (crop_h <= 0 || crop_w <= 0 || crop_h % unit_h != 0 || crop_w % unit_w != 0) {
    return absl::InvalidArgumentError(absl::StrCat("data.crop_size must be positive multiples of ", unit_h, "x",
                                                   unit_w, " (VAE x patch), got ", crop_h, "x", crop_w));
  }
  // The VAE's 4n+1 rule; with sequence parallel the clip is padded further so
  // that (T - 1) is a multiple of 4 * sp_size (the official cut_videos).
  int64_t frames = data::RoundUpTo4nPlus1(config.data.num_frames);
  if (r.sp_size > 1) {
    const int64_t unit = tfac * r.sp_size;
    frames = ((frames - 1 + unit - 1) / unit) * unit + 1;
  }
  r.frames = frames;
  r.latent_frames = (frames - 1) / tfac + 1;
  const dit::Grid3 grid = {r.latent_frames / m.patch_size[0], crop_h / unit_h, crop_w / unit_w};
  r.video_tokens = grid[0] * grid[1] * grid[2];
  const int64_t batch = std::max<int64_t>(config.training.batch_size, 1);

  // Parameter-derived parts.
  r.generator_params = dit::CountDiTParameters(m);
  const double p = static_cast<double>(r.generator_params);
  const double shard = r.zero2 ? static_cast<double>(r.dp_size * r.sp_size) : 1.0;
  r.weights = p * kF32;
  r.gradients = p * kF32;
  // Plus the largest tensor's step temporaries (sqrt, denominator).
  int64_t largest = 0;
  for (const auto& t : dit::DiTStateDictShapes(m)) {
    int64_t n = 1;
    for (int64_t s : t.shape) n *= s;
    largest = std::max(largest, n);
  }
  r.optimizer = r.optimizer_offload ? 0 : 2 * p * kF32 / shard + 2.0 * static_cast<double>(largest) * kF32;
  r.ema = r.ema_on_host ? 0 : p * kF32 / shard;
  r.host = (r.optimizer_offload ? 3 * p * kF32 / shard : 0) + (r.ema_on_host ? p * kF32 / shard : 0);
  r.autocast_weights = r.bf16 ? p * kBf16 : 0;

  auto d_entry = FindDiscriminator(config.discriminator.type);
  if (!d_entry.ok()) return d_entry.status();
  if (auto s = (*d_entry)->traits.validate(config); !s.ok()) return s;
  r.discriminator_params = (*d_entry)->count_parameters(config);
  r.discriminator_state = static_cast<double>(r.discriminator_params) * 4 * kF32;
  const bool pixel = config.discriminator.input == "pixel";
  const discriminator::ClipShape d_clip = {discriminator::InputChannels(config), pixel ? frames : r.latent_frames,
                                           pixel ? crop_h : crop_h / spatial, pixel ? crop_w : crop_w / spatial,
                                           r.text_tokens, r.checkpointing};
  double d_forward = (*d_entry)->activation_bytes(config, d_clip);
  if (pixel) {
    // The frozen decoder runs with autograd to the latents: far more than its
    // no-grad peak; a rough 4x of memory_plan's live-copy estimate.
    d_forward += 4 * vae::EstimateDecodeBytes(config.vae, r.latent_frames, crop_h, crop_w, 4);
  }
  // D step: real and fake graphs alive together, R1 / approximated R1/R2
  // (double backward or extra forwards) roughly doubling them.
  const bool penalties = config.loss.lambda_r1 > 0 || config.loss.lambda_ar1 > 0 || config.loss.lambda_ar2 > 0;
  r.discriminator_activations = batch * d_forward * 2 * (penalties ? 2 : 1) / r.sp_size;

  const dit::DiTActivations act = dit::DiTActivationBytes(m, grid, r.text_tokens, batch);
  r.block_bytes_per_token = act.block_bytes_per_token;
  r.max_windows = act.max_windows;
  r.activations_full = act.full / r.sp_size;
  r.activations_checkpointed = act.checkpointed / r.sp_size;
  r.activations = r.checkpointing ? r.activations_checkpointed : r.activations_full;

  r.vae_params = CountVAEParameters(config.vae);
  r.vae_weights = static_cast<double>(r.vae_params) * (r.vae_bf16 ? kBf16 : kF32);
  // The plan counts fp32 intermediates; bf16 halves them, and the clip is
  // also held as its bf16 copy.
  const vae::VAEPlan plan = vae::PlanEncode(config.vae, frames, crop_h, crop_w, 4);
  const double clip = 3.0 * frames * crop_h * crop_w * kF32;
  // HQ and LQ are encoded together, as one batch of 2 x batch clips.
  r.vae_encode = 2 * batch * (plan.estimate_gb * 1e9 * (r.vae_bf16 ? 0.5 : 1.0) + 2 * clip * (r.vae_bf16 ? 1.5 : 1.0));

  const double resident = r.weights + r.optimizer + r.ema + r.discriminator_state + r.vae_weights;
  r.total =
      resident + std::max(r.gradients + r.autocast_weights + r.activations + r.discriminator_activations, r.vae_encode);
  return r;
}

absl::StatusOr<GpuLayout> MinimumGpus(const config::TrainConfig& config, double card_bytes, int64_t max_gpus,
                                      int64_t text_tokens) {
  if (card_bytes <= 0) return absl::InvalidArgumentError("card memory must be positive");
  MemoryOptions base;
  base.text_tokens = text_tokens;
  auto single = EstimateMemory(config, base);
  if (!single.ok()) return single.status();
  for (int64_t gpus = 1; gpus <= max_gpus; ++gpus) {
    std::optional<GpuLayout> best;
    for (int64_t sp = 1; sp <= gpus; ++sp) {
      if (gpus % sp != 0 || config.model.heads % sp != 0) continue;
      for (int zero2 : {0, 1}) {
        const int64_t dp = gpus / sp;
        if (zero2 == 1 && gpus == 1) continue;
        MemoryOptions o = base;
        o.dp_size = dp;
        o.sp_size = sp;
        o.zero2 = zero2;
        auto e = EstimateMemory(config, o);
        if (!e.ok()) return e.status();
        if (e->total > card_bytes) continue;
        if (!best || e->total < best->estimate.total) best = GpuLayout{gpus, dp, sp, zero2 == 1, *e};
      }
    }
    if (best) return *best;
  }
  // What never shrinks with more GPUs: weights, EMA, bf16 copies, D and VAE.
  const MemoryEstimate& s = *single;
  const double floor = s.weights + s.ema + s.autocast_weights + s.discriminator_state + s.vae_weights;
  return absl::ResourceExhaustedError(absl::StrFormat(
      "does not fit on %d GPUs of %.1f GiB: the unsharded parts alone (fp32 weights %.1f + EMA %.1f + bf16 copies "
      "%.1f + discriminator %.1f + VAE %.1f = %.1f GiB) %s; one GPU would need %.1f GiB. Lower batch_size, "
      "crop_size or num_frames, enable model.gradient_checkpointing, or use a larger card.",
      max_gpus, GiB(card_bytes), GiB(s.weights), GiB(s.ema), GiB(s.autocast_weights), GiB(s.discriminator_state),
      GiB(s.vae_weights), GiB(floor), floor > card_bytes ? "exceed the card" : "plus activations exceed the card",
      GiB(s.total)));
}

}  // namespace seedvr::train

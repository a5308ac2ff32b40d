#include "seedvr/config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "seedvr/config/model_fields.h"
#include "seedvr/core/io.h"

namespace seedvr::config {
namespace internal {
namespace {

// Frame sides (crops, the restoration frame) up to 16K, and at most 2^32
// pixels per clip (4K x 500 frames): generous for any real training, small
// enough that sizes never overflow and a typo (1e9) is refused up front.
constexpr int64_t kMaxSide = 16384;
constexpr int64_t kMaxClipPixels = int64_t{1} << 32;
// Loss weights: the recipe's largest is 1000 (aR1, aR2).
constexpr double kMaxLossWeight = 1e6;

Check<std::vector<double>> KernelWeights() {
  return [](const std::vector<double>& w) -> std::optional<std::string> {
    if (data::ValidKernelWeights(w)) return std::nullopt;
    return data::kKernelWeightsRule;
  };
}

Check<std::vector<double>> ResizeWeights() {
  return [](const std::vector<double>& w) -> std::optional<std::string> {
    if (data::ValidWeights(w, 3)) return std::nullopt;
    return "3 non-negative weights (up, down, keep), not all zero";
  };
}

// Bounds a real degradation recipe stays far inside (Real-ESRGAN: sigmas up
// to 3, kernels up to 21, resize factors up to 1.5); beyond them a value is a
// typo that would exhaust memory or time, not a stronger degradation.
template <class V>
void DegradationFields(V& v, data::DegradationConfig& c) {
  v("scale", c.scale, InRange(1, 16));
  v("drift", c.drift, InRange(0.0, 1.0));
  v("blur_sigma", c.blur_sigma, RangeIn(0, 100, /*open_min=*/true));
  v("blur_kernel_prob", c.blur_kernel_prob, KernelWeights());
  // Retired (blur_kernel_prob holds the anisotropic share now); still in the
  // configs that older checkpoints store, so it is read and dropped.
  v.Ignore("blur_aniso_prob");
  v("betag_range", c.betag_range, RangeIn(0, 100, true));
  v("betap_range", c.betap_range, RangeIn(0, 100, true));
  v("blur_sinc_prob", c.blur_sinc_prob, InRange(0.0, 1.0));
  v("blur_kernel_size", c.blur_kernel_size, Each(InRange(1, 255), /*non_empty=*/true));
  v("resize_scale", c.resize_scale, RangeIn(0, 8, true));
  v("resize_prob", c.resize_prob, ResizeWeights());
  v("gaussian_noise_prob", c.gaussian_noise_prob, InRange(0.0, 1.0));
  v("noise_sigma", c.noise_sigma, RangeIn(0, 255));
  v("poisson_scale", c.poisson_scale, RangeIn(0, 100));
  v("gray_noise_prob", c.gray_noise_prob, InRange(0.0, 1.0));
  v("jpeg_quality", c.jpeg_quality, RangeIn(1, 100));
  v("second_blur_prob", c.second_blur_prob, InRange(0.0, 1.0));
  v("blur_sigma2", c.blur_sigma2, RangeIn(0, 100, true));
  v("blur_kernel_prob2", c.blur_kernel_prob2, KernelWeights());
  v("betag_range2", c.betag_range2, RangeIn(0, 100, true));
  v("betap_range2", c.betap_range2, RangeIn(0, 100, true));
  v("blur_sinc_prob2", c.blur_sinc_prob2, InRange(0.0, 1.0));
  v("resize_scale2", c.resize_scale2, RangeIn(0, 8, true));
  v("resize_prob2", c.resize_prob2, ResizeWeights());
  v("gaussian_noise_prob2", c.gaussian_noise_prob2, InRange(0.0, 1.0));
  v("noise_sigma2", c.noise_sigma2, RangeIn(0, 255));
  v("poisson_scale2", c.poisson_scale2, RangeIn(0, 100));
  v("gray_noise_prob2", c.gray_noise_prob2, InRange(0.0, 1.0));
  v("jpeg_quality2", c.jpeg_quality2, RangeIn(1, 100));
  v("final_sinc_prob", c.final_sinc_prob, InRange(0.0, 1.0));
  v("codec_prob", c.codec_prob, InRange(0.0, 1.0));
  // Checked here, so that a misspelt mode stops the start, not a clip.
  v("codecs", c.codecs,
    Each(OneOf(std::vector<std::string>(std::begin(data::kCodecModes), std::end(data::kCodecModes)))));
  v("x264_crf", c.x264_crf, RangeIn(0, 51));
  v("bitrate", c.bitrate, RangeIn(1e3, 1e9));
  v("mpeg4_qscale", c.mpeg4_qscale, RangeIn(1, 31));
  v("x264_preset", c.x264_preset,
    OneOf({"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"}));
  v("codec_fps", c.codec_fps, InRange(1.0, 1000.0));
}

template <class V>
void DataFields(V& v, data::DataConfig& c) {
  v("data_root", c.data_root);
  v("num_frames", c.num_frames, InRange(1, 10000));  // the pixels per clip are bounded in ValidateTrain
  v("crop_size", c.crop_size);
  v("resize_to_area", c.resize_to_area, InRange<int64_t>(0, kMaxSide * kMaxSide));
  v("short_clips", c.short_clips, OneOf({"pad", "skip"}));
  v("max_frame_pixels", c.max_frame_pixels, AtLeast<int64_t>(0));
  v("generate_lq", c.generate_lq);
  v("num_workers", c.num_workers, InRange(0, 256));
  v("prefetch", c.prefetch, InRange(1, 4096));
  v("seed", c.seed);
  v.Section("degradation", c.degradation, [](auto& s, data::DegradationConfig& d) { DegradationFields(s, d); });
}

template <class V>
void TrainFields(V& v, TrainConfig& c) {
  v.Section("model", c.model, [](auto& s, dit::DiTConfig& m) { DiTFields(s, m); });
  v.Section("vae", c.vae, [](auto& s, vae::VAEConfig& m) { VAEFields(s, m); });
  v.Section("data", c.data, [](auto& s, data::DataConfig& d) { DataFields(s, d); });
  v.Section("discriminator", c.discriminator, [](auto& s, DiscriminatorConfig& d) {
    s("type", d.type);  // checked against the compiled discriminators (train/dispatch.h)
    s("base_channels", d.base_channels, InRange<int64_t>(1, 4096));
    s("num_layers", d.num_layers, InRange<int64_t>(1, 16));
    s("input", d.input, OneOf({"latent", "pixel"}));
    s("dit_feature_layers", d.dit_feature_layers);
    s("dit_timestep_shift", d.dit_timestep_shift, InRange(1e-3, 1e3));
    s("dit_condition", d.dit_condition, OneOf({"none", "lq"}));
    s("checkpoint", d.checkpoint);
  });
  v.Section("optimizer", c.optimizer, [](auto& s, OptimizerConfig& o) {
    s("g_lr", o.g_lr, InRange(0.0, 1.0));
    s("d_lr", o.d_lr, InRange(0.0, 1.0));
    s("betas", o.betas);
    s("d_betas", o.d_betas);
    s("eps", o.eps, InRange(0.0, 1.0));
    s("weight_decay", o.weight_decay, InRange(0.0, 10.0));
    s("d_weight_decay", o.d_weight_decay, InRange(0.0, 10.0));
    s("grad_clip", o.grad_clip, AtLeast(0.0));
    s("offload", o.offload, OneOf({"none", "cpu"}));
  });
  v.Section("condition", c.condition,
            [](auto& s, ConditionConfig& k) { s("noise_scale", k.noise_scale, InRange(0.0, 1.0)); });
  v.Section("loss", c.loss, [](auto& s, LossConfig& l) {
    s("loss_type", l.loss_type);  // checked against the compiled losses (train/dispatch.h)
    s("lambda_adv", l.lambda_adv, InRange(0.0, kMaxLossWeight));
    s("lambda_fm", l.lambda_fm, InRange(0.0, kMaxLossWeight));
    s("lambda_r1", l.lambda_r1, InRange(0.0, kMaxLossWeight));
    s("r1_interval", l.r1_interval, AtLeast<int64_t>(1));
    s("lambda_ar1", l.lambda_ar1, InRange(0.0, kMaxLossWeight));
    s("lambda_ar2", l.lambda_ar2, InRange(0.0, kMaxLossWeight));
    s("ar_sigma", l.ar_sigma, InRange(0.0, 10.0));
    s("lambda_l1", l.lambda_l1, InRange(0.0, kMaxLossWeight));
  });
  v.Section("training", c.training, [](auto& s, TrainingConfig& t) {
    s("max_steps", t.max_steps, AtLeast<int64_t>(1));
    s("batch_size", t.batch_size, InRange<int64_t>(1, 4096));
    s("grad_accum", t.grad_accum, InRange<int64_t>(1, 4096));
    s("d_steps", t.d_steps, InRange<int64_t>(1, 100));
    s("ema_decay", t.ema_decay, InRange(0.0, 1.0));
    s("ema_warmup", t.ema_warmup);
    s("seed", t.seed);
    s("dit_checkpoint", t.dit_checkpoint);
    s("vae_checkpoint", t.vae_checkpoint);
    s("sample_posterior", t.sample_posterior);
    s("text_embeddings", t.text_embeddings);
    s("eval_root", t.eval_root);
    s("eval_clips", t.eval_clips, InRange<int64_t>(0, 100000));
    s("eval_every", t.eval_every, AtLeast<int64_t>(0));
    s("device", t.device);  // resolved against the machine at start-up (core/device.h)
    s("precision", t.precision, OneOf({"auto", "bf16", "fp32"}));
    s("vae_precision", t.vae_precision, OneOf({"auto", "bf16", "fp32"}));
    s("ema_device", t.ema_device, OneOf({"same", "cpu"}));
    s("window_frame", t.window_frame);
  });
  v.Section("parallel", c.parallel, [](auto& s, ParallelConfig& p) {
    s("sp_size", p.sp_size, InRange<int64_t>(1, 1024));
    s("strategy", p.strategy, OneOf({"ddp", "zero2"}));
    s("timeout_s", p.timeout_s, InRange<double>(1, 86400));
    s("wait_timeout_s", p.wait_timeout_s, InRange<double>(1, 86400));
    s("bucket_mb", p.bucket_mb, InRange<double>(0.0625, 4096));
  });
  v.Section("logging", c.logging, [](auto& s, LoggingConfig& l) {
    s("log_every", l.log_every, AtLeast<int64_t>(1));
    s("progress_bar", l.progress_bar);
  });
  v.Section("checkpoint", c.checkpoint, [](auto& s, CheckpointConfig& k) {
    s("save_dir", k.save_dir);
    s("save_every", k.save_every, AtLeast<int64_t>(1));
    s("keep_last", k.keep_last, AtLeast<int64_t>(0));
    s("resume", k.resume);
    s("overwrite", k.overwrite);
  });
  v.Section("vae_training", c.vae_training, [](auto& s, VAETrainingConfig& t) {
    s("steps", t.steps, InRange<int64_t>(1, 100000000));
    s("batch_size", t.batch_size, InRange<int64_t>(1, 4096));
    s("lr", t.lr, InRange(0.0, 1.0));
    s("warmup_steps", t.warmup_steps, AtLeast<int64_t>(0));
    s("lr_schedule", t.lr_schedule, OneOf({"cosine", "constant"}));
    s("weight_decay", t.weight_decay, InRange(0.0, 10.0));
    s("grad_clip", t.grad_clip, AtLeast(0.0));
    s("kl_weight", t.kl_weight, InRange(0.0, 1.0));
    s("log_every", t.log_every, AtLeast<int64_t>(1));
    s("eval_every", t.eval_every, AtLeast<int64_t>(0));
    s("eval_frames", t.eval_frames, InRange<int64_t>(1, 10000));
  });
}

std::vector<std::string> ValidateTrain(TrainConfig& c) {
  std::vector<std::string> e = ValidateDiT(c.model, "model");
  for (auto& s : ValidateVAE(c.vae, "vae")) e.push_back(s);
  const int64_t unit = c.vae.spatial_downsample_factor * c.model.patch_size[1];
  const data::CropSize& crop = c.data.crop_size;
  if (crop.h % unit != 0 || crop.w % unit != 0 || crop.h < unit || crop.w < unit || crop.h > kMaxSide ||
      crop.w > kMaxSide) {
    e.push_back(absl::StrCat("data.crop_size: expected multiples of ", unit, " (VAE x", c.vae.spatial_downsample_factor,
                             ", patch x", c.model.patch_size[1], ") from ", unit, " to ", kMaxSide, ", got [", crop.h,
                             ", ", crop.w, "]"));
  } else if (int64_t{crop.h} * crop.w * c.data.num_frames > kMaxClipPixels) {
    e.push_back(absl::StrCat("data.num_frames: expected at most ", kMaxClipPixels, " pixels per clip, got ",
                             c.data.num_frames, " frames of data.crop_size [", crop.h, ", ", crop.w, "]"));
  }
  const auto& frame = c.training.window_frame;
  if (frame[0] < 0 || frame[1] < 0 || (frame[0] == 0) != (frame[1] == 0) || frame[0] % unit != 0 ||
      frame[1] % unit != 0 || frame[0] > kMaxSide || frame[1] > kMaxSide) {
    e.push_back(absl::StrCat("training.window_frame: expected [0, 0] or two positive multiples of ", unit,
                             " pixels up to ", kMaxSide, ", got [", frame[0], ", ", frame[1], "]"));
  } else {
    c.model.window_reference_grid = {frame[0] / unit, frame[1] / unit};
  }
  // Keys only the DiT discriminator reads; elsewhere they would do nothing.
  if (c.discriminator.type != "dit") {
    if (!c.discriminator.checkpoint.empty())
      e.push_back(absl::StrCat("discriminator.checkpoint: only the dit discriminator starts from a DiT checkpoint; ",
                               "discriminator.type is ", c.discriminator.type));
    if (c.discriminator.dit_condition != "none")
      e.push_back(absl::StrCat("discriminator.dit_condition: only the dit discriminator takes a condition; ",
                               "discriminator.type is ", c.discriminator.type));
  }
  // The PatchGAN halves its grid per layer and instance-normalises each layer
  // after the first over that layer's positions: below 2x2 the norms see one
  // position per frame and erase what the discriminator judges.
  if (c.discriminator.type == "patch" && crop.h >= unit && crop.w >= unit) {
    const bool pixel = c.discriminator.input == "pixel";
    const int64_t f = pixel ? 1 : c.vae.spatial_downsample_factor;
    const int64_t side = std::min<int64_t>(crop.h, crop.w) / f;
    int64_t most = 0;
    while ((side >> (most + 1)) >= 2) ++most;
    const std::string grid = absl::StrCat(pixel ? "pixel" : "latent", " grid of data.crop_size [", crop.h, ", ", crop.w,
                                          "] (", crop.h / f, "x", crop.w / f, ")");
    if (most == 0) {
      e.push_back(absl::StrCat("data.crop_size: the patch discriminator needs a ", pixel ? "pixel" : "latent",
                               " grid of at least 4x4 to halve once, got the ", grid));
    } else if (c.discriminator.num_layers > most) {
      e.push_back(absl::StrCat("discriminator.num_layers: the patch discriminator halves the ", grid,
                               " per layer, and below 2x2 its instance norms erase what it judges: expected at most ",
                               most, ", got ", c.discriminator.num_layers));
    }
  }
  if (c.model.heads % c.parallel.sp_size != 0) {
    e.push_back(absl::StrCat("parallel.sp_size: expected a divisor of model.heads (", c.model.heads, "), got ",
                             c.parallel.sp_size));
  }
  // The official sequence-parallel layout: after the VAE's first frame, each
  // rank's share of the clip is a whole number of 4-frame latent steps.
  const int64_t frames = data::RoundUpTo4nPlus1(static_cast<int>(c.data.num_frames));
  const int64_t step = c.vae.temporal_downsample_factor * c.parallel.sp_size;
  if (c.parallel.sp_size > 1 && (frames - 1) % step != 0) {
    e.push_back(absl::StrCat("data.num_frames: with parallel.sp_size ", c.parallel.sp_size,
                             ", (frames - 1) must be a multiple of ", step, "; got ", c.data.num_frames, " (try ",
                             ((frames - 1) / step + 1) * step + 1, ")"));
  }
  if (c.vae.latent_channels * 2 + 1 != c.model.vid_in_channels || c.vae.latent_channels != c.model.vid_out_channels) {
    e.push_back(absl::StrCat("model.vid_in_channels: expected 2 * vae.latent_channels + 1 (",
                             2 * c.vae.latent_channels + 1, ") in and vae.latent_channels out, got ",
                             c.model.vid_in_channels, " and ", c.model.vid_out_channels));
  }
  if (c.loss.lambda_adv == 0 && c.loss.lambda_fm == 0 && c.loss.lambda_l1 == 0) {
    e.push_back(
        "loss.lambda_l1: with loss.lambda_adv and loss.lambda_fm 0 too, the generator has nothing to learn from");
  }
  for (const auto& [key, b] : {std::pair{"betas", c.optimizer.betas}, std::pair{"d_betas", c.optimizer.d_betas}}) {
    if (!(b[0] >= 0 && b[0] < 1 && b[1] >= 0 && b[1] < 1)) {
      e.push_back(absl::StrCat("optimizer.", key, ": expected two values in [0, 1), got [", b[0], ", ", b[1], "]"));
    }
  }
  return e;
}

}  // namespace
}  // namespace internal

namespace {

absl::Status ApplyOverride(YAML::Node& root, const std::string& assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::InvalidArgumentError(absl::StrCat("--set ", assignment, ": expected section.key=value"));
  }
  std::vector<std::string> path = absl::StrSplit(assignment.substr(0, eq), '.');
  YAML::Node value;
  try {
    value = YAML::Load(assignment.substr(eq + 1));
  } catch (const YAML::Exception& ex) {
    return absl::InvalidArgumentError(absl::StrCat("--set ", assignment, ": value is not valid YAML: ", ex.what()));
  }
  // yaml-cpp nodes are handles: walk down by reassigning a reference copy.
  std::vector<YAML::Node> chain = {root};
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    YAML::Node next = chain.back()[path[i]];
    if (next.IsDefined() && !next.IsNull() && !next.IsMap()) {
      return absl::InvalidArgumentError(absl::StrCat("--set ", assignment, ": '", path[i], "' is not a section"));
    }
    if (!next.IsDefined() || next.IsNull()) {
      chain.back()[path[i]] = YAML::Node(YAML::NodeType::Map);
      next = chain.back()[path[i]];
    }
    chain.push_back(next);
  }
  chain.back()[path.back()] = value;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TrainConfig> ParseTrainConfig(const std::string& yaml_text, const std::vector<std::string>& overrides,
                                             const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& ex) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", ex.what()));
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) return absl::InvalidArgumentError(absl::StrCat(source, ": expected a mapping of sections"));
  for (const std::string& o : overrides) {
    absl::Status s = ApplyOverride(root, o);
    if (!s.ok()) return s;
  }
  TrainConfig config;
  std::vector<std::string> errors;
  internal::Reader reader(root, "", &errors);
  internal::TrainFields(reader, config);
  reader.Finish();
  if (errors.empty()) errors = internal::ValidateTrain(config);
  if (!errors.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid config ", source, ":\n  ", absl::StrJoin(errors, "\n  ")));
  }
  return config;
}

absl::StatusOr<TrainConfig> LoadTrainConfig(const std::string& path, const std::vector<std::string>& overrides) {
  // A config is a few kilobytes; 16 MiB leaves room and keeps a wrong path
  // (a video, a checkpoint, a FIFO) from being read whole.
  absl::StatusOr<uint64_t> size = core::CheckInputFile(path, "config file", uint64_t{16} << 20);
  if (!size.ok()) return size.status();
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read config file ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseTrainConfig(ss.str(), overrides, path);
}

absl::Status CheckInputPaths(const TrainConfig& c) {
  for (const auto& [key, path] : {std::pair{"training.dit_checkpoint", &c.training.dit_checkpoint},
                                  std::pair{"training.vae_checkpoint", &c.training.vae_checkpoint},
                                  std::pair{"training.text_embeddings", &c.training.text_embeddings},
                                  std::pair{"discriminator.checkpoint", &c.discriminator.checkpoint},
                                  std::pair{"checkpoint.resume", &c.checkpoint.resume}}) {
    if (path->empty()) continue;
    if (absl::StatusOr<uint64_t> size = core::CheckInputFile(*path, key); !size.ok()) return size.status();
  }
  return absl::OkStatus();
}

namespace {

struct FlagSpec {
  const char* flag;
  const char* key;
  int values;    // 0: a switch that sets the key to true
  bool is_path;  // quoted, so a path is never read as a YAML number or bool
  const char* help;
};

constexpr FlagSpec kFlags[] = {
    {"data_root", "data.data_root", 1, true, "folder with hq/ and optional lq/ videos"},
    {"dit_checkpoint", "training.dit_checkpoint", 1, true, "released SeedVR2 DiT (.pth or .safetensors) to start from"},
    {"batch_size", "training.batch_size", 1, false, "clips per step and process"},
    {"num_frames", "data.num_frames", 1, false, "frames per clip (rounded up to 4n+1)"},
    {"crop_size", "data.crop_size", 2, false, "H W of the random crop (multiples of 16)"},
    {"sp_size", "parallel.sp_size", 1, false,
     "Ulysses sequence-parallel group size (divides model.heads; num_frames - 1 a multiple of 4 x sp_size)"},
    {"save_dir", "checkpoint.save_dir", 1, true, "where checkpoints and logs go"},
    {"resume", "checkpoint.resume", 1, true, "checkpoint_<step>.pth to continue from"},
    {"overwrite", "checkpoint.overwrite", 0, false, "replace the run save_dir already holds"},
    {"max_steps", "training.max_steps", 1, false, "generator steps to train"},
    {"keep_last", "checkpoint.keep_last", 1, false, "numbered checkpoints kept on disk (0 keeps all)"},
};

std::string Quote(const std::string& v) {
  YAML::Emitter e;
  e << YAML::DoubleQuoted << v;
  return e.c_str();
}

}  // namespace

std::string TrainCommandLineHelp() {
  std::string out = "  --config FILE            training config (YAML; see configs/)\n";
  for (const FlagSpec& f : kFlags) {
    std::string name = absl::StrCat("--", f.flag, f.values == 2 ? " H W" : f.values == 1 ? " VALUE" : "");
    out += absl::StrCat("  ", name, std::string(name.size() < 25 ? 25 - name.size() : 1, ' '), f.help, " (", f.key, ")\n");
  }
  out += "  --set SECTION.KEY=VALUE  any other key, e.g. --set training.max_steps=2 (repeatable)\n";
  return out;
}

absl::StatusOr<TrainConfig> ParseTrainCommandLine(const std::vector<std::string>& args) {
  std::string config_path;
  std::vector<std::string> overrides;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg.rfind("--", 0) != 0) return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
    std::string name = arg.substr(2);
    std::vector<std::string> values;
    if (auto eq = name.find('='); eq != std::string::npos) {
      values.push_back(name.substr(eq + 1));
      name = name.substr(0, eq);
    }
    auto take = [&](int n) -> absl::Status {
      while (static_cast<int>(values.size()) < n) {
        if (i + 1 >= args.size()) {
          return absl::InvalidArgumentError(absl::StrCat("--", name, " expects ", n, " value", n > 1 ? "s" : ""));
        }
        values.push_back(args[++i]);
      }
      return absl::OkStatus();
    };
    if (name == "config" || name == "set") {
      if (absl::Status s = take(1); !s.ok()) return s;
      if (name == "config") config_path = values[0];
      else overrides.push_back(values[0]);
      continue;
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& f : kFlags) {
      if (name == f.flag) spec = &f;
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, "; flags:\n", TrainCommandLineHelp()));
    }
    if (spec->values == 0 && !values.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
    }
    if (absl::Status s = take(spec->values); !s.ok()) return s;
    std::string value = spec->values == 0   ? "true"
                        : spec->values == 2 ? absl::StrCat("[", values[0], ", ", values[1], "]")
                        : spec->is_path     ? Quote(values[0])
                                            : values[0];
    overrides.push_back(absl::StrCat(spec->key, "=", value));
  }
  if (config_path.empty()) return absl::InvalidArgumentError("--config FILE is required");
  return LoadTrainConfig(config_path, overrides);
}

std::string DumpTrainConfig(const TrainConfig& config) {
  YAML::Node root(YAML::NodeType::Map);
  internal::Writer writer(root);
  TrainConfig copy = config;
  internal::TrainFields(writer, copy);
  YAML::Emitter e;
  e << root;
  return std::string(e.c_str()) + "\n";
}

}  // namespace seedvr::config

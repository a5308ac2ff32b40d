#include "seedvr/train/vae_training.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "seedvr/core/device.h"
#include "seedvr/data/clip_tensor.h"
#include "seedvr/data/loader.h"
#include "seedvr/data/random.h"
#include "seedvr/data/video_pair_dataset.h"
#include "seedvr/train/adamw.h"

namespace seedvr::train {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kNoiseStream = 0x766165ull;  // "vae"

// The learning rate of step `step` (1-based).
double LearningRate(const config::VAETrainingConfig& c, int64_t step) {
  if (step <= c.warmup_steps) return c.lr * static_cast<double>(step) / static_cast<double>(c.warmup_steps + 1);
  if (c.lr_schedule == "constant") return c.lr;
  const double span = static_cast<double>(std::max<int64_t>(c.steps - c.warmup_steps, 1));
  return 0.5 * c.lr * (1 + std::cos(M_PI * static_cast<double>(step - c.warmup_steps) / span));
}

// The output path, checked before any work: a .safetensors file that does
// not exist yet unless `overwrite`, in a folder that can be made.
absl::Status CheckOutput(const std::string& path, bool overwrite) {
  if (path.empty()) {
    return absl::InvalidArgumentError(
        "training.vae_checkpoint is empty: set it to the .safetensors file the trained VAE is written to");
  }
  if (!absl::EndsWith(path, ".safetensors")) {
    return absl::InvalidArgumentError(
        absl::StrCat("training.vae_checkpoint: expected a .safetensors file to write, got ", path));
  }
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(path, ec);
  if (fs::is_directory(st)) {
    return absl::InvalidArgumentError(absl::StrCat("training.vae_checkpoint: ", path, " is a folder"));
  }
  if (fs::exists(st) && !overwrite) {
    return absl::AlreadyExistsError(absl::StrCat(
        "training.vae_checkpoint: ", path, " already exists; pass --overwrite to replace it (or choose another "
        "file with --set training.vae_checkpoint=...)"));
  }
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) {
    fs::create_directories(parent, ec);
    if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", parent.string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace

core::TensorList VAEWeights(vae::VideoVAEImpl& vae) {
  torch::NoGradGuard no_grad;
  core::TensorList out;
  for (const auto& p : vae.named_parameters()) {
    out.push_back({p.key(), p.value().detach().to(at::kCPU, at::kFloat).contiguous()});
  }
  for (const auto& b : vae.named_buffers()) {
    out.push_back({b.key(), b.value().detach().to(at::kCPU, at::kFloat).contiguous()});
  }
  return out;
}

absl::StatusOr<VAEEvalResult> EvaluateVAE(vae::VideoVAEImpl& vae, const std::string& eval_root,
                                          const data::DataConfig& data, int64_t frames, const c10::Device& device) {
  data::DataConfig c = data;
  c.data_root = eval_root;
  c.crop_size = {0, 0};  // whole frames
  c.num_frames = static_cast<int>(frames);
  c.num_workers = 0;
  auto dataset = data::VideoPairDataset::Create(c, data::SampleContent::kHqOnly);
  if (!dataset.ok()) {
    return absl::Status(dataset.status().code(), absl::StrCat("training.eval_root: ", dataset.status().message()));
  }
  data::LoaderOptions o = data::LoaderOptions::FromConfig(c);
  o.shuffle = false;
  data::DataLoader loader(dataset->get(), o);
  torch::NoGradGuard no_grad;
  const int64_t f = vae.config().spatial_downsample_factor;
  VAEEvalResult r;
  double sum = 0, sum_sq = 0, count = 0;
  for (size_t i = 0; i < (*dataset)->size(); ++i) {
    auto sample = loader.Next();
    if (!sample.ok()) return sample.status();
    at::Tensor x = data::ClipToTensor(sample->hq).unsqueeze(0);
    const int64_t h = x.size(3) / f * f, w = x.size(4) / f * f;
    if (h == 0 || w == 0) {
      return absl::InvalidArgumentError(absl::StrCat("training.eval_root: ", sample->stem, " is ", x.size(3), "x",
                                                     x.size(4), ", smaller than the VAE's ", f, "x", f));
    }
    x = x.narrow(3, (x.size(3) - h) / 2, h).narrow(4, (x.size(4) - w) / 2, w).contiguous();
    auto post = vae.Encode(core::ToDevice(x, device));
    if (!post.ok()) return post.status();
    auto y = vae.Decode(post->mean);
    if (!y.ok()) return y.status();
    const at::Tensor mean = post->mean.to(at::kDouble);
    sum += mean.sum().item<double>();
    sum_sq += mean.pow(2).sum().item<double>();
    count += static_cast<double>(mean.numel());
    // 8-bit levels in [0, 1]: the input is exactly on them already.
    const at::Tensor restored = at::round((y->to(at::kCPU, at::kDouble).clamp(-1, 1) + 1) * 127.5) / 255.0;
    const double mse = (restored - (x.to(at::kDouble) + 1) / 2).pow(2).mean().item<double>();
    const double psnr = 10 * std::log10(1.0 / std::max(mse, 1e-10));
    r.clip_psnr_db.emplace_back(sample->stem, psnr);
    r.psnr_db += psnr;
  }
  r.psnr_db /= static_cast<double>(r.clip_psnr_db.size());
  const double mean = sum / count;
  const double std = std::sqrt(std::max(sum_sq / count - mean * mean, 0.0));
  const double scale = vae.config().scaling_factor;
  r.latent_mean = mean * scale;
  r.latent_std = std * scale;
  r.unit_scaling_factor = std > 0 ? 1 / std : 0;
  return r;
}

absl::StatusOr<VAETrainingResult> TrainVAE(const config::TrainConfig& config, const VAETrainingOptions& options) {
  const config::VAETrainingConfig& t = config.vae_training;
  const std::string& output = config.training.vae_checkpoint;
  auto print = [&](const std::string& line) {
    if (options.print) options.print(line);
  };
  if (absl::Status s = CheckOutput(output, options.overwrite); !s.ok()) return s;
  auto device = core::ResolveDevice(config.training.device, core::LocalRankFromEnv(), "training.device");
  if (!device.ok()) return device.status();
  auto dataset = data::VideoPairDataset::Create(config.data, data::SampleContent::kHqOnly);
  if (!dataset.ok()) return absl::Status(dataset.status().code(), absl::StrCat("data.data_root: ", dataset.status().message()));
  data::DataLoader loader(dataset->get(), data::LoaderOptions::FromConfig(config.data));

  VAETrainingResult result;
  at::manual_seed(config.training.seed);
  result.vae = vae::VideoVAE(config.vae);
  vae::VideoVAEImpl& model = *result.vae;
  model.to(*device);
  model.train();
  std::vector<std::pair<std::string, at::Tensor>> params;
  int64_t count = 0;
  for (const auto& p : model.named_parameters()) {
    params.emplace_back(p.key(), p.value());
    count += p.value().numel();
  }
  AdamW optimizer(params, {t.lr, 0.9, 0.999, 1e-8, t.weight_decay});
  const int64_t latent = config.vae.latent_channels;
  print(absl::StrFormat(
      "training the VAE (%d parameters) on %s: %d HQ videos under %s, %d x %d-frame %dx%d crops per step, %d steps",
      count, core::DeviceDescription(*device), (*dataset)->size(), config.data.data_root, t.batch_size,
      (*dataset)->clip_frames(), config.data.crop_size.h, config.data.crop_size.w, t.steps));

  auto evaluate = [&](int64_t step) -> absl::StatusOr<VAEEvalResult> {
    model.eval();
    auto r = EvaluateVAE(model, config.training.eval_root, config.data, t.eval_frames, *device);
    model.train();
    if (!r.ok()) return r.status();
    std::string clips;
    for (const auto& [stem, psnr] : r->clip_psnr_db) absl::StrAppend(&clips, " ", stem, " ", absl::StrFormat("%.2f", psnr));
    print(absl::StrFormat("eval step %d: held-out PSNR %.2f dB (%s ), latent std x scaling_factor %.3f, mean %.3f",
                          step, r->psnr_db, clips, r->latent_std, r->latent_mean));
    return r;
  };

  const auto start = std::chrono::steady_clock::now();
  double eval_seconds = 0, window_seconds = 0;
  double window_loss = 0, window_l1 = 0, window_kl = 0;
  auto window_start = start;
  for (int64_t step = 1; step <= t.steps; ++step) {
    std::vector<data::Sample> samples;
    std::vector<const data::Clip*> clips;
    for (int64_t i = 0; i < t.batch_size; ++i) {
      auto s = loader.Next();
      if (!s.ok()) return s.status();
      samples.push_back(*std::move(s));
    }
    for (const auto& s : samples) clips.push_back(&s.hq);
    const at::Tensor x = core::ToDevice(data::ClipsToBatch(clips), *device);
    at::Generator gen =
        core::SeededGenerator(*device, data::DeriveSeed({config.training.seed, kNoiseStream, static_cast<uint64_t>(step)}));

    optimizer.options().lr = LearningRate(t, step);
    const at::Tensor h = model.encoder()->forward(x);
    const at::Tensor mean = h.narrow(1, 0, latent);
    const at::Tensor logvar = at::clamp(h.narrow(1, latent, latent), -30.0, 20.0);
    const at::Tensor z = mean + at::exp(0.5 * logvar) * at::randn(mean.sizes(), gen, mean.options());
    const at::Tensor y = model.decoder()->forward(z);
    const double values = static_cast<double>(x.numel());
    const at::Tensor l1 = (y - x).abs().sum() / values;
    const at::Tensor kl = 0.5 * (mean.pow(2) + at::exp(logvar) - 1 - logvar).sum() / values;
    const at::Tensor loss = l1 + t.kl_weight * kl;
    optimizer.ZeroGrad();
    loss.backward();
    if (t.grad_clip > 0) optimizer.ClipGradNorm(t.grad_clip);
    optimizer.Step();

    const double loss_value = loss.item<double>();
    if (!std::isfinite(loss_value)) {
      return absl::DataLossError(absl::StrCat("step ", step, ": the loss is ", loss_value,
                                              "; lower vae_training.lr or set vae_training.grad_clip"));
    }
    result.losses.push_back(loss_value);
    window_loss += loss_value;
    window_l1 += l1.item<double>();
    window_kl += kl.item<double>();
    if (step % t.log_every == 0 || step == t.steps) {
      const auto now = std::chrono::steady_clock::now();
      const int64_t n = step % t.log_every == 0 ? t.log_every : step % t.log_every;
      window_seconds = std::chrono::duration<double>(now - window_start).count();
      print(absl::StrFormat("step %d/%d loss %.5f l1 %.5f kl/value %.4g lr %.3g sec/step %.3f", step, t.steps,
                            window_loss / n, window_l1 / n, window_kl / n, optimizer.options().lr,
                            window_seconds / n));
      window_loss = window_l1 = window_kl = 0;
      window_start = now;
    }
    if (t.eval_every > 0 && step % t.eval_every == 0 && step < t.steps && !config.training.eval_root.empty()) {
      const auto e0 = std::chrono::steady_clock::now();
      if (auto r = evaluate(step); !r.ok()) return r.status();
      const auto e1 = std::chrono::steady_clock::now();
      eval_seconds += std::chrono::duration<double>(e1 - e0).count();
      window_start = e1;
    }
  }
  core::Synchronize(*device);
  result.train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() - eval_seconds;
  print(absl::StrFormat("trained %d steps in %.1f s (%.3f s/step)", t.steps, result.train_seconds,
                        result.train_seconds / static_cast<double>(t.steps)));
  model.eval();

  const std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"producer", "seedvr train_vae"}, {"steps", std::to_string(t.steps)}};
  if (absl::Status s = core::WriteSafetensors(output, VAEWeights(model), metadata); !s.ok()) return s;
  print(absl::StrCat("saved ", output));

  if (config.training.eval_root.empty()) {
    print("no held-out evaluation: training.eval_root is empty");
    return result;
  }
  auto r = evaluate(t.steps);
  if (!r.ok()) return r.status();
  result.evaluated = true;
  result.eval = *std::move(r);
  if (std::abs(result.eval.latent_std - 1) > 0.25) {
    print(absl::StrFormat("the latents' std is %.3f, not near 1: vae.scaling_factor %.4g would make it 1",
                          result.eval.latent_std, result.eval.unit_scaling_factor));
  }
  return result;
}

}  // namespace seedvr::train

#include "seedvr/infer/restorer.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "seedvr/config/config.h"
#include "seedvr/core/device.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/data/clip_tensor.h"
#include "seedvr/data/remux.h"
#include "seedvr/data/video_reader.h"
#include "seedvr/data/video_writer.h"
#include "seedvr/infer/video_ops.h"
#include "seedvr/models/dit/dit_memory.h"
#include "seedvr/models/dit/dit_weights.h"
#include "seedvr/models/dit/nadit.h"
#include "seedvr/models/generator/generator.h"
#include "seedvr/models/vae/vae_model.h"
#include "seedvr/models/vae/vae_weights.h"
#include "seedvr/text/text_embeddings.h"

namespace seedvr::infer {
namespace {

bool IsImage(const std::string& path) {
  for (const char* ext : {".png", ".jpg", ".jpeg"}) {
    if (absl::EndsWithIgnoreCase(path, ext)) return true;
  }
  return false;
}

class RestorerImpl : public Restorer {
 public:
  RestorerImpl(RestorerOptions o, config::TrainConfig config, generator::SeedVR2Generator generator, vae::VideoVAE vae,
               c10::Device device, at::ScalarType vae_dtype)
      : options_(std::move(o)),
        config_(std::move(config)),
        generator_(std::move(generator)),
        vae_(std::move(vae)),
        device_(device),
        vae_dtype_(vae_dtype) {}

  absl::Status RestoreFile(const std::string& input, const std::string& output,
                           const std::function<void(const std::string&)>& progress) override {
    absl::Status s = Restore(input, output, progress);
    if (s.ok() || absl::StrContains(s.message(), input)) return s;
    return absl::Status(s.code(), absl::StrCat(input, ": ", s.message()));
  }

 private:
  absl::Status Restore(const std::string& input, const std::string& output,
                       const std::function<void(const std::string&)>& progress) {
    torch::NoGradGuard no_grad;
    // The frame count sizes the read, so it must be exact: mkv, webm and still
    // images store none, and duration x fps counts a longer soundtrack too.
    // Count packets there; the frames the decoder delivers are what gets
    // restored (ReadClip without `padded` never repeats a frame).
    const bool image = IsImage(input);
    data::ReaderOptions read;
    read.exact_frame_count = true;
    auto info = data::ProbeVideo(input, read);
    if (!info.ok()) return info.status();
    progress("decode");
    auto clip = data::ReadClip(input, 0, static_cast<int>(std::max<int64_t>(info->frame_count, 1)), read);
    if (!clip.ok()) return clip.status();
    const int64_t frames = clip->t;
    at::Tensor video = core::ToDevice(data::ClipToTensor(*clip, data::ClipLayout::kTCHW), device_);  // [-1, 1]
    at::Tensor lq = DivisibleCrop(AreaResize((video + 1) / 2, options_.res_h, options_.res_w)) * 2 - 1;
    at::Tensor padded = PadTo4nPlus1(lq, options_.sp_size).permute({1, 0, 2, 3}).unsqueeze(0).contiguous();

    at::Generator gen = core::SeededGenerator(device_, options_.seed);
    progress("encode");
    auto posterior = vae_->Encode(padded.to(vae_dtype_));
    if (!posterior.ok()) return posterior.status();
    const double scale = vae_->config().scaling_factor;
    at::Tensor latent = posterior->Sample(gen).to(at::kFloat) * scale;
    progress("restore");
    at::Tensor noise = at::randn(latent.sizes(), gen, latent.options());
    at::Tensor restored = generator_.Restore(latent, noise);
    progress("decode latents");
    auto decoded = vae_->Decode((restored / scale).to(vae_dtype_));
    if (!decoded.ok()) return decoded.status();
    at::Tensor out = (*decoded)[0].to(at::kFloat).permute({1, 0, 2, 3}).narrow(0, 0, frames);  // trim the padding
    if (options_.color_fix) out = WaveletColorFix(out, lq);
    out = out.to(at::kCPU);
    progress("write");
    data::Clip result = data::TensorToClip(out.clamp(-1, 1).contiguous(), data::ClipLayout::kTCHW, info->fps);
    data::EncoderOptions enc;
    enc.fps = info->fps > 0 ? info->fps : 25.0;
    if (IsImage(output)) {
      enc.codec = absl::EndsWithIgnoreCase(output, ".png") ? "png" : "mjpeg";
      if (enc.codec == "png") enc.pix_fmt = "rgb24";
      enc.qscale = 2;
    } else {
      enc.crf = 12;  // restored detail should survive the output encode
    }
    auto audio = image ? absl::StatusOr<bool>(false) : data::HasAudio(input);
    if (!audio.ok()) return audio.status();
    if (!*audio) return data::WriteVideo(output, result, enc);
    // Keep the soundtrack: write the video beside the output, then copy the
    // input's audio packets in with it.
    const std::filesystem::path out_path(output);
    const std::string silent = (out_path.parent_path() / (".noaudio." + out_path.filename().string())).string();
    absl::Status s = data::WriteVideo(silent, result, enc);
    if (s.ok()) s = data::MuxAudio(silent, input, output);
    std::filesystem::remove(silent);
    return s;
  }

  RestorerOptions options_;
  config::TrainConfig config_;
  generator::SeedVR2Generator generator_;
  vae::VideoVAE vae_;
  c10::Device device_;
  at::ScalarType vae_dtype_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Restorer>> Restorer::Create(const RestorerOptions& o) {
  if (!(o.memory_limit_gb >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--memory_limit_gb: expected 0 (the config's) or a bound in GB, got ", o.memory_limit_gb));
  }
  // A training checkpoint carries its config and EMA weights; a released
  // model needs --config.
  auto raw = core::ReadPth(o.checkpoint);
  const bool training = raw.ok() && raw->find("format") != nullptr;
  absl::StatusOr<config::TrainConfig> config = absl::InvalidArgumentError("");
  if (!o.config.empty()) {
    config = config::LoadTrainConfig(o.config);
  } else if (training && raw->find("config") != nullptr && raw->find("config")->is_string()) {
    config =
        config::ParseTrainConfig(std::get<std::string>(raw->find("config")->v), {}, o.checkpoint + " (stored config)");
  } else {
    return absl::InvalidArgumentError(absl::StrCat(o.checkpoint, " is a released model without a stored config: pass --config"));
  }
  if (!config.ok()) return config.status();
  config::TrainConfig c = *config;
  if (o.memory_limit_gb > 0) {
    c.vae.memory_limit_gb = c.vae.conv_max_mem_gb = c.vae.norm_max_mem_gb = o.memory_limit_gb;
  }
  c.model.gradient_checkpointing = false;
  c.model.window_reference_grid = {0, 0};  // the official rule: windows from each input's own grid
  auto device = core::ResolveDevice(o.device, core::LocalRankFromEnv(), "--device");
  if (!device.ok()) return device.status();
  auto bf16 = core::ResolveBf16(o.precision, *device, dit::IsBf16Compute(c.model), "--precision");
  if (!bf16.ok()) return bf16.status();
  c.model.compute_dtype = *bf16 ? "bfloat16" : "float32";
  const at::ScalarType vae_dtype = *bf16 && device->is_cuda() ? at::kBFloat16 : at::kFloat;

  auto weights =
      training ? core::ToTensorList(*raw->find("ema"), o.checkpoint + "['ema']") : core::ReadStateDict(o.checkpoint);
  if (!weights.ok()) return weights.status();
  dit::NaDiT model(c.model);
  if (auto s = dit::LoadDiTWeights(*model, *weights); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(o.checkpoint, " does not fit the model config: ", s.message()));
  }
  model->eval();
  model->to(*device);

  const std::string text_path = o.text_embeddings.empty() ? c.training.text_embeddings : o.text_embeddings;
  auto text = text::LoadTextEmbeddings(text_path, c.model.txt_in_dim);
  if (!text.ok()) return text.status();

  vae::VideoVAE vae(c.vae);
  const std::string vae_path = o.vae_checkpoint.empty() ? c.training.vae_checkpoint : o.vae_checkpoint;
  if (!vae_path.empty()) {
    if (auto s = vae::LoadVAEWeights(*vae, vae_path); !s.ok()) return s;
  } else if (training && raw->find("vae") != nullptr) {
    auto vae_weights = core::ToTensorList(*raw->find("vae"), o.checkpoint + "['vae']");
    if (!vae_weights.ok()) return vae_weights.status();
    if (auto s = vae::LoadVAEWeights(*vae, *vae_weights); !s.ok()) return s;
  } else {
    return absl::InvalidArgumentError("no VAE weights: pass --vae_checkpoint ema_vae.pth");
  }
  vae->eval();
  vae->to(*device, vae_dtype);
  return std::unique_ptr<Restorer>(new RestorerImpl(
      o, c, generator::SeedVR2Generator(model, text->pos.to(*device, at::kFloat)), vae, *device, vae_dtype));
}

}  // namespace seedvr::infer

// `vae`: run the SeedVR causal video VAE from the command line.
//
//   vae run    --config VAE.yaml --weights W --inputs IO.safetensors --output OUT.safetensors
//   vae encode --config VAE.yaml --weights W --input IN.safetensors|VIDEO --output OUT.safetensors
//   vae decode --config VAE.yaml --weights W --input IN.safetensors --output OUT.safetensors|VIDEO
//
// `run` follows the parity-fixture format (shared/fixtures/README.md): it
// encodes `video` and decodes `latent_in`, full-sequence and causally
// sliced, writes the six outputs and prints max |diff| against reference
// tensors of the same name found in the inputs file.
//
// Tensors are read and written through ReadClip/WriteClip below: safetensors
// files, or video files (mp4, mkv, webm, avi, mov) for clips in [-1, 1].
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "seedvr/config/model_config.h"
#include "seedvr/core/cli.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/data/clip_tensor.h"
#include "seedvr/data/video_reader.h"
#include "seedvr/data/video_writer.h"
#include "seedvr/models/vae/vae_model.h"
#include "seedvr/models/vae/vae_weights.h"

ABSL_FLAG(std::string, config, "", "VAE config YAML (official key names, e.g. a fixture's config.yaml)");
ABSL_FLAG(std::string, weights, "", "VAE weights: .pth or .safetensors (strictly matched to --config)");
ABSL_FLAG(std::string, inputs, "", "run: fixture io.safetensors holding `video` and `latent_in`");
ABSL_FLAG(std::string, input, "", "encode/decode: safetensors file holding the input tensor");
ABSL_FLAG(std::string, tensor, "", "encode/decode: name of the input tensor (default: `video` / `latent`, "
          "or the only tensor in the file)");
ABSL_FLAG(std::string, output, "", "output safetensors file");
ABSL_FLAG(std::string, dtype, "fp32", "compute dtype: fp32, bf16 or fp16");
ABSL_FLAG(std::string, slicing, "auto", "causal temporal slicing: auto (memory plan), on, off");
ABSL_FLAG(double, conv_max_mem_gb, -1,
          "convolutions whose input exceeds this (GB) run in exact spatial tiles; -1: config value; 0: never");
ABSL_FLAG(double, norm_max_mem_gb, -1,
          "GroupNorms whose input exceeds this (GB) run in chunks of groups; -1: config value; 0: never");
ABSL_FLAG(double, memory_limit_gb, -1,
          "activation budget choosing full sequence or temporal slices; -1: config value; 0: none");
ABSL_FLAG(double, fps, 25.0, "decode: frame rate of a video output");
ABSL_FLAG(bool, pad_frames, false, "encode: pad T to 4n+1 with copies of the last frame instead of failing");
ABSL_FLAG(bool, sample, false, "encode: also write `latent`, a posterior sample (seeded by --seed)");
ABSL_FLAG(uint64_t, seed, 666, "encode: seed of the posterior sample");
ABSL_FLAG(bool, dit_layout, false, "encode: write `latent` as the DiT expects it, (T', h, w, 16) scaled by "
          "scaling_factor; decode: read the input in that layout");
ABSL_FLAG(int32_t, threads, 0, "intra-op threads; 0: LibTorch default");

namespace seedvr {
namespace {

using vae::VAERunOptions;

absl::StatusOr<at::ScalarType> ParseDtype(const std::string& s) {
  if (s == "fp32" || s == "float32") return at::kFloat;
  if (s == "bf16" || s == "bfloat16") return at::kBFloat16;
  if (s == "fp16" || s == "float16") return at::kHalf;
  return absl::InvalidArgumentError(absl::StrCat("--dtype: expected fp32, bf16 or fp16, got ", s));
}

absl::StatusOr<VAERunOptions> RunOptionsFromFlags() {
  VAERunOptions o;
  const std::string s = absl::GetFlag(FLAGS_slicing);
  if (s == "auto") o.slicing = VAERunOptions::Switch::kAuto;
  else if (s == "on") o.slicing = VAERunOptions::Switch::kOn;
  else if (s == "off") o.slicing = VAERunOptions::Switch::kOff;
  else return absl::InvalidArgumentError(absl::StrCat("--slicing: expected auto, on or off, got ", s));
  o.conv_max_mem_gb = absl::GetFlag(FLAGS_conv_max_mem_gb);
  o.norm_max_mem_gb = absl::GetFlag(FLAGS_norm_max_mem_gb);
  for (auto [flag, v] :
       {std::pair{"--conv_max_mem_gb", o.conv_max_mem_gb}, std::pair{"--norm_max_mem_gb", o.norm_max_mem_gb}}) {
    if (v < 0 && v != -1) {
      return absl::InvalidArgumentError(absl::StrCat(flag,
                                                     ": expected -1 (config value), 0 (never split) or a "
                                                     "positive bound in GB, got ",
                                                     v));
    }
  }
  o.pad_last_frame = absl::GetFlag(FLAGS_pad_frames);
  return o;
}

absl::StatusOr<vae::VideoVAE> BuildVAE() {
  if (absl::GetFlag(FLAGS_config).empty()) return absl::InvalidArgumentError("--config is required");
  if (absl::GetFlag(FLAGS_weights).empty()) return absl::InvalidArgumentError("--weights is required");
  auto cfg = config::LoadVAEConfigFile(absl::GetFlag(FLAGS_config));
  if (!cfg.ok()) return cfg.status();
  if (absl::GetFlag(FLAGS_memory_limit_gb) >= 0) cfg->memory_limit_gb = absl::GetFlag(FLAGS_memory_limit_gb);
  if (absl::Status s = vae::ValidateVAEConfig(*cfg); !s.ok()) return s;
  auto dtype = ParseDtype(absl::GetFlag(FLAGS_dtype));
  if (!dtype.ok()) return dtype.status();
  vae::VideoVAE model(*cfg);
  model->to(*dtype);
  if (absl::Status s = vae::LoadVAEWeights(*model, absl::GetFlag(FLAGS_weights)); !s.ok()) return s;
  model->eval();
  return model;
}

// The one place that knows file formats. Video/image files go here (through
// seedvr/data's reader, normalised to (1, 3, T, H, W) in [-1, 1]).
absl::StatusOr<at::Tensor> ReadClip(const std::string& path, const std::string& name,
                                    const std::string& fallback) {
  if (!absl::EndsWith(path, ".safetensors")) {
    // An exact count (packets, where the container stores none): duration x
    // fps would read past the last frame of an mkv with a longer soundtrack.
    const data::ReaderOptions exact{.exact_frame_count = true};
    auto info = data::ProbeVideo(path, exact);
    if (!info.ok()) return info.status();
    auto clip = data::ReadClip(path, 0, static_cast<int>(std::max<int64_t>(info->frame_count, 1)), exact);
    if (!clip.ok()) return clip.status();
    return data::ClipToTensor(*clip, data::ClipLayout::kCTHW).unsqueeze(0);
  }
  auto tensors = core::ReadSafetensors(path);
  if (!tensors.ok()) return tensors.status();
  const std::string want = name.empty() ? fallback : name;
  for (auto& nt : *tensors)
    if (nt.name == want) return nt.tensor;
  if (name.empty() && tensors->size() == 1) return tensors->front().tensor;
  return absl::NotFoundError(absl::StrCat(path, ": no tensor named `", want, "` (use --tensor)"));
}

absl::Status WriteClip(const std::string& path, const core::TensorList& out) {
  if (!absl::EndsWith(path, ".safetensors")) {
    // A video file takes the decoded clip (1, 3, T, H, W) in [-1, 1].
    if (out.size() != 1 || out[0].tensor.dim() != 5 || out[0].tensor.size(0) != 1 || out[0].tensor.size(1) != 3)
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": only a decoded clip can be written as video; use a .safetensors output"));
    data::EncoderOptions enc;
    enc.fps = absl::GetFlag(FLAGS_fps);
    return data::WriteVideo(
        path, data::TensorToClip(out[0].tensor[0].clamp(-1, 1).contiguous(), data::ClipLayout::kCTHW, enc.fps), enc);
  }
  core::TensorList contiguous;
  for (const auto& nt : out) contiguous.push_back({nt.name, nt.tensor.contiguous()});
  return core::WriteSafetensors(path, contiguous);
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}


absl::Status Run() {
  if (absl::GetFlag(FLAGS_inputs).empty() || absl::GetFlag(FLAGS_output).empty())
    return absl::InvalidArgumentError("run needs --inputs and --output");
  auto model = BuildVAE();
  if (!model.ok()) return model.status();
  auto opts = RunOptionsFromFlags();
  if (!opts.ok()) return opts.status();
  auto io = core::ReadSafetensors(absl::GetFlag(FLAGS_inputs));
  if (!io.ok()) return io.status();
  std::map<std::string, at::Tensor> in;
  for (auto& nt : *io) in[nt.name] = nt.tensor;
  if (!in.count("video") || !in.count("latent_in"))
    return absl::InvalidArgumentError("--inputs must hold `video` and `latent_in`");

  VAERunOptions full = *opts, sliced = *opts;
  full.slicing = VAERunOptions::Switch::kOff;
  sliced.slicing = VAERunOptions::Switch::kOn;
  core::TensorList out;
  for (const auto* mode : {&full, &sliced}) {
    const bool is_sliced = mode == &sliced;
    auto t0 = std::chrono::steady_clock::now();
    auto post = (*model)->Encode(in["video"], *mode);
    if (!post.ok()) return post.status();
    const double te = Seconds(t0);
    t0 = std::chrono::steady_clock::now();
    auto dec = (*model)->Decode(in["latent_in"], *mode);
    if (!dec.ok()) return dec.status();
    std::printf("%-6s encode %.3f s, decode %.3f s (%s)\n", is_sliced ? "sliced" : "full", te,
                Seconds(t0), (*model)->last_plan().Describe().c_str());
    out.push_back({is_sliced ? "mean_sliced" : "posterior_mean", post->mean.to(at::kFloat)});
    out.push_back({is_sliced ? "logvar_sliced" : "posterior_logvar", post->logvar.to(at::kFloat)});
    out.push_back({is_sliced ? "decoded_sliced" : "decoded", dec->to(at::kFloat)});
  }
  for (const auto& nt : out) {
    auto ref = in.find(nt.name);
    if (ref == in.end()) continue;
    if (!ref->second.sizes().equals(nt.tensor.sizes())) {
      std::printf("%-17s shape [%s] vs reference [%s]\n", nt.name.c_str(),
                  c10::str(nt.tensor.sizes()).c_str(), c10::str(ref->second.sizes()).c_str());
      continue;
    }
    std::printf("%-17s max|diff| %.3e\n", nt.name.c_str(),
                (nt.tensor - ref->second.to(at::kFloat)).abs().max().item<double>());
  }
  return WriteClip(absl::GetFlag(FLAGS_output), out);
}

absl::Status Encode() {
  if (absl::GetFlag(FLAGS_input).empty() || absl::GetFlag(FLAGS_output).empty())
    return absl::InvalidArgumentError("encode needs --input and --output");
  auto model = BuildVAE();
  if (!model.ok()) return model.status();
  auto opts = RunOptionsFromFlags();
  if (!opts.ok()) return opts.status();
  auto video = ReadClip(absl::GetFlag(FLAGS_input), absl::GetFlag(FLAGS_tensor), "video");
  if (!video.ok()) return video.status();
  const auto t0 = std::chrono::steady_clock::now();
  auto post = (*model)->Encode(*video, *opts);
  if (!post.ok()) return post.status();
  std::printf("encoded [%s] -> [%s] in %.3f s (%s)\n", c10::str(video->sizes()).c_str(),
              c10::str(post->mean.sizes()).c_str(), Seconds(t0),
              (*model)->last_plan().Describe().c_str());
  core::TensorList out = {{"posterior_mean", post->mean.to(at::kFloat)},
                          {"posterior_logvar", post->logvar.to(at::kFloat)}};
  if (absl::GetFlag(FLAGS_sample) || absl::GetFlag(FLAGS_dit_layout)) {
    at::NoGradGuard no_grad;
    at::Tensor z = absl::GetFlag(FLAGS_sample)
                       ? post->Sample(at::make_generator<at::CPUGeneratorImpl>(absl::GetFlag(FLAGS_seed)))
                       : post->mean;
    if (absl::GetFlag(FLAGS_dit_layout)) z = (*model)->ToDiTLatent(z);
    out.push_back({"latent", z.to(at::kFloat)});
  }
  return WriteClip(absl::GetFlag(FLAGS_output), out);
}

absl::Status Decode() {
  if (absl::GetFlag(FLAGS_input).empty() || absl::GetFlag(FLAGS_output).empty())
    return absl::InvalidArgumentError("decode needs --input and --output");
  auto model = BuildVAE();
  if (!model.ok()) return model.status();
  auto opts = RunOptionsFromFlags();
  if (!opts.ok()) return opts.status();
  auto z = ReadClip(absl::GetFlag(FLAGS_input), absl::GetFlag(FLAGS_tensor), "latent");
  if (!z.ok()) return z.status();
  const auto t0 = std::chrono::steady_clock::now();
  auto dec = absl::GetFlag(FLAGS_dit_layout) ? (*model)->DecodeFromDiT(*z, *opts)
                                             : (*model)->Decode(*z, *opts);
  if (!dec.ok()) return dec.status();
  std::printf("decoded [%s] -> [%s] in %.3f s (%s)\n", c10::str(z->sizes()).c_str(),
              c10::str(dec->sizes()).c_str(), Seconds(t0),
              (*model)->last_plan().Describe().c_str());
  return WriteClip(absl::GetFlag(FLAGS_output), {{"decoded", dec->to(at::kFloat)}});
}

}  // namespace
}  // namespace seedvr

int main(int argc, char** argv) {
  seedvr::core::ExitOnUncaughtException("vae");
  absl::SetProgramUsageMessage(
      "Runs the SeedVR causal video VAE.\n\n"
      "  vae run    --config VAE.yaml --weights W --inputs IO.safetensors --output OUT.safetensors\n"
      "      Fixture format: encodes `video`, decodes `latent_in`, full and sliced; writes\n"
      "      posterior_mean, posterior_logvar, decoded, mean_sliced, logvar_sliced,\n"
      "      decoded_sliced and prints max|diff| against same-named reference tensors.\n"
      "  vae encode --config VAE.yaml --weights W --input IN.safetensors|VIDEO --output OUT.safetensors\n"
      "      `video` (B,3,T,H,W) in [-1,1], T = 4n+1 -> posterior_mean/logvar [, latent].\n"
      "  vae decode --config VAE.yaml --weights W --input IN.safetensors --output OUT.safetensors|VIDEO\n"
      "      `latent` (B,16,T',h,w), or (T',h,w,16) scaled with --dit_layout -> `decoded`.\n\n"
      "Memory, all exact: --memory_limit_gb picks full or sliced per call (--slicing forces);\n"
      "--conv_max_mem_gb / --norm_max_mem_gb bound each convolution's and GroupNorm's input.");
  std::vector<char*> args = seedvr::core::ParseToolCommandLine(argc, argv);
  seedvr::core::EnterUserWorkingDirectory();  // relative paths mean the user's folder
  if (args.size() != 2) {
    std::fprintf(stderr, "usage: vae run|encode|decode [flags]; see --help\n");
    return 2;
  }
  if (absl::GetFlag(FLAGS_threads) > 0) at::set_num_threads(absl::GetFlag(FLAGS_threads));
  const std::string cmd = args[1];
  absl::Status s;
  if (cmd == "run") s = seedvr::Run();
  else if (cmd == "encode") s = seedvr::Encode();
  else if (cmd == "decode") s = seedvr::Decode();
  else s = absl::InvalidArgumentError(absl::StrCat("unknown subcommand `", cmd, "` (run, encode, decode)"));
  if (!s.ok()) {
    std::fprintf(stderr, "vae: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}

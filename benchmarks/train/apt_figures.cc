// Figures of one APT training step and one restoration at a config's model
// shape, on the device the config resolves to (training.device):
//
//   apt_figures --config configs/train.yaml [--set section.key=value ...]
//               [--steps 3] [--restore 33x720x1280] [--no-step] [--no-restore]
//
// Prints the device, its measured bf16 matrix-product rate, the fused
// attention kernel LibTorch's SDPA picks for each distinct window length of
// the step's clip and of the restored clip (windows of one length run as one
// batched call: models/dit/window_plan.h), then for the
// training step (random weights, synthetic clips at data.crop_size x
// data.num_frames, batch training.batch_size): seconds per step after one
// warm-up step, peak device memory, the DiT's model FLOPs and MFU against the
// measured rate; for the restoration (a random clip of frames x height x
// width through VAE encode, one DiT step, VAE decode): seconds and peak
// memory. MFU counts the DiT's matrix products only (models/dit/dit_memory.h):
// per step d_steps no-grad forwards in the discriminator phase and one
// forward + backward in the generator phase.
#include <ATen/ATen.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "seedvr/config/config.h"
#include "seedvr/core/device.h"
#include "seedvr/data/synthetic.h"
#include "seedvr/data/video_writer.h"
#include "seedvr/models/dit/dit_memory.h"
#include "seedvr/models/dit/nadit.h"
#include "seedvr/models/generator/generator.h"
#include "seedvr/models/vae/vae_model.h"
#include "seedvr/text/text_embeddings.h"
#include "seedvr/train/dispatch.h"
#include "seedvr/train/run.h"

namespace seedvr {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }
double GiB(double bytes) { return bytes / (1024.0 * 1024.0 * 1024.0); }

// Mean rate of n x n x n bf16 products after three warm-ups, in FLOP/s.
double MatmulRate(const c10::Device& device) {
  const int64_t n = device.is_cuda() ? 8192 : 1024;
  const int iters = device.is_cuda() ? 10 : 3;
  auto opts = at::TensorOptions().device(device).dtype(at::kBFloat16);
  at::Tensor a = at::randn({n, n}, opts), b = at::randn({n, n}, opts);
  for (int i = 0; i < 3; ++i) at::matmul(a, b);
  core::Synchronize(device);
  const auto start = Clock::now();
  for (int i = 0; i < iters; ++i) at::matmul(a, b);
  core::Synchronize(device);
  return 2.0 * n * n * n * iters / Seconds(start);
}

// The DiT token grid of a clip of frames x height x width pixels.
dit::Grid3 TokenGrid(const config::TrainConfig& c, int64_t frames, int64_t height, int64_t width) {
  const int64_t lt = (frames - 1) / c.vae.temporal_downsample_factor + 1;
  const int64_t down = c.vae.spatial_downsample_factor;
  return {lt / c.model.patch_size[0], height / down / c.model.patch_size[1], width / down / c.model.patch_size[2]};
}

const char* SdpaBackendName(int64_t backend) {
  switch (backend) {
    case 0:
      return "math";
    case 1:
      return "flash_attention";
    case 2:
      return "efficient_attention";
    case 3:
      return "cudnn_attention";
    default:
      return "other";
  }
}

// The SDPA kernel for each window length (video tokens + text) of a clip,
// at the model's heads and head_dim in bf16.
void PrintAttentionBackends(const config::TrainConfig& c, const c10::Device& device, const char* what,
                            const dit::Grid3& grid, int64_t text) {
  std::vector<int64_t> lengths;
  for (int64_t layer = 0; layer < std::min<int64_t>(2, c.model.num_layers); ++layer) {
    for (const dit::Window& w : dit::DiTLayerWindows(c.model, layer, grid)) {
      if (std::find(lengths.begin(), lengths.end(), w.numel() + text) == lengths.end()) {
        lengths.push_back(w.numel() + text);
      }
    }
  }
  std::sort(lengths.begin(), lengths.end());
  std::string line;
  for (int64_t n : lengths) {
    at::Tensor q =
        at::zeros({1, c.model.heads, n, c.model.head_dim}, at::TensorOptions().device(device).dtype(at::kBFloat16));
    const int64_t backend = at::_fused_sdp_choice(q, q, q);
    line += (line.empty() ? "" : ", ") + std::to_string(n) + ": " + SdpaBackendName(backend);
  }
  std::printf("attention (%s, window tokens incl. %ld text): %s\n", what, static_cast<long>(text), line.c_str());
}

int RunStep(const config::TrainConfig& base, int64_t steps, double rate) {
  const std::string dir = (std::filesystem::temp_directory_path() / "seedvr_apt_figures").string();
  std::filesystem::create_directories(dir + "/hq");
  config::TrainConfig c = base;
  for (int i = 0; i < 2; ++i) {
    data::SyntheticVideoOptions o;
    o.width = static_cast<int>(c.data.crop_size.w);
    o.height = static_cast<int>(c.data.crop_size.h);
    o.frames = static_cast<int>(c.data.num_frames);
    o.seed = 1 + i;
    if (auto s = data::WriteVideo(dir + "/hq/clip" + std::to_string(i) + ".mp4", data::MakeSyntheticClip(o)); !s.ok()) {
      std::fprintf(stderr, "apt_figures: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  const std::string text_path = dir + "/text.safetensors";
  if (auto s = text::WriteTextEmbeddings(text_path, text::MakeDeterministicEmbeddings(c.model.txt_in_dim), "random");
      !s.ok()) {
    std::fprintf(stderr, "apt_figures: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  c.data.data_root = dir;
  c.data.generate_lq = true;
  c.training.text_embeddings = text_path;
  c.training.dit_checkpoint.clear();
  c.training.vae_checkpoint.clear();
  c.training.sample_posterior = false;
  c.training.eval_clips = 0;
  c.checkpoint.resume.clear();
  auto selected = train::SelectTrainer(c, 1);
  if (!selected.ok()) {
    std::fprintf(stderr, "apt_figures: %s\n", std::string(selected.status().message()).c_str());
    return 2;
  }
  const train::TrainerParams& p = selected->second;
  core::ResetPeakAllocatedBytes(p.device);
  auto run = selected->first->build(p, nullptr);  // one process
  if (!run.ok()) {
    std::fprintf(stderr, "apt_figures: %s\n", std::string(run.status().message()).c_str());
    return 1;
  }
  train::TrainerInterface& trainer = *(*run)->trainer;
  const int64_t text_tokens = (*run)->parts->text.size(0);
  std::printf("step: %s, %s, batch %ld x %ldx%ldx%ld, %s, checkpointing %s\n", trainer.Description().c_str(),
              p.bf16 ? "bf16" : "fp32", static_cast<long>(p.batch_size), static_cast<long>(c.data.num_frames),
              static_cast<long>(c.data.crop_size.h), static_cast<long>(c.data.crop_size.w),
              p.optimizer_offload ? "optimizer offloaded" : "optimizer on device",
              c.model.gradient_checkpointing ? "on" : "off");
  std::vector<double> times;
  for (int64_t i = 0; i <= steps; ++i) {
    core::Synchronize(p.device);
    const auto start = Clock::now();
    auto m = trainer.Step();
    core::Synchronize(p.device);
    if (!m.ok()) {
      std::fprintf(stderr, "apt_figures: step %ld: %s\n", static_cast<long>(i),
                   std::string(m.status().message()).c_str());
      return 1;
    }
    if (i > 0) times.push_back(Seconds(start));  // step 0 warms up
  }
  double mean = 0;
  for (double t : times) mean += t / static_cast<double>(times.size());
  const dit::Grid3 grid = TokenGrid(c, c.data.num_frames, c.data.crop_size.h, c.data.crop_size.w);
  PrintAttentionBackends(c, p.device, "step clip", grid, text_tokens);
  const double forward = dit::DiTForwardFlops(c.model, grid, text_tokens, p.batch_size * p.grad_accum);
  const double flops = forward * static_cast<double>(p.d_steps + 3);
  std::printf(
      "step: %.3f s/step (mean of %zu after a warm-up), peak %.2f GiB, DiT %.1f TFLOP/step, %.1f TFLOP/s, "
      "MFU %.1f%% of the measured bf16 rate\n",
      mean, times.size(), GiB(core::PeakAllocatedBytes(p.device)), flops / 1e12, flops / mean / 1e12,
      100.0 * flops / mean / rate);
  return 0;
}

int RunRestore(const config::TrainConfig& base, int64_t frames, int64_t height, int64_t width) {
  config::TrainConfig c = base;
  auto device = core::ResolveDevice(c.training.device, core::LocalRankFromEnv(), "training.device");
  if (!device.ok()) {
    std::fprintf(stderr, "apt_figures: %s\n", std::string(device.status().message()).c_str());
    return 2;
  }
  const bool bf16 = device->is_cuda();
  c.model.compute_dtype = bf16 ? "bfloat16" : c.model.compute_dtype;
  c.model.gradient_checkpointing = false;
  const at::ScalarType vae_dtype = bf16 ? at::kBFloat16 : at::kFloat;
  torch::NoGradGuard no_grad;
  dit::NaDiT model(c.model);
  model->eval();
  model->to(*device);
  vae::VideoVAE vae(c.vae);
  vae->eval();
  vae->to(*device, vae_dtype);
  const at::Tensor text = text::MakeDeterministicEmbeddings(c.model.txt_in_dim).pos;
  generator::SeedVR2Generator g(model, text.to(*device));
  PrintAttentionBackends(c, *device, "restored clip", TokenGrid(c, frames, height, width), text.size(0));
  at::Tensor video = at::rand({1, 3, frames, height, width}, at::TensorOptions().device(*device)) * 2 - 1;
  core::Synchronize(*device);
  core::ResetPeakAllocatedBytes(*device);
  const auto start = Clock::now();
  auto post = vae->Encode(video.to(vae_dtype));
  if (!post.ok()) {
    std::fprintf(stderr, "apt_figures: %s\n", std::string(post.status().message()).c_str());
    return 1;
  }
  const double scale = c.vae.scaling_factor;
  at::Tensor latent = post->mean.to(at::kFloat) * scale;
  core::Synchronize(*device);
  const double encode = Seconds(start);
  at::Tensor restored = g.Restore(latent, at::randn_like(latent));
  core::Synchronize(*device);
  const double dit_s = Seconds(start) - encode;
  auto decoded = vae->Decode((restored / scale).to(vae_dtype));
  core::Synchronize(*device);
  if (!decoded.ok()) {
    std::fprintf(stderr, "apt_figures: %s\n", std::string(decoded.status().message()).c_str());
    return 1;
  }
  const double total = Seconds(start);
  std::printf("restore: %ldx%ldx%ld, %s: %.2f s (VAE encode %.2f, DiT %.2f, VAE decode %.2f), peak %.2f GiB\n",
              static_cast<long>(frames), static_cast<long>(height), static_cast<long>(width), bf16 ? "bf16" : "fp32",
              total, encode, dit_s, total - encode - dit_s, GiB(core::PeakAllocatedBytes(*device)));
  return 0;
}

}  // namespace
}  // namespace seedvr

int main(int argc, char** argv) {
  std::vector<std::string> args;
  int64_t steps = 3, frames = 33, height = 720, width = 1280;
  bool step = true, restore = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::printf(
          "apt_figures --config FILE [--set section.key=value ...] [--steps N] [--restore TxHxW] "
          "[--no-step] [--no-restore]\n%s",
          seedvr::config::TrainCommandLineHelp().c_str());
      return 0;
    } else if (a == "--steps") {
      if (i + 1 >= argc || !absl::SimpleAtoi(argv[++i], &steps) || steps < 1) {
        std::fprintf(stderr, "apt_figures: --steps: expected a positive count, got %s\n",
                     i < argc ? argv[i] : "nothing");
        return 2;
      }
    } else if (a == "--restore") {
      std::vector<std::string> d = absl::StrSplit(i + 1 < argc ? argv[++i] : "", 'x');
      if (d.size() != 3 || !absl::SimpleAtoi(d[0], &frames) || !absl::SimpleAtoi(d[1], &height) ||
          !absl::SimpleAtoi(d[2], &width) || frames < 1 || height < 16 || width < 16) {
        std::fprintf(stderr, "apt_figures: --restore: expected FRAMESxHEIGHTxWIDTH, got %s\n", argv[i]);
        return 2;
      }
    } else if (a == "--no-step") {
      step = false;
    } else if (a == "--no-restore") {
      restore = false;
    } else {
      args.push_back(a);
    }
  }
  auto config = seedvr::config::ParseTrainCommandLine(args);
  if (!config.ok()) {
    std::fprintf(stderr, "apt_figures: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  auto device =
      seedvr::core::ResolveDevice(config->training.device, seedvr::core::LocalRankFromEnv(), "training.device");
  if (!device.ok()) {
    std::fprintf(stderr, "apt_figures: %s\n", std::string(device.status().message()).c_str());
    return 2;
  }
  const double rate = seedvr::MatmulRate(*device);
  std::printf("device: %s; bf16 matmul %.1f TFLOP/s (measured)\n", seedvr::core::DeviceDescription(*device).c_str(),
              rate / 1e12);
  std::fflush(stdout);
  if (step) {
    if (int rc = seedvr::RunStep(*config, steps, rate); rc != 0) return rc;
    std::fflush(stdout);
  }
  if (restore) return seedvr::RunRestore(*config, frames, height, width);
  return 0;
}

// bazel run //tools:infer -- --video_path FILE|DIR --output_dir DIR --checkpoint CKPT [options]
//
// Restores videos (or images) with a trained checkpoint's EMA weights, or a
// released SeedVR2 model (with --config). Each input is restored on its own:
// a failure is reported and the rest continue; existing outputs are kept
// unless --overwrite.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "seedvr/core/cli.h"
#include "seedvr/infer/restorer.h"

ABSL_FLAG(std::string, video_path, "", "a video or image file, or a folder of them");
ABSL_FLAG(std::string, output_dir, "", "where restored files go (same file names)");
ABSL_FLAG(std::string, checkpoint, "", "training checkpoint (its EMA weights) or released .pth/.safetensors");
ABSL_FLAG(std::string, config, "", "training config; default: the checkpoint's stored config");
ABSL_FLAG(std::string, vae_checkpoint, "", "VAE weights (default: the config's training.vae_checkpoint)");
ABSL_FLAG(std::string, text_embeddings, "", "text embeddings (default: the config's training.text_embeddings)");
ABSL_FLAG(int64_t, res_h, 720, "target height; the area res_h*res_w is kept, not the shape");
ABSL_FLAG(int64_t, res_w, 1280, "target width");
ABSL_FLAG(uint64_t, seed, 666, "noise seed");
ABSL_FLAG(bool, color_fix, true, "wavelet colour fix against the input");
ABSL_FLAG(double, memory_limit_gb, 0,
          "VAE memory bound (GB): activation budget for temporal slicing and the input bound of each "
          "convolution and GroupNorm, all exact; 0 keeps the config's");
ABSL_FLAG(int64_t, sp_size, 1, "sequence-parallel size (frames pad to 4*sp_size*n+1)");
ABSL_FLAG(bool, overwrite, false, "replace existing outputs");
ABSL_FLAG(std::string, device, "auto", "auto | cpu | cuda | cuda:N (auto: the GPU when one is present)");
ABSL_FLAG(std::string, precision, "auto", "auto | bf16 | fp32 (auto: bf16 on a GPU, the config's on the CPU)");

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("restores videos with a one-step SeedVR2 generator.\n"
                               "  infer --video_path FILE|DIR --output_dir DIR --checkpoint CKPT [--config CONFIG]");
  absl::ParseCommandLine(argc, argv);
  seedvr::core::EnterUserWorkingDirectory();
  const std::string in = absl::GetFlag(FLAGS_video_path), out_dir = absl::GetFlag(FLAGS_output_dir);
  if (in.empty() || out_dir.empty() || absl::GetFlag(FLAGS_checkpoint).empty()) {
    std::fprintf(stderr, "infer: --video_path, --output_dir and --checkpoint are required (see --help)\n");
    return 2;
  }
  std::vector<fs::path> inputs;
  std::error_code ec;
  if (fs::is_directory(in, ec)) {
    static const std::vector<std::string> kExt = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".png", ".jpg", ".jpeg"};
    for (const auto& e : fs::directory_iterator(in, ec)) {
      const std::string ext = absl::AsciiStrToLower(e.path().extension().string());
      if (e.is_regular_file() && std::find(kExt.begin(), kExt.end(), ext) != kExt.end()) inputs.push_back(e.path());
    }
    std::sort(inputs.begin(), inputs.end());
  } else if (fs::exists(in, ec)) {
    inputs.push_back(in);
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "infer: no video or image found at %s\n", in.c_str());
    return 2;
  }
  fs::create_directories(out_dir, ec);
  if (ec || !fs::is_directory(out_dir)) {
    std::fprintf(stderr, "infer: cannot create output folder %s: %s\n", out_dir.c_str(), ec.message().c_str());
    return 2;
  }

  seedvr::infer::RestorerOptions o;
  o.checkpoint = absl::GetFlag(FLAGS_checkpoint);
  o.config = absl::GetFlag(FLAGS_config);
  o.vae_checkpoint = absl::GetFlag(FLAGS_vae_checkpoint);
  o.text_embeddings = absl::GetFlag(FLAGS_text_embeddings);
  o.res_h = absl::GetFlag(FLAGS_res_h);
  o.res_w = absl::GetFlag(FLAGS_res_w);
  o.seed = absl::GetFlag(FLAGS_seed);
  o.color_fix = absl::GetFlag(FLAGS_color_fix);
  o.memory_limit_gb = absl::GetFlag(FLAGS_memory_limit_gb);
  o.sp_size = absl::GetFlag(FLAGS_sp_size);
  o.device = absl::GetFlag(FLAGS_device);
  o.precision = absl::GetFlag(FLAGS_precision);
  auto restorer = seedvr::infer::Restorer::Create(o);
  if (!restorer.ok()) {
    std::fprintf(stderr, "infer: %s\n", std::string(restorer.status().message()).c_str());
    return 1;
  }
  int failed = 0, skipped = 0, done = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const fs::path output = fs::path(out_dir) / inputs[i].filename();
    if (fs::exists(output) && !absl::GetFlag(FLAGS_overwrite)) {
      std::printf("[%zu/%zu] %s: %s exists, skipped (--overwrite replaces it)\n", i + 1, inputs.size(),
                  inputs[i].filename().c_str(), output.c_str());
      ++skipped;
      continue;
    }
    auto progress = [&](const std::string& stage) {
      std::printf("\r\033[K[%zu/%zu] %s: %s", i + 1, inputs.size(), inputs[i].filename().c_str(), stage.c_str());
      std::fflush(stdout);
    };
    absl::Status s = (*restorer)->RestoreFile(inputs[i].string(), output.string(), progress);
    if (s.ok()) {
      std::printf("\r\033[K[%zu/%zu] %s -> %s\n", i + 1, inputs.size(), inputs[i].filename().c_str(), output.c_str());
      ++done;
    } else {
      std::printf("\r\033[K[%zu/%zu] %s FAILED: %s\n", i + 1, inputs.size(), inputs[i].filename().c_str(),
                  std::string(s.message()).c_str());
      ++failed;
    }
  }
  std::printf("restored %d, skipped %d, failed %d\n", done, skipped, failed);
  return failed > 0 ? 1 : 0;
}

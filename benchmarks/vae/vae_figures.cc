// Prints the VAE's throughput and peak memory figures.
//
//   bazel run //benchmarks/vae:vae_figures              # every case, one process each
//   bazel run //benchmarks/vae:vae_figures -- --case=peak_bounded
//   bazel run //benchmarks/vae:vae_figures -- --case=throughput_full --conv_kernel=onednn
//
// Cases (random weights; 17-frame clips, fp32, CPU):
//   throughput_tiny  encode/decode frames per second at 256x256, fixture width
//                    [4, 8, 16, 16] (best of --repeats)
//   throughput_full  the same at full width [128, 256, 512, 512] (one run)
//   peak_plain       full-width encode of 17x512x512, no slicing, no split
//                    convolutions or GroupNorms
//   peak_bounded     the same with the official memory settings (slicing,
//                    convolutions and GroupNorms bounded at 0.5 GB): exact
// Peak memory is the process's VmHWM (/proc/self/status); each case runs in
// its own process so one case's peak never hides another's. "model" is the
// VmHWM right after building the model (weights and runtime), so the
// difference is what the forward pass added.
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "seedvr/models/vae/causal_conv.h"
#include "seedvr/models/vae/vae_model.h"

ABSL_FLAG(std::string, case, "", "one case to run in this process; empty: all, each in a child process");
ABSL_FLAG(int32_t, repeats, 3, "throughput_tiny: runs per measurement (best is reported)");
ABSL_FLAG(double, memory_limit_gb, 0.5, "peak_bounded: the activation memory bound");
ABSL_FLAG(int64_t, size, 512, "peak_*: frame edge in pixels");
ABSL_FLAG(std::string, conv_kernel, "auto",
          "the VAE's convolution kernels: auto (Winograd where it pays, else oneDNN), winograd, onednn, or "
          "libtorch (LibTorch's own choice)");

namespace {

using seedvr::vae::VAEConfig;
using seedvr::vae::VAERunOptions;
using seedvr::vae::VideoVAE;

double VmHWMGb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0 / 1024.0;
  return -1;
}

double Secs(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

VAEConfig Tiny() {
  VAEConfig c;
  c.block_out_channels = {4, 8, 16, 16};
  c.norm_num_groups = 2;
  return c;
}

int Throughput(const VAEConfig& c, const char* name, int repeats) {
  at::manual_seed(0);
  VideoVAE vae(c);
  VAERunOptions o;
  o.slicing = VAERunOptions::Switch::kOff;
  at::Tensor video = at::rand({1, 3, 17, 256, 256}) * 2 - 1;
  at::Tensor z = at::randn({1, 16, 5, 32, 32});
  double enc = 1e30, dec = 1e30;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto p = vae->Encode(video, o);
    if (!p.ok()) return std::fprintf(stderr, "%s\n", p.status().ToString().c_str()), 1;
    enc = std::min(enc, Secs(t0));
    t0 = std::chrono::steady_clock::now();
    auto d = vae->Decode(z, o);
    if (!d.ok()) return std::fprintf(stderr, "%s\n", d.status().ToString().c_str()), 1;
    dec = std::min(dec, Secs(t0));
  }
  std::printf(
      "%-16s 17x256x256 fp32, %d threads, %s kernels: encode %.2f s = %.2f frames/s; decode %.2f s = "
      "%.2f frames/s (best of %d); VmHWM %.2f GB\n",
      name, at::get_num_threads(), absl::GetFlag(FLAGS_conv_kernel).c_str(), enc, 17 / enc, dec, 17 / dec, repeats,
      VmHWMGb());
  return 0;
}

int Peak(bool bounded) {
  VAEConfig c;  // full width
  c.memory_limit_gb = bounded ? absl::GetFlag(FLAGS_memory_limit_gb) : 0;
  const int64_t s = absl::GetFlag(FLAGS_size);
  at::manual_seed(0);
  VideoVAE vae(c);
  at::Tensor video = at::rand({1, 3, 17, s, s}) * 2 - 1;
  const double model_gb = VmHWMGb();
  VAERunOptions o;
  if (!bounded) {
    o.slicing = VAERunOptions::Switch::kOff;
    o.conv_max_mem_gb = o.norm_max_mem_gb = 0;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto p = vae->Encode(video, o);
  if (!p.ok()) return std::fprintf(stderr, "%s\n", p.status().ToString().c_str()), 1;
  std::printf("%-16s full-width encode 17x%ldx%ld fp32 (%s): %.1f s; VmHWM %.2f GB "
              "(model+input %.2f GB, forward added %.2f GB)\n",
              bounded ? "peak_bounded" : "peak_plain", static_cast<long>(s),
              static_cast<long>(s), vae->last_plan().Describe().c_str(), Secs(t0), VmHWMGb(),
              model_gb, VmHWMGb() - model_gb);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("VAE throughput and peak-memory figures; see the file comment.");
  absl::ParseCommandLine(argc, argv);
  const std::string kernel = absl::GetFlag(FLAGS_conv_kernel);
  using seedvr::vae::ConvKernel;
  if (kernel == "auto") {
    seedvr::vae::SetConvKernel(ConvKernel::kAuto);
  } else if (kernel == "winograd") {
    seedvr::vae::SetConvKernel(ConvKernel::kWinograd);
  } else if (kernel == "onednn") {
    seedvr::vae::SetConvKernel(ConvKernel::kOneDnn);
  } else if (kernel == "libtorch") {
    seedvr::vae::SetConvKernel(ConvKernel::kLibTorchDefault);
  } else {
    return std::fprintf(stderr, "unknown --conv_kernel=%s (auto, winograd, onednn or libtorch)\n", kernel.c_str()), 2;
  }
  const std::string which = absl::GetFlag(FLAGS_case);
  if (which == "throughput_tiny") return Throughput(Tiny(), "throughput_tiny", absl::GetFlag(FLAGS_repeats));
  if (which == "throughput_full") return Throughput(VAEConfig{}, "throughput_full", 1);
  if (which == "peak_plain") return Peak(false);
  if (which == "peak_bounded") return Peak(true);
  if (!which.empty()) return std::fprintf(stderr, "unknown --case=%s\n", which.c_str()), 2;
  int rc = 0;
  for (const char* c : {"throughput_tiny", "throughput_full", "peak_bounded", "peak_plain"}) {
    const std::string cmd = absl::StrCat("/proc/self/exe --case=", c, " --repeats=", absl::GetFlag(FLAGS_repeats),
                                         " --memory_limit_gb=", absl::GetFlag(FLAGS_memory_limit_gb),
                                         " --size=", absl::GetFlag(FLAGS_size), " --conv_kernel=", kernel);
    std::fflush(stdout);
    rc |= std::system(cmd.c_str());
  }
  return rc == 0 ? 0 : 1;
}

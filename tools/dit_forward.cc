// `dit_forward`: run the SeedVR2 DiT once on a native-resolution batch stored
// in a safetensors file, optionally with a backward pass.
//
//   dit_forward --config MODEL.yaml --weights W.pth|W.safetensors
//               --inputs IO.safetensors --output OUT.safetensors [--backward]
//
// The inputs file uses the parity-fixture layout (shared/fixtures/README.md):
// `vid` [L,33], `vid_shape` [B,3] int64, `txt` [Lt,txt_in_dim], `txt_shape`
// [B,1] int64, `timestep` [B], and for --backward `grad_seed` [L,16] (loss =
// sum(out * grad_seed); all ones when absent). The output holds `out` and,
// with --backward, `grad_vid` and `grad_<param>` for every parameter named by
// a `grad_<param>` entry of the inputs (all parameters when there is none).
// Reference tensors of the same names found in the inputs are compared and
// max |diff| is printed.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "seedvr/config/model_config.h"
#include "seedvr/core/cli.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/models/dit/dit_weights.h"
#include "seedvr/models/dit/nadit.h"

ABSL_FLAG(std::string, config, "", "DiT config YAML with official key names (e.g. a fixture's config.yaml)");
ABSL_FLAG(std::string, weights, "", "DiT weights: .pth or .safetensors, strictly matched to --config");
ABSL_FLAG(std::string, inputs, "", "safetensors with vid, vid_shape, txt, txt_shape, timestep [, grad_seed]");
ABSL_FLAG(std::string, output, "", "safetensors to write: out [, grad_vid, grad_<param>...]");
ABSL_FLAG(bool, backward, false, "also compute gradients of sum(out * grad_seed)");
ABSL_FLAG(std::string, compute_dtype, "", "override the config: float32 or bfloat16 (autocast)");
ABSL_FLAG(bool, gradient_checkpointing, false, "recompute each block in backward (less memory)");
ABSL_FLAG(int32_t, threads, 0, "intra-op threads; 0: LibTorch default");

namespace seedvr {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

absl::Status Run() {
  const std::string config_path = absl::GetFlag(FLAGS_config), weights_path = absl::GetFlag(FLAGS_weights),
                    inputs_path = absl::GetFlag(FLAGS_inputs), output_path = absl::GetFlag(FLAGS_output);
  for (const auto& [flag, value] : {std::pair<const char*, std::string>{"--config", config_path},
                                    {"--weights", weights_path},
                                    {"--inputs", inputs_path},
                                    {"--output", output_path}}) {
    if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(flag, " is required (see --help)"));
  }
  if (absl::GetFlag(FLAGS_threads) > 0) at::set_num_threads(absl::GetFlag(FLAGS_threads));

  auto config = config::LoadDiTConfigFile(config_path);
  if (!config.ok()) return config.status();
  if (!absl::GetFlag(FLAGS_compute_dtype).empty()) config->compute_dtype = absl::GetFlag(FLAGS_compute_dtype);
  if (absl::GetFlag(FLAGS_gradient_checkpointing)) config->gradient_checkpointing = true;

  auto t0 = Clock::now();
  dit::NaDiT model(*config);
  if (auto s = dit::LoadDiTWeightsFile(*model, weights_path); !s.ok()) return s;
  model->eval();
  std::printf("model: %s, %lld parameters, loaded in %.2f s\n", config->code_path.c_str(),
              static_cast<long long>(dit::CountDiTParameters(*config)), Seconds(t0));

  auto io_list = core::ReadSafetensors(inputs_path);
  if (!io_list.ok()) return io_list.status();
  std::map<std::string, at::Tensor> io;
  for (const auto& t : *io_list) io[t.name] = t.tensor;
  for (const char* key : {"vid", "vid_shape", "txt", "txt_shape", "timestep"}) {
    if (!io.count(key)) return absl::NotFoundError(absl::StrCat(inputs_path, ": no tensor `", key, "`"));
  }
  const bool backward = absl::GetFlag(FLAGS_backward);
  auto vid = io["vid"].to(at::kFloat).clone().requires_grad_(backward);

  core::TensorList results;
  at::Tensor out;
  t0 = Clock::now();
  try {
    if (backward) {
      out = model->forward(vid, io["vid_shape"], io["txt"], io["txt_shape"], io["timestep"]);
    } else {
      at::NoGradGuard no_grad;
      out = model->forward(vid, io["vid_shape"], io["txt"], io["txt_shape"], io["timestep"]);
    }
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(absl::StrCat(inputs_path, ": forward failed: ", e.what_without_backtrace()));
  }
  std::printf("forward: %.3f s, out %s\n", Seconds(t0), c10::str(out.sizes()).c_str());
  results.push_back({"out", out.detach().to(at::kFloat).contiguous()});

  if (backward) {
    at::Tensor seed = io.count("grad_seed") ? io["grad_seed"].to(out.scalar_type()) : at::ones_like(out);
    if (!seed.sizes().equals(out.sizes())) {
      return absl::InvalidArgumentError(absl::StrCat(inputs_path, ": grad_seed is ", c10::str(seed.sizes()),
                                                     ", out is ", c10::str(out.sizes())));
    }
    auto params = model->named_parameters();
    std::vector<std::string> names;
    std::vector<at::Tensor> wrt = {vid};
    for (const auto& [key, t] : io) {
      if (key.rfind("grad_", 0) != 0 || key == "grad_seed" || key == "grad_vid") continue;
      const std::string p = key.substr(5);
      const at::Tensor* param = params.find(p);
      if (param == nullptr) {
        return absl::NotFoundError(absl::StrCat(inputs_path, ": `", key, "` names no model parameter `", p, "`"));
      }
      names.push_back(p);
      wrt.push_back(*param);
    }
    if (names.empty()) {
      for (const auto& p : params) {
        names.push_back(p.key());
        wrt.push_back(p.value());
      }
    }
    t0 = Clock::now();
    auto grads = torch::autograd::grad({(out * seed).sum()}, wrt, {}, /*retain_graph=*/false,
                                       /*create_graph=*/false, /*allow_unused=*/true);
    std::printf("backward: %.3f s, %zu parameter gradients\n", Seconds(t0), names.size());
    results.push_back({"grad_vid", grads[0].to(at::kFloat).contiguous()});
    for (size_t i = 0; i < names.size(); ++i) {
      // Unused parameters (the 7B's last text stream) have exactly zero gradient.
      auto g = grads[i + 1].defined() ? grads[i + 1] : at::zeros_like(wrt[i + 1]);
      results.push_back({"grad_" + names[i], g.to(at::kFloat).contiguous()});
    }
  }

  // Compare with reference tensors of the same name.
  double worst_out = -1, worst_grad = -1;
  for (const auto& r : results) {
    auto it = io.find(r.name);
    if (it == io.end()) continue;
    auto ref = it->second.to(at::kFloat);
    if (!ref.sizes().equals(r.tensor.sizes())) {
      std::printf("  %-48s shape %s vs reference %s\n", r.name.c_str(), c10::str(r.tensor.sizes()).c_str(),
                  c10::str(ref.sizes()).c_str());
      continue;
    }
    const double diff = (r.tensor - ref).abs().max().item<double>();
    const double scale = ref.abs().max().item<double>();
    std::printf("  %-48s max|diff| %.3e  (max|ref| %.3e, relative %.3e)\n", r.name.c_str(), diff, scale,
                scale > 0 ? diff / scale : 0.0);
    if (r.name == "out") {
      worst_out = diff;
    } else {
      worst_grad = std::max(worst_grad, scale > 0 ? diff / scale : diff);
    }
  }
  if (worst_out >= 0) std::printf("out: max|diff| %.3e\n", worst_out);
  if (worst_grad >= 0) std::printf("gradients: worst relative max|diff| %.3e\n", worst_grad);

  if (auto s = core::WriteSafetensors(output_path, results, {{"tool", "dit_forward"}, {"config", config_path}});
      !s.ok()) {
    return s;
  }
  std::printf("wrote %zu tensors to %s\n", results.size(), output_path.c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace seedvr

int main(int argc, char** argv) {
  seedvr::core::ExitOnUncaughtException("dit_forward");
  absl::SetProgramUsageMessage(
      "Runs the SeedVR2 DiT (3B `dit_v2` or 7B `dit` code path) on one batch.\n\n"
      "  dit_forward --config MODEL.yaml --weights W.pth|W.safetensors \\\n"
      "              --inputs IO.safetensors --output OUT.safetensors [--backward]\n\n"
      "IO.safetensors holds vid [L,C], vid_shape [B,3] int64, txt [Lt,D], txt_shape [B,1] int64,\n"
      "timestep [B] and optionally grad_seed [L,16] and reference tensors (out, grad_vid,\n"
      "grad_<param>) that are compared with the results. With --backward the gradients of\n"
      "sum(out * grad_seed) w.r.t. vid and the parameters named by grad_<param> entries (or all)\n"
      "are written too.");
  seedvr::core::ParseToolCommandLine(argc, argv);
  seedvr::core::EnterUserWorkingDirectory();  // relative paths mean the user's folder
  auto status = seedvr::Run();
  if (!status.ok()) {
    std::fprintf(stderr, "dit_forward: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

// Estimates the per-device memory of a training config, part by part, and
// the fewest GPUs of a card that hold it (seedvr/train/memory_estimate.h).
//
//   bazel run //tools:estimate_memory -- --config configs/train.yaml
//     [--batch_size N --num_frames N --crop_size H W --sp_size N --set k=v]
//     [--dp N] [--zero2] [--card_gb 80] [--text_tokens 58] [--compare_guide]
//
// The trainer's flags mean what they mean to //tools:train; --dp, --zero2,
// --card_gb, --text_tokens and --compare_guide are this tool's own.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "seedvr/config/config.h"
#include "seedvr/core/cli.h"
#include "seedvr/train/memory_estimate.h"

namespace {

using seedvr::config::TrainConfig;
using seedvr::train::MemoryEstimate;
using seedvr::train::MemoryOptions;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

void PrintTable(const MemoryEstimate& e) {
  std::printf("clip: %lld frames -> %lld latent frames, %lld video + %lld text tokens per clip, up to %lld windows\n",
              static_cast<long long>(e.frames), static_cast<long long>(e.latent_frames),
              static_cast<long long>(e.video_tokens), static_cast<long long>(e.text_tokens),
              static_cast<long long>(e.max_windows));
  std::printf("params: generator %lld, discriminator %lld, VAE %lld\n", static_cast<long long>(e.generator_params),
              static_cast<long long>(e.discriminator_params), static_cast<long long>(e.vae_params));
  std::printf("layout: dp %lld%s, sp %lld; %s, gradient checkpointing %s; %.0f bytes/token/block saved\n",
              static_cast<long long>(e.dp_size), e.zero2 ? " (zero2)" : "", static_cast<long long>(e.sp_size),
              e.bf16 ? "bf16 autocast" : "fp32", e.checkpointing ? "on" : "off", e.block_bytes_per_token);
  std::printf("\n%-40s %10s\n", "per device", "GiB");
  for (const auto& [name, bytes] : e.Parts()) {
    const bool unused = (name.find("checkpointed") != std::string::npos && !e.checkpointing) ||
                        (name.find("no checkpointing") != std::string::npos && e.checkpointing);
    std::printf("%-40s %10.2f%s\n", name.c_str(), bytes / kGiB, unused ? "  (not selected)" : "");
  }
  if (e.host > 0) std::printf("%-40s %10.2f\n", "pinned host memory (offloaded)", e.host / kGiB);
}

// The lowest-peak layout on exactly `gpus` GPUs.
MemoryEstimate BestOn(const TrainConfig& c, int64_t gpus, int64_t text_tokens) {
  MemoryEstimate best;
  best.total = -1;
  for (int64_t sp = 1; sp <= gpus; ++sp) {
    if (gpus % sp != 0 || c.model.heads % sp != 0) continue;
    for (int zero2 : {0, 1}) {
      MemoryOptions o;
      o.dp_size = gpus / sp;
      o.sp_size = sp;
      o.zero2 = zero2;
      o.text_tokens = text_tokens;
      auto e = seedvr::train::EstimateMemory(c, o);
      if (e.ok() && (best.total < 0 || e->total < best.total)) best = *e;
    }
  }
  return best;
}

void CompareGuide(const TrainConfig& base, int64_t text_tokens, double card_bytes) {
  struct Row {
    const char* name;
    bool seven_b;
    int h, w, frames;
    int64_t gpus;
    double guide_gb;  // the guide's total over all GPUs
  };
  const Row rows[] = {{"3B 256x256 x16", false, 256, 256, 16, 1, 40},
                      {"3B 512x512 x16", false, 512, 512, 16, 1, 60},
                      {"3B 1280x720 x32", false, 720, 1280, 32, 4, 160},
                      {"7B 1280x720 x32", true, 720, 1280, 32, 8, 320}};
  std::printf("\nThe user's guide beside this estimate (batch 1; GB = 1e9 bytes; per-GPU peak x GPUs):\n");
  std::printf("%-17s %5s %9s | %-26s %9s %9s | %-26s %9s | %s\n", "row", "GPUs", "guide GB", "layout (config ckpt)",
              "per GPU", "total", "layout (no ckpt)", "total", "fewest GPUs that fit");
  for (const Row& r : rows) {
    TrainConfig c = base;
    if (r.seven_b) {
      seedvr::dit::DiTConfig m = seedvr::dit::OfficialDiT7B();
      m.gradient_checkpointing = base.model.gradient_checkpointing;
      m.compute_dtype = base.model.compute_dtype;
      m.window_reference_grid = base.model.window_reference_grid;  // training.window_frame
      const auto n = static_cast<size_t>(m.num_layers);
      if (m.block_type.empty()) m.block_type.assign(n, "mmdit_sr");
      if (m.window.empty()) m.window.assign(n, {4, 3, 3});
      if (m.window_method.empty()) {
        for (size_t i = 0; i < n; ++i) {
          m.window_method.push_back(i % 2 == 0 ? "720pwin_by_size_bysize" : "720pswin_by_size_bysize");
        }
      }
      c.model = m;
    }
    c.data.crop_size = {r.h, r.w};
    c.data.num_frames = r.frames;
    c.training.batch_size = 1;
    const MemoryEstimate on = BestOn(c, r.gpus, text_tokens);
    TrainConfig off_config = c;
    off_config.model.gradient_checkpointing = !c.model.gradient_checkpointing;
    const MemoryEstimate off = BestOn(off_config, r.gpus, text_tokens);
    auto layout = [](const MemoryEstimate& e) {
      return absl::StrFormat("dp%d%s sp%d, ckpt %s", e.dp_size, e.zero2 ? "(zero2)" : "", e.sp_size,
                             e.checkpointing ? "on" : "off");
    };
    auto fewest = seedvr::train::MinimumGpus(c, card_bytes, 1024, text_tokens);
    std::string fit =
        fewest.ok() ? absl::StrFormat("%d (dp %d%s, sp %d: %.1f GB each)", fewest->gpus, fewest->dp_size,
                                      fewest->zero2 ? " zero2" : "", fewest->sp_size, fewest->estimate.total / 1e9)
                    : std::string("none");
    std::printf("%-17s %5lld %9.0f | %-26s %9.1f %9.1f | %-26s %9.1f | %s\n", r.name, static_cast<long long>(r.gpus),
                r.guide_gb, layout(on).c_str(), on.total / 1e9, on.total * r.gpus / 1e9, layout(off).c_str(),
                off.total * r.gpus / 1e9, fit.c_str());
  }
  std::printf("(fewest GPUs: cards of %.0f GB, the config's checkpointing setting)\n", card_bytes / 1e9);
}

int Usage(const char* error) {
  if (error != nullptr) std::fprintf(stderr, "estimate_memory: %s\n\n", error);
  std::fprintf(error ? stderr : stdout,
               "usage: estimate_memory --config FILE [trainer flags] [--dp N] [--zero2] [--card_gb GB]\n"
               "                       [--text_tokens N] [--compare_guide]\n\n"
               "trainer flags:\n%s\n"
               "own flags:\n"
               "  --dp N            data-parallel ranks (default 1)\n"
               "  --zero2           shard AdamW moments and the EMA over every rank (ZeRO-2);\n"
               "                    default: parallel.strategy == zero2\n"
               "  --card_gb GB      GPU memory for the fewest-GPUs search (default 80; GB = 1e9 bytes)\n"
               "  --text_tokens N   rows of the text embedding (default 58, the released pos_emb)\n"
               "  --compare_guide   print the estimate beside the user's guide's memory table\n",
               seedvr::config::TrainCommandLineHelp().c_str());
  return error ? 2 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  seedvr::core::ExitOnUncaughtException("estimate_memory");
  seedvr::core::EnterUserWorkingDirectory();
  std::vector<std::string> trainer_args;
  int64_t dp = 1, text_tokens = 58;
  int zero2 = -1;
  double card_gb = 80;
  bool compare = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "estimate_memory: %s expects a value\n", flag);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") return Usage(nullptr);
    if (a == "--dp") {
      if (!absl::SimpleAtoi(value("--dp"), &dp) || dp < 1) return Usage("--dp expects a positive integer");
    } else if (a == "--text_tokens") {
      if (!absl::SimpleAtoi(value("--text_tokens"), &text_tokens) || text_tokens < 0) {
        return Usage("--text_tokens expects a non-negative integer");
      }
    } else if (a == "--card_gb") {
      if (!absl::SimpleAtod(value("--card_gb"), &card_gb) || card_gb <= 0) return Usage("--card_gb expects GB > 0");
    } else if (a == "--zero2") {
      zero2 = 1;
    } else if (a == "--compare_guide") {
      compare = true;
    } else {
      trainer_args.push_back(a);
    }
  }
  auto config = seedvr::config::ParseTrainCommandLine(trainer_args);
  if (!config.ok()) return Usage(std::string(config.status().message()).c_str());

  MemoryOptions o;
  o.dp_size = dp;
  o.zero2 = zero2;
  o.text_tokens = text_tokens;
  auto e = seedvr::train::EstimateMemory(*config, o);
  if (!e.ok()) {
    std::fprintf(stderr, "estimate_memory: %s\n", std::string(e.status().message()).c_str());
    return 1;
  }
  PrintTable(*e);
  const double card = card_gb * 1e9;
  auto fewest = seedvr::train::MinimumGpus(*config, card, 1024, text_tokens);
  if (fewest.ok()) {
    std::printf("\nfewest %.0f GB GPUs: %lld (dp %lld%s, sp %lld), %.1f GiB per GPU\n", card_gb,
                static_cast<long long>(fewest->gpus), static_cast<long long>(fewest->dp_size),
                fewest->zero2 ? " zero2" : "", static_cast<long long>(fewest->sp_size), fewest->estimate.total / kGiB);
  } else {
    std::printf("\n%s\n", std::string(fewest.status().message()).c_str());
  }
  if (compare) CompareGuide(*config, text_tokens, card);
  return 0;
}

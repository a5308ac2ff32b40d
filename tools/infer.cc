// bazel run //tools:infer -- --video_path FILE|DIR --output_dir DIR --checkpoint CKPT [options]
//
// Restores videos (or images) with a trained checkpoint's EMA weights, or a
// released SeedVR2 model (with --config), streaming each video in chunks
// (infer/restorer.h). Each input is restored on its own: a failure is
// reported and the rest continue, and a summary lists what failed and why.
// Outputs appear only when complete, so an interrupted folder run resumes
// with --skip_existing.
//
// Under torchrun the processes share the folder: with --sp_size 1 each
// restores its own files; with --sp_size N each group of N processes
// restores one video at a time with the DiT's tokens split across it.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "seedvr/core/cli.h"
#include "seedvr/core/device.h"
#include "seedvr/core/io.h"
#include "seedvr/data/video_reader.h"
#include "seedvr/infer/restorer.h"
#include "seedvr/parallel/process_groups.h"
#include "seedvr/parallel/ulysses.h"

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
ABSL_FLAG(int64_t, chunk_frames, 33, "frames restored together (4n+1); memory is bounded by one chunk");
ABSL_FLAG(int64_t, temporal_overlap, 5, "frames shared by consecutive chunks, blended across the border");
ABSL_FLAG(double, max_memory_gb, 0,
          "device memory budget (GB) of the DiT (spatial tiles beyond it) and the VAE (exact splits); "
          "0: what the device has available");
ABSL_FLAG(std::string, codec, "",
          "libx264 | libx265 | ffv1 | prores | libvpx-vp9 | png (a folder of PNG frames); default: by extension");
ABSL_FLAG(int32_t, crf, 12, "constant quality of libx264/libx265/libvpx-vp9 (lower is better)");
ABSL_FLAG(std::string, pix_fmt, "", "yuv420p | yuv444p | yuv420p10le | yuv444p10le | ...; default: the codec's");
ABSL_FLAG(std::string, preset, "", "libx264/libx265 preset (e.g. slow)");
ABSL_FLAG(bool, skip_existing, false, "keep outputs that already exist (resumes an interrupted folder run)");
ABSL_FLAG(bool, overwrite, false, "replace outputs that already exist");
ABSL_FLAG(int64_t, sp_size, 1, "processes per video under torchrun (Ulysses sequence parallelism)");
ABSL_FLAG(std::string, device, "auto", "auto | cpu | cuda | cuda:N (auto: the GPU when one is present)");
ABSL_FLAG(int64_t, max_frame_pixels, seedvr::data::kDefaultMaxFramePixels,
          "inputs whose frames hold more pixels fail before decoding (0: no limit)");
ABSL_FLAG(std::string, precision, "auto", "auto | bf16 | fp32 (auto: bf16 on a GPU, the config's on the CPU)");

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// The videos and images at `in`, a file or a folder (in name order). Folder
// entries that are not regular files (a symlink loop, a FIFO that would
// block the run) are named and skipped.
std::vector<fs::path> ListInputs(const std::string& in) {
  std::vector<fs::path> inputs;
  std::error_code ec;
  if (!fs::is_directory(in, ec)) {
    if (fs::exists(in, ec)) inputs.push_back(in);
    return inputs;
  }
  static const std::vector<std::string> kExt = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".png", ".jpg", ".jpeg"};
  for (fs::directory_iterator it(in, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string ext = absl::AsciiStrToLower(p.extension().string());
    const bool partial = p.filename().string().rfind(".partial.", 0) == 0;  // an unfinished output
    if (partial || std::find(kExt.begin(), kExt.end(), ext) == kExt.end()) continue;
    if (auto file = seedvr::core::CheckInputFile(p.string(), "input"); !file.ok()) {
      std::fprintf(stderr, "infer: %s: skipped\n", std::string(file.status().message()).c_str());
      continue;
    }
    inputs.push_back(p);
  }
  if (ec) std::fprintf(stderr, "infer: cannot list all of %s: %s\n", in.c_str(), ec.message().c_str());
  std::sort(inputs.begin(), inputs.end());
  return inputs;
}

std::string Duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  return s >= 3600 ? absl::StrFormat("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                   : absl::StrFormat("%d:%02d", s / 60, s % 60);
}

}  // namespace

int main(int argc, char** argv) {
  seedvr::core::ExitOnUncaughtException("infer");
  absl::SetProgramUsageMessage(
      "restores videos with a one-step SeedVR2 generator.\n"
      "  infer --video_path FILE|DIR --output_dir DIR --checkpoint CKPT [--config CONFIG]\n"
      "  torchrun --nproc_per_node N infer ... [--sp_size N]");
  seedvr::core::ParseToolCommandLine(argc, argv);
  seedvr::core::EnterUserWorkingDirectory();
  const std::string in = absl::GetFlag(FLAGS_video_path), out_dir = absl::GetFlag(FLAGS_output_dir);
  if (in.empty() || out_dir.empty() || absl::GetFlag(FLAGS_checkpoint).empty()) {
    std::fprintf(stderr, "infer: --video_path, --output_dir and --checkpoint are required (see --help)\n");
    return 2;
  }
  if (absl::GetFlag(FLAGS_skip_existing) && absl::GetFlag(FLAGS_overwrite)) {
    std::fprintf(stderr, "infer: --skip_existing and --overwrite contradict each other: pass one\n");
    return 2;
  }
  const std::vector<fs::path> inputs = ListInputs(in);
  if (inputs.empty()) {
    std::fprintf(stderr, "infer: no video or image found at %s\n", in.c_str());
    return 2;
  }
  std::error_code ec;
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
  o.chunk_frames = absl::GetFlag(FLAGS_chunk_frames);
  o.temporal_overlap = absl::GetFlag(FLAGS_temporal_overlap);
  o.max_memory_gb = absl::GetFlag(FLAGS_max_memory_gb);
  o.output.codec = absl::GetFlag(FLAGS_codec);
  o.output.crf = absl::GetFlag(FLAGS_crf);
  o.output.pix_fmt = absl::GetFlag(FLAGS_pix_fmt);
  o.output.preset = absl::GetFlag(FLAGS_preset);
  o.device = absl::GetFlag(FLAGS_device);
  o.precision = absl::GetFlag(FLAGS_precision);
  o.max_frame_pixels = absl::GetFlag(FLAGS_max_frame_pixels);

  // Processes: torchrun's world splits into groups of sp_size; each group
  // restores every dp_size-th file.
  auto env = seedvr::parallel::LaunchEnv::FromEnvironment();
  if (!env.ok()) {
    std::fprintf(stderr, "infer: %s\n", std::string(env.status().message()).c_str());
    return 2;
  }
  const int64_t sp_size = absl::GetFlag(FLAGS_sp_size);
  if (sp_size < 1 || env->world_size % sp_size != 0) {
    std::fprintf(stderr, "infer: --sp_size %lld must divide the %d processes (torchrun --nproc_per_node)\n",
                 static_cast<long long>(sp_size), env->world_size);
    return 2;
  }
  std::shared_ptr<seedvr::parallel::ProcessGroups> groups;
  int dp_rank = 0, dp_size = 1;
  bool writes = true;
  if (env->world_size > 1) {
    auto device = seedvr::core::ResolveDevice(o.device, env->local_rank, "--device");
    if (!device.ok()) {
      std::fprintf(stderr, "infer: %s\n", std::string(device.status().message()).c_str());
      return 2;
    }
    seedvr::parallel::GroupOptions g;
    g.sp_size = static_cast<int>(sp_size);
    g.device = *device;
    g.timeout = std::chrono::minutes(30);  // a rank may decode and encode a whole chunk between collectives
    auto created = seedvr::parallel::ProcessGroups::Create(*env, g);
    if (!created.ok()) {
      std::fprintf(stderr, "infer: %s\n", std::string(created.status().message()).c_str());
      return 1;
    }
    groups = *created;
    o.sp = seedvr::parallel::MakeSequenceParallel(*groups);
    dp_rank = groups->dp_rank();
    dp_size = groups->dp_size();
    writes = groups->sp_rank() == 0;
  }
  const std::string who = env->world_size > 1 ? absl::StrCat("rank ", env->rank, ": ") : "";

  // This group's files, and what to do with outputs that exist: decided
  // before any work starts.
  struct Job {
    fs::path input;
    std::string output;
    int64_t frames = 0;
  };
  std::vector<Job> jobs;
  std::vector<std::string> existing;
  int skipped = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Job job{inputs[i], seedvr::infer::OutputPath(inputs[i].string(), out_dir, o.output)};
    const bool exists = fs::exists(job.output, ec);
    // Every process sees every existing output, so all refuse together.
    if (exists && !absl::GetFlag(FLAGS_skip_existing) && !absl::GetFlag(FLAGS_overwrite)) {
      existing.push_back(job.output);
    }
    if (static_cast<int>(i % dp_size) != dp_rank) continue;
    if (exists && absl::GetFlag(FLAGS_skip_existing)) {
      ++skipped;
      continue;
    }
    // A broken file fails later, with its reason.
    auto info = seedvr::data::ProbeVideo(job.input.string(), {.max_frame_pixels = o.max_frame_pixels});
    job.frames = info.ok() ? std::max<int64_t>(info->frame_count, 1) : 1;
    jobs.push_back(job);
  }
  if (!existing.empty()) {
    std::fprintf(stderr, "infer: %s%zu output(s) exist, e.g. %s: pass --skip_existing to keep them or --overwrite\n",
                 who.c_str(), existing.size(), existing.front().c_str());
    return 2;
  }
  if (skipped > 0) std::printf("%s%d output(s) exist and are kept (--skip_existing)\n", who.c_str(), skipped);

  auto restorer = seedvr::infer::Restorer::Create(o);
  if (!restorer.ok()) {
    std::fprintf(stderr, "infer: %s\n", std::string(restorer.status().message()).c_str());
    return 1;
  }

  int64_t folder_total = 0, folder_done = 0;
  for (const Job& j : jobs) folder_total += j.frames;
  const bool tty = ::isatty(STDOUT_FILENO) != 0;
  const auto start = Clock::now();
  std::vector<std::string> failures;
  int done = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Job& job = jobs[i];
    const std::string name = job.input.filename().string();
    const auto file_start = Clock::now();
    auto last_line = file_start;
    int64_t file_done = 0;
    auto progress = [&](const seedvr::infer::Progress& p) {
      file_done = p.frames_done;
      const auto now = Clock::now();
      if (!writes || (!tty && now - last_line < std::chrono::seconds(10))) return;  // logs: a line every 10 s
      last_line = now;
      const double file_s = std::chrono::duration<double>(now - file_start).count();
      const double all_s = std::chrono::duration<double>(now - start).count();
      const double fps = p.frames_done / std::max(file_s, 1e-9);
      const int64_t all_done = folder_done + p.frames_done;
      const int64_t all_total = std::max(folder_total - job.frames + p.frames_total, all_done);
      const double all_fps = all_done / std::max(all_s, 1e-9);
      std::printf("%s%s[%zu/%zu] %s: %lld/%lld frames, %.2f fps, %s left; folder %s left%s", tty ? "\r\033[K" : "",
                  who.c_str(), i + 1, jobs.size(), name.c_str(), static_cast<long long>(p.frames_done),
                  static_cast<long long>(p.frames_total), fps,
                  Duration((p.frames_total - p.frames_done) / std::max(fps, 1e-9)).c_str(),
                  Duration((all_total - all_done) / std::max(all_fps, 1e-9)).c_str(), tty ? "" : "\n");
      std::fflush(stdout);
    };
    absl::Status s = (*restorer)->RestoreFile(job.input.string(), job.output, progress);
    folder_done += std::max(file_done, job.frames);
    const double secs = std::chrono::duration<double>(Clock::now() - file_start).count();
    if (s.ok()) {
      std::printf("%s%s[%zu/%zu] %s -> %s (%lld frames in %s, %.2f fps)\n", tty ? "\r\033[K" : "", who.c_str(), i + 1,
                  jobs.size(), name.c_str(), job.output.c_str(), static_cast<long long>(file_done),
                  Duration(secs).c_str(), file_done / std::max(secs, 1e-9));
      ++done;
    } else {
      std::printf("%s%s[%zu/%zu] %s FAILED: %s\n", tty ? "\r\033[K" : "", who.c_str(), i + 1, jobs.size(), name.c_str(),
                  std::string(s.message()).c_str());
      failures.push_back(absl::StrCat(name, ": ", s.message()));
    }
  }
  if (writes) {
    std::printf("%srestored %d, skipped %d, failed %zu\n", who.c_str(), done, skipped, failures.size());
    for (const std::string& f : failures) std::printf("%s  failed: %s\n", who.c_str(), f.c_str());
    std::fflush(stdout);
  }
  // One exit status for the launch: torchrun stops every process when one
  // exits with an error, so none may leave before the others are done.
  double failed = failures.empty() ? 0 : 1;
  if (groups) {
    auto any = seedvr::parallel::MaxOverRanks(groups->world(), failed, std::chrono::hours(24), "the end of the run");
    if (!any.ok()) {
      std::fprintf(stderr, "infer: %s%s\n", who.c_str(), std::string(any.status().message()).c_str());
      return 1;
    }
    failed = *any;
  }
  return failed > 0 ? 1 : 0;
}

// Data-layer throughput, printed as figures (run by hand):
//   bazel run -c opt //benchmarks/data:data_bench -- [--frames 120] [--clips 12]
// 1. Decode of a 720p H.264 clip to RGB by VideoReader (1 decoder thread),
//    next to `ffmpeg -threads 1 -i CLIP -f null -` on the same file in the same
//    run (ffmpeg decodes only; VideoReader also converts to RGB24).
// 2. Loader clips/s at 2 workers with LQ synthesis (full degradation) on:
//    17-frame 256x256 crops from 720p files.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "seedvr/data/loader.h"
#include "seedvr/data/log.h"
#include "seedvr/data/synthetic.h"
#include "seedvr/data/video_pair_dataset.h"
#include "seedvr/data/video_reader.h"
#include "seedvr/data/video_writer.h"

ABSL_FLAG(int, frames, 120, "frames in the 720p decode clip");
ABSL_FLAG(int, clips, 12, "clips drawn from the loader");
ABSL_FLAG(int, workers, 2, "loader workers");
ABSL_FLAG(std::string, dir, "", "scratch folder (default: a temp folder)");

namespace {
double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

int main(int argc, char** argv) {
  using namespace seedvr::data;
  absl::ParseCommandLine(argc, argv);
  namespace fs = std::filesystem;
  std::string dir = absl::GetFlag(FLAGS_dir);
  if (dir.empty()) dir = (fs::temp_directory_path() / "seedvr_data_bench").string();
  fs::remove_all(dir);
  fs::create_directories(dir + "/hq");
  SetDataLogSink([](LogLevel, const std::string&) {});

  // ---- 720p H.264 decode ----
  SyntheticVideoOptions so;
  so.frames = absl::GetFlag(FLAGS_frames);
  auto t0 = std::chrono::steady_clock::now();
  const Clip clip = MakeSyntheticClip(so);
  EncoderOptions eo;
  eo.crf = 20;
  eo.preset = "veryfast";
  eo.threads = 2;
  const std::string path = dir + "/hq/bench720.mp4";
  if (absl::Status s = WriteVideo(path, clip, eo); !s.ok()) {
    std::fprintf(stderr, "encode failed: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::printf("made %s (1280x720, %d frames, H.264 crf 20) in %.1f s\n", path.c_str(), clip.t, Seconds(t0));

  double best_ours = 0, best_ffmpeg = 0;
  for (int rep = 0; rep < 3; ++rep) {
    t0 = std::chrono::steady_clock::now();
    auto reader = VideoReader::Open(path, {.threads = 1});
    if (!reader.ok()) return 1;
    Frame f;
    int n = 0;
    while (true) {
      auto got = (*reader)->Read(&f);
      if (!got.ok() || !*got) break;
      ++n;
    }
    best_ours = std::max(best_ours, n / Seconds(t0));
    t0 = std::chrono::steady_clock::now();
    const std::string cmd = "ffmpeg -v error -threads 1 -i " + path + " -f null - 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "ffmpeg CLI failed\n");
    best_ffmpeg = std::max(best_ffmpeg, clip.t / Seconds(t0));
  }
  std::printf("decode 720p H.264, 1 thread (best of 3):\n");
  std::printf("  VideoReader -> RGB24     : %7.1f frames/s\n", best_ours);
  std::printf("  ffmpeg -threads 1 -f null: %7.1f frames/s (decode only, incl. process start)\n", best_ffmpeg);

  // ---- loader with degradation ----
  for (int i = 0; i < 3; ++i) {
    so.frames = 49;
    so.seed = 10 + i;
    WriteVideo(dir + "/hq/train" + std::to_string(i) + ".mp4", MakeSyntheticClip(so), eo).IgnoreError();
  }
  DataConfig cfg;
  cfg.data_root = dir;
  cfg.num_frames = 17;
  cfg.crop_size = {256, 256};
  cfg.generate_lq = true;
  auto ds = VideoPairDataset::Create(cfg);
  if (!ds.ok()) {
    std::fprintf(stderr, "%s\n", std::string(ds.status().message()).c_str());
    return 1;
  }
  LoaderOptions lo;
  lo.num_workers = absl::GetFlag(FLAGS_workers);
  lo.prefetch = 4;
  DataLoader loader(ds->get(), lo);
  auto first = loader.Next();  // warm-up (first clip includes start-up)
  t0 = std::chrono::steady_clock::now();
  const int clips = absl::GetFlag(FLAGS_clips);
  for (int i = 0; i < clips; ++i) {
    if (!loader.Next().ok()) return 1;
  }
  const double secs = Seconds(t0);
  std::printf("loader, %d workers, 17x256x256 crops from 720p H.264, LQ synthesized (full degradation):\n",
              lo.num_workers);
  std::printf("  %.2f clips/s (%d clips in %.1f s; %.0f HQ frames/s)\n", clips / secs, clips, secs,
              clips * 17 / secs);
  return 0;
}

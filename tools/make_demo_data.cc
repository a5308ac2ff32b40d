// Writes a small HQ video dataset for trying the trainer without real data:
//   bazel run //tools:make_demo_data -- --out /tmp/demo [--lq]
// Each clip is a camera panning/zooming/rotating over a procedural texture
// (multi-octave noise, gradients, shapes, stripes) with objects moving on
// their own, encoded in a different container/codec. With --lq, lq/ gets a
// synthetic degraded partner (1/4 size) for half of the clips, so the folder
// exercises both real pairs and on-the-fly LQ synthesis.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "seedvr/core/cli.h"
#include "seedvr/data/degradation.h"
#include "seedvr/data/image_ops.h"
#include "seedvr/data/synthetic.h"
#include "seedvr/data/video_writer.h"

ABSL_FLAG(std::string, out, "", "output folder (gets hq/ and, with --lq, lq/)");
ABSL_FLAG(int, width, 1280, "frame width");
ABSL_FLAG(int, height, 720, "frame height");
ABSL_FLAG(int, frames, 33, "frames per clip");
ABSL_FLAG(int, clips, 5, "number of clips (containers cycle: mp4/h264, mkv/h265, webm/vp9, mov/h264, avi/mpeg4)");
ABSL_FLAG(double, fps, 25.0, "frame rate");
ABSL_FLAG(bool, lq, false, "also write degraded LQ partners for every other clip");
ABSL_FLAG(uint64_t, seed, 1, "random seed");

namespace {
struct Kind {
  const char* ext;
  const char* codec;
};
constexpr Kind kKinds[] = {
    {"mp4", "libx264"}, {"mkv", "libx265"}, {"webm", "libvpx-vp9"}, {"mov", "libx264"}, {"avi", "mpeg4"}};
}  // namespace

int main(int argc, char** argv) {
  seedvr::core::ExitOnUncaughtException("make_demo_data");
  absl::SetProgramUsageMessage(
      "writes a small demo HQ video dataset.\n"
      "  make_demo_data --out DIR [--width W --height H --frames N --clips K --lq]");
  seedvr::core::ParseToolCommandLine(argc, argv);
  seedvr::core::EnterUserWorkingDirectory();  // relative paths mean the user's folder
  std::string out = absl::GetFlag(FLAGS_out);
  // Under `bazel run`, relative paths are relative to where the user ran it.
  if (const char* wd = std::getenv("BUILD_WORKING_DIRECTORY"); wd != nullptr && !out.empty() && out[0] != '/') {
    out = std::string(wd) + "/" + out;
  }
  if (out.empty()) {
    std::fprintf(stderr, "usage: make_demo_data --out DIR [--width W --height H --frames N --clips K --lq]\n");
    return 2;
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(out) / "hq", ec);
  if (absl::GetFlag(FLAGS_lq)) fs::create_directories(fs::path(out) / "lq", ec);
  if (ec) {
    std::fprintf(stderr, "cannot create %s: %s\n", out.c_str(), ec.message().c_str());
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  // LQ partners: area-downscale by 2, then degrade with scale 2 (1/4 size in
  // all, like the default scale 4, at a quarter of the cost).
  seedvr::data::DegradationConfig dc;
  dc.scale = 2;
  seedvr::data::Degrader degrader{dc};
  for (int i = 0; i < absl::GetFlag(FLAGS_clips); ++i) {
    const Kind& kind = kKinds[i % 5];
    seedvr::data::SyntheticVideoOptions so;
    so.width = absl::GetFlag(FLAGS_width);
    so.height = absl::GetFlag(FLAGS_height);
    so.frames = absl::GetFlag(FLAGS_frames);
    so.fps = absl::GetFlag(FLAGS_fps);
    so.seed = absl::GetFlag(FLAGS_seed) * 1000 + i;
    const seedvr::data::Clip clip = seedvr::data::MakeSyntheticClip(so);
    seedvr::data::EncoderOptions eo;
    eo.codec = kind.codec;
    eo.fps = so.fps;
    eo.threads = 2;
    if (std::string(kind.codec) == "libx264") eo.crf = 16, eo.preset = "veryfast";
    if (std::string(kind.codec) == "libx265") eo.crf = 20, eo.preset = "ultrafast";
    if (std::string(kind.codec) == "libvpx-vp9") eo.crf = 20;
    if (std::string(kind.codec) == "mpeg4") eo.qscale = 2;
    const std::string name = absl::StrCat("clip", i, "_", kind.codec);
    const std::string path = (fs::path(out) / "hq" / absl::StrCat(name, ".", kind.ext)).string();
    if (absl::Status s = seedvr::data::WriteVideo(path, clip, eo); !s.ok()) {
      std::fprintf(stderr, "writing %s failed: %s\n", path.c_str(), std::string(s.message()).c_str());
      return 1;
    }
    std::printf("wrote %s (%dx%d, %d frames)\n", path.c_str(), clip.w, clip.h, clip.t);
    if (absl::GetFlag(FLAGS_lq) && i % 2 == 0) {
      seedvr::data::Clip half(clip.t, clip.w / 2, clip.h / 2);
      half.fps = clip.fps;
      for (int f = 0; f < clip.t; ++f) {
        half.SetFrame(f, seedvr::data::Resize(clip.GetFrame(f), half.w, half.h, seedvr::data::ResizeKernel::kArea));
      }
      absl::StatusOr<seedvr::data::Clip> lq = degrader.Apply(half, so.seed, /*restore_size=*/false);
      if (!lq.ok()) {
        std::fprintf(stderr, "degrading %s failed: %s\n", path.c_str(), std::string(lq.status().message()).c_str());
        return 1;
      }
      seedvr::data::EncoderOptions lo;
      lo.fps = so.fps;
      lo.crf = 18;
      const std::string lq_path = (fs::path(out) / "lq" / absl::StrCat(name, ".mp4")).string();
      // x264 wants even sizes; the degrader's output is ceil(size / 4).
      seedvr::data::Clip even(lq->t, lq->w & ~1, lq->h & ~1);
      even.fps = lq->fps;
      for (int f = 0; f < lq->t; ++f) {
        for (int y = 0; y < even.h; ++y) {
          std::copy(lq->frame(f) + static_cast<size_t>(y) * lq->w * 3,
                    lq->frame(f) + static_cast<size_t>(y) * lq->w * 3 + even.w * 3,
                    even.frame(f) + static_cast<size_t>(y) * even.w * 3);
        }
      }
      if (absl::Status s = seedvr::data::WriteVideo(lq_path, even, lo); !s.ok()) {
        std::fprintf(stderr, "writing %s failed: %s\n", lq_path.c_str(), std::string(s.message()).c_str());
        return 1;
      }
      std::printf("wrote %s (%dx%d LQ)\n", lq_path.c_str(), even.w, even.h);
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("done in %.1f s\n", secs);
  return 0;
}

// degrade --input HQ_VIDEO --output LQ_VIDEO [--config CONFIG] [--seed N]
//
// Writes the low-quality version of a video that training would synthesise
// from it: the config's data.degradation (Real-ESRGAN's two-stage pipeline
// with video-codec compression, seedvr/data/degradation.h; the published
// defaults without --config), at 1/scale of the input's size. Use it to make
// LQ/HQ pairs ahead of time, to see what the model learns to undo, or to
// give `infer` an input whose truth is known. The whole video is degraded
// as one clip (one plan: kernel families, sizes and codec). Output: H.264
// near-lossless (CRF 10), so the degradation is what the file shows; odd
// sizes lose their last row or column (4:2:0).
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "seedvr/config/config.h"
#include "seedvr/core/cli.h"
#include "seedvr/data/degradation.h"
#include "seedvr/data/video_reader.h"
#include "seedvr/data/video_writer.h"

ABSL_FLAG(std::string, input, "", "the HQ video");
ABSL_FLAG(std::string, output, "", "where the LQ video goes (.mp4, .mkv, .mov)");
ABSL_FLAG(std::string, config, "", "training config whose data.degradation applies (default: the published one)");
ABSL_FLAG(uint64_t, seed, 0, "degradation seed");

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "degrade: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  seedvr::core::ExitOnUncaughtException("degrade");
  absl::SetProgramUsageMessage(
      "writes the LQ video training would synthesise from an HQ video.\n"
      "  degrade --input HQ --output LQ [--config CONFIG] [--seed N]");
  seedvr::core::ParseToolCommandLine(argc, argv);
  seedvr::core::EnterUserWorkingDirectory();
  const std::string input = absl::GetFlag(FLAGS_input), output = absl::GetFlag(FLAGS_output);
  if (input.empty() || output.empty()) return Fail("--input and --output are required (see --help)");
  seedvr::data::DegradationConfig dc;
  if (!absl::GetFlag(FLAGS_config).empty()) {
    auto config = seedvr::config::LoadTrainConfig(absl::GetFlag(FLAGS_config));
    if (!config.ok()) return Fail(std::string(config.status().message()));
    dc = config->data.degradation;
  }
  seedvr::data::ReaderOptions ro;
  ro.upright = true;
  ro.exact_frame_count = true;
  auto info = seedvr::data::ProbeVideo(input, ro);
  if (!info.ok()) return Fail(std::string(info.status().message()));
  auto hq = seedvr::data::ReadClip(input, 0, static_cast<int>(info->frame_count), ro);
  if (!hq.ok()) return Fail(std::string(hq.status().message()));
  std::string plan;
  auto lq = seedvr::data::Degrader(dc).Apply(*hq, absl::GetFlag(FLAGS_seed), /*restore_size=*/false, &plan);
  if (!lq.ok()) return Fail(absl::StrCat(input, ": ", lq.status().message()));
  seedvr::data::EncoderOptions eo;
  eo.fps = info->fps;
  eo.crf = 10;
  eo.threads = 2;
  const int w = lq->w & ~1, h = lq->h & ~1;
  auto writer = seedvr::data::VideoWriter::Open(output, w, h, eo);
  if (!writer.ok()) return Fail(std::string(writer.status().message()));
  seedvr::data::Frame frame(w, h);
  for (int t = 0; t < lq->t; ++t) {
    for (int y = 0; y < h; ++y) {
      const uint8_t* row = lq->frame(t) + static_cast<size_t>(y) * lq->w * 3;
      std::copy(row, row + static_cast<size_t>(w) * 3, frame.pixel(0, y));
    }
    if (auto s = (*writer)->Write(frame); !s.ok()) return Fail(std::string(s.message()));
  }
  if (auto s = (*writer)->Close(); !s.ok()) return Fail(std::string(s.message()));
  std::printf("wrote %s: %d frames, %dx%d from %dx%d (%s)\n", output.c_str(), lq->t, w, h, hq->w, hq->h,
              plan.c_str());
  return 0;
}

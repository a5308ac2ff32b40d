// Helpers shared by the data-layer tests: scratch folders and small videos.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "seedvr/data/log.h"
#include "seedvr/data/synthetic.h"
#include "seedvr/data/video_writer.h"
#include "seedvr/testing/fixtures.h"

namespace seedvr::data::testing {

// A fresh, empty folder under TEST_TMPDIR named after the running test.
inline std::string ScratchDir(const std::string& suffix = "") {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "_" + info->name() + suffix;
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  const std::filesystem::path dir = std::filesystem::path(seedvr::testing::TempDir()) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

inline Clip SmallClip(int w, int h, int frames, uint64_t seed = 7) {
  SyntheticVideoOptions o;
  o.width = w;
  o.height = h;
  o.frames = frames;
  o.seed = seed;
  o.pan_speed = 0.05;
  return MakeSyntheticClip(o);
}

// Writes a small high-quality video with `codec` into `path`.
inline Clip WriteSmallVideo(const std::string& path, const std::string& codec, int w, int h, int frames,
                            uint64_t seed = 7, EncoderOptions o = {}) {
  Clip clip = SmallClip(w, h, frames, seed);
  o.codec = codec;
  if (codec == "libx264" || codec == "libx265") {
    if (o.crf < 0) o.crf = 10;
    if (o.preset.empty()) o.preset = "ultrafast";
  }
  if (codec == "libvpx-vp9" && o.crf < 0) o.crf = 8;
  if ((codec == "mpeg4" || codec == "mjpeg") && o.qscale < 0) o.qscale = 2;
  const absl::Status s = WriteVideo(path, clip, o);
  EXPECT_TRUE(s.ok()) << path << ": " << s;
  return clip;
}

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

inline std::string ReadBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Captures data-layer log lines for the duration of a test.
class LogCapture {
 public:
  LogCapture() {
    SetDataLogSink([this](LogLevel, const std::string& m) { lines.push_back(m); });
  }
  ~LogCapture() { SetDataLogSink(nullptr); }
  int Count(const std::string& needle) const {
    return static_cast<int>(std::count_if(lines.begin(), lines.end(),
                                          [&](const std::string& l) { return l.find(needle) != std::string::npos; }));
  }
  std::vector<std::string> lines;
};

// Runs a shell command (the ffmpeg CLI makes inputs as users' tools do).
inline void Shell(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

// Frames of `path` as the ffmpeg CLI shows them (display rotation and
// colour tags honoured): packed RGB24, all frames.
inline std::string FfmpegRgb(const std::string& path) {
  const std::string out = path + ".rgb";
  Shell("ffmpeg -v error -y -i '" + path + "' -f rawvideo -pix_fmt rgb24 '" + out + "'");
  return ReadBytes(out);
}

// Mean of channel `c` (0 R, 1 G, 2 B) of packed RGB24 bytes.
inline double MeanChannel(const uint8_t* rgb, size_t bytes, int c) {
  double sum = 0;
  for (size_t i = c; i < bytes; i += 3) sum += rgb[i];
  return sum / (bytes / 3.0);
}

// An AVI whose header counts (avih dwTotalFrames, strh dwLength) say
// `frames`, whatever its stream holds: a remuxed legacy file.
inline void SetAviHeaderFrameCount(const std::string& path, uint32_t frames) {
  std::string bytes = ReadBytes(path);
  for (const auto& [tag, offset] : {std::pair<std::string, size_t>{"avih", 8 + 16}, {"strh", 8 + 32}}) {
    const size_t at = bytes.find(tag);
    ASSERT_NE(at, std::string::npos) << tag;
    for (int i = 0; i < 4; ++i) bytes[at + offset + i] = static_cast<char>((frames >> (8 * i)) & 0xff);
  }
  WriteBytes(path, bytes);
}

}  // namespace seedvr::data::testing

// Helpers shared by the data-layer tests: scratch folders and small videos.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
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

}  // namespace seedvr::data::testing

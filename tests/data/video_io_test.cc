// Decoding and encoding: every container/codec pair, colour handling, seeking,
// clip reading, timing, high bit depth, tags and rotation, image sequences,
// stream copying and the in-memory codec round trips.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "seedvr/data/codec_roundtrip.h"
#include "seedvr/data/image_ops.h"
#include "seedvr/data/remux.h"
#include "seedvr/data/video_reader.h"
#include "seedvr/data/video_writer.h"
#include "tests/data/test_util.h"

namespace seedvr::data {
namespace {

using testing::FfmpegRgb;
using testing::MeanChannel;
using testing::ScratchDir;
using testing::Shell;
using testing::WriteSmallVideo;

struct Pair {
  const char* ext;
  const char* codec;
  double min_psnr;  // dB, mean over frames
};

class ContainerCodecTest : public ::testing::TestWithParam<Pair> {};

TEST_P(ContainerCodecTest, DecodesWhatWasEncoded) {
  const Pair p = GetParam();
  const std::string path = ScratchDir() + "/clip." + p.ext;
  constexpr int kW = 96, kH = 64, kT = 9;
  const Clip src = WriteSmallVideo(path, p.codec, kW, kH, kT);

  absl::StatusOr<VideoInfo> info = ProbeVideo(path, {.exact_frame_count = true});
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->width, kW);
  EXPECT_EQ(info->height, kH);
  EXPECT_EQ(info->frame_count, kT);
  EXPECT_NEAR(info->fps, 25.0, 0.01);
  // Without the packet count the estimate (duration x fps) must be close.
  absl::StatusOr<VideoInfo> quick = ProbeVideo(path);
  ASSERT_TRUE(quick.ok());
  EXPECT_NEAR(static_cast<double>(quick->frame_count), kT, 1.0);

  absl::StatusOr<std::unique_ptr<VideoReader>> reader = VideoReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  Frame f;
  int n = 0;
  double psnr_sum = 0.0;
  while (true) {
    int64_t index = -1;
    absl::StatusOr<bool> got = (*reader)->Read(&f, &index);
    ASSERT_TRUE(got.ok()) << got.status();
    if (!*got) break;
    ASSERT_LT(n, kT);
    EXPECT_EQ(index, n);
    const double own = Psnr(f.rgb.data(), src.frame(n), src.frame_bytes());
    psnr_sum += own;
    // The right frame, in order: closer to its own source than to neighbours.
    if (n + 1 < kT) {
      EXPECT_GT(own, Psnr(f.rgb.data(), src.frame(n + 1), src.frame_bytes()) + 1.0);
    }
    ++n;
  }
  EXPECT_EQ(n, kT);
  EXPECT_GT(psnr_sum / kT, p.min_psnr) << p.ext << "/" << p.codec << " (" << info->codec << ")";
}

INSTANTIATE_TEST_SUITE_P(
    All, ContainerCodecTest,
    ::testing::Values(Pair{"mp4", "libx264", 34}, Pair{"mp4", "libx265", 32}, Pair{"mp4", "mpeg4", 30},
                      Pair{"mkv", "libx264", 34}, Pair{"mkv", "libx265", 32}, Pair{"mkv", "libvpx-vp9", 32},
                      Pair{"webm", "libvpx-vp9", 32}, Pair{"avi", "mpeg4", 30}, Pair{"avi", "mjpeg", 30},
                      Pair{"mov", "libx264", 34}, Pair{"mov", "prores", 38}, Pair{"mov", "mjpeg", 30}),
    [](const ::testing::TestParamInfo<Pair>& i) {
      std::string s = std::string(i.param.ext) + "_" + i.param.codec;
      for (char& c : s) {
        if (c == '-') c = '_';
      }
      return s;
    });

// A flat saturated colour decodes to itself only if the reader honours the
// stream's matrix and range (BT.601 vs BT.709 differ by >10 levels here).
struct ColourCase {
  const char* matrix;
  bool full_range;
  const char* codec;
};

class ColourTest : public ::testing::TestWithParam<ColourCase> {};

TEST_P(ColourTest, MatrixAndRangeAreHonoured) {
  const ColourCase c = GetParam();
  const std::string path = ScratchDir() + "/flat.mkv";
  Clip clip(3, 64, 48);
  const uint8_t rgb[3] = {200, 60, 30};
  for (size_t i = 0; i < clip.rgb.size(); ++i) clip.rgb[i] = rgb[i % 3];
  EncoderOptions o;
  o.codec = c.codec;
  o.color_matrix = c.matrix;
  o.full_range = c.full_range;
  if (std::string(c.codec) == "mjpeg") {
    o.qscale = 1;
  } else {
    o.crf = 0;
  }
  ASSERT_TRUE(WriteVideo(path, clip, o).ok());
  absl::StatusOr<Clip> back = ReadClip(path, 0, 3);
  ASSERT_TRUE(back.ok()) << back.status();
  absl::StatusOr<VideoInfo> info = ProbeVideo(path);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->full_range, c.full_range || std::string(c.codec) == "mjpeg");
  for (int ch = 0; ch < 3; ++ch) {
    double mean = 0.0;
    for (size_t i = ch; i < back->rgb.size(); i += 3) mean += back->rgb[i];
    mean /= back->rgb.size() / 3.0;
    EXPECT_NEAR(mean, rgb[ch], 3.0) << "channel " << ch << " " << c.matrix << (c.full_range ? " full" : " limited");
  }
}

INSTANTIATE_TEST_SUITE_P(All, ColourTest,
                         ::testing::Values(ColourCase{"bt601", false, "libx264"}, ColourCase{"bt709", false, "libx264"},
                                           ColourCase{"bt709", true, "libx264"}, ColourCase{"bt2020", false, "libx264"},
                                           ColourCase{"bt601", true, "mjpeg"}));

class SeekTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SeekTest, LandsOnTheExactFrame) {
  const std::string ext = GetParam();
  const std::string path = ScratchDir() + "/seek." + ext;
  constexpr int kT = 60;
  EncoderOptions o;
  o.gop = 10;
  const std::string codec = ext == "webm" ? "libvpx-vp9" : ext == "avi" ? "mpeg4" : "libx264";
  const Clip src = WriteSmallVideo(path, codec, 64, 48, kT, 3, o);
  absl::StatusOr<std::unique_ptr<VideoReader>> reader = VideoReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto best_match = [&](const Frame& f) {
    int best = -1;
    double best_psnr = -1;
    for (int i = 0; i < kT; ++i) {
      const double p = Psnr(f.rgb.data(), src.frame(i), src.frame_bytes());
      if (p > best_psnr) best_psnr = p, best = i;
    }
    return best;
  };
  Frame f;
  for (int target : {37, 5, 59, 0, 23, 24, 48}) {  // backward and forward jumps
    ASSERT_TRUE((*reader)->SeekToFrame(target).ok());
    int64_t index = -1;
    absl::StatusOr<bool> got = (*reader)->Read(&f, &index);
    ASSERT_TRUE(got.ok() && *got) << ext << " target " << target;
    EXPECT_EQ(index, target);
    EXPECT_EQ(best_match(f), target) << ext;
  }
  ASSERT_TRUE((*reader)->SeekToTime(1.0).ok());
  int64_t index = -1;
  ASSERT_TRUE(*(*reader)->Read(&f, &index));
  EXPECT_EQ(index, 25);
  EXPECT_EQ(best_match(f), 25);
}

INSTANTIATE_TEST_SUITE_P(All, SeekTest, ::testing::Values("mp4", "mkv", "webm", "avi", "mov"));

TEST(ReadClipTest, PadsPastTheEndByRepeatingTheLastFrame) {
  const std::string path = ScratchDir() + "/short.mp4";
  WriteSmallVideo(path, "libx264", 64, 48, 12);
  int padded = -1;
  absl::StatusOr<Clip> clip = ReadClip(path, 8, 9, {}, &padded);
  ASSERT_TRUE(clip.ok()) << clip.status();
  EXPECT_EQ(clip->t, 9);
  EXPECT_EQ(padded, 5);
  for (int i = 4; i < 9; ++i) {
    EXPECT_TRUE(std::equal(clip->frame(i), clip->frame(i) + clip->frame_bytes(), clip->frame(3)));
  }
  EXPECT_FALSE(ReadClip(path, 40, 9).ok());  // nothing at all from frame 40
}

// mkv stores no frame count and its duration is the longest stream's: with a
// 2 s soundtrack over 21 frames (0.84 s at 25 fps) duration x fps says ~50.
// The packet count and the decoder say 21, and nothing is padded unasked.
TEST(ReadClipTest, MkvWithALongerSoundtrackReadsItsRealFrames) {
  const std::string dir = ScratchDir();
  const Clip src = WriteSmallVideo(dir + "/silent.mkv", "libx264", 64, 48, 21);
  const std::string path = dir + "/sound.mkv";
  const std::string cmd = "ffmpeg -v error -y -i " + dir + "/silent.mkv -f lavfi -i sine=frequency=440:duration=2 " +
                          "-map 0:v -map 1:a -c:v copy -c:a pcm_s16le " + path;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  absl::StatusOr<VideoInfo> hint = ProbeVideo(path);
  ASSERT_TRUE(hint.ok()) << hint.status();
  EXPECT_FALSE(hint->frame_count_exact);
  EXPECT_GT(hint->frame_count, 40) << "the soundtrack no longer inflates the estimate: the test lost its case";
  absl::StatusOr<VideoInfo> exact = ProbeVideo(path, {.exact_frame_count = true});
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_TRUE(exact->frame_count_exact);
  EXPECT_EQ(exact->frame_count, 21);

  // Sized by the hint, a read without `padded` stops at the real end.
  absl::StatusOr<Clip> all = ReadClip(path, 0, static_cast<int>(hint->frame_count));
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->t, 21);
  EXPECT_EQ(all->rgb.size(), all->frame_bytes() * 21);
  const double last = Psnr(all->frame(20), src.frame(20), src.frame_bytes());
  EXPECT_GT(last, Psnr(all->frame(20), src.frame(19), src.frame_bytes()) + 1.0);
  absl::StatusOr<Clip> tail = ReadClip(path, 16, 9);
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_EQ(tail->t, 5);
  // Padding is only ever asked for, and then counted.
  int padded = -1;
  absl::StatusOr<Clip> padded_clip = ReadClip(path, 16, 9, {}, &padded);
  ASSERT_TRUE(padded_clip.ok()) << padded_clip.status();
  EXPECT_EQ(padded_clip->t, 9);
  EXPECT_EQ(padded, 4);
}

TEST(WriterTest, RejectsUnknownCodecAndWrongSize) {
  const std::string dir = ScratchDir();
  EncoderOptions o;
  o.codec = "no-such-codec";
  EXPECT_EQ(VideoWriter::Open(dir + "/a.mp4", 64, 48, o).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<std::unique_ptr<VideoWriter>> w = VideoWriter::Open(dir + "/b.mp4", 64, 48);
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE((*w)->Write(Frame(32, 32)).ok());
  EXPECT_TRUE((*w)->Close().ok());
}

TEST(WriterTest, KeepsNtscFrameRate) {
  const std::string path = ScratchDir() + "/ntsc.mp4";
  EncoderOptions o;
  o.fps = 30000.0 / 1001.0;
  WriteSmallVideo(path, "libx264", 64, 48, 5, 1, o);
  absl::StatusOr<VideoInfo> info = ProbeVideo(path);
  ASSERT_TRUE(info.ok());
  EXPECT_NEAR(info->fps, 29.97, 0.01);
}

// The 8-bit clip as RGB48 (x257 maps 0..255 onto 0..65535).
std::vector<uint16_t> To16(const Clip& clip) {
  std::vector<uint16_t> deep(clip.rgb.size());
  for (size_t i = 0; i < deep.size(); ++i) deep[i] = static_cast<uint16_t>(clip.rgb[i] * 257);
  return deep;
}

TEST(InfoTest, AnUntaggedStreamReadsUnknownTagsAndNoRotation) {
  const std::string path = ScratchDir() + "/untagged.mkv";
  const std::string cmd =
      "ffmpeg -v error -y -f lavfi -i testsrc=size=64x48:rate=25 -frames:v 3 -pix_fmt yuv420p "
      "-c:v ffv1 " +
      path;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  absl::StatusOr<VideoInfo> info = ProbeVideo(path);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->color_primaries, "unknown");
  EXPECT_EQ(info->color_trc, "unknown");
  EXPECT_EQ(info->rotation_degrees, 0);
  EXPECT_EQ(info->bits_per_component, 8);
  EXPECT_EQ(info->time_base_num, 1);  // Matroska counts milliseconds
  EXPECT_EQ(info->time_base_den, 1000);
  EXPECT_EQ(info->start_pts, 0);
}

// Tags and rotation written by the writer read back as given: colour tags in
// every container, the display rotation where the container stores one.
class TagsTest : public ::testing::TestWithParam<const char*> {};

TEST_P(TagsTest, ColourTagsAndRotationRoundTrip) {
  const std::string ext = GetParam(), dir = ScratchDir();
  for (const int rotation : {0, 90, 180, 270}) {
    const std::string path = dir + "/r" + std::to_string(rotation) + "." + ext;
    EncoderOptions o;
    o.rotation_degrees = rotation;
    if (rotation != 0) {  // HDR10 tags; rotation 0 keeps the ones color_matrix implies
      o.color_matrix = "bt2020";
      o.color_primaries = "bt2020";
      o.color_trc = "smpte2084";
      o.pix_fmt = "yuv420p10le";
    }
    if (ext == "mkv" && rotation != 0) {
      absl::StatusOr<std::unique_ptr<VideoWriter>> w = VideoWriter::Open(path, 64, 48, o);
      EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(w.status().message().find("matroska"), std::string::npos) << w.status();
      continue;
    }
    WriteSmallVideo(path, "libx264", 64, 48, 3, 7, o);
    absl::StatusOr<VideoInfo> info = ProbeVideo(path);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->rotation_degrees, rotation) << path;
    EXPECT_EQ(info->width, 64) << "frames are stored as written, not rotated";
    EXPECT_EQ(info->height, 48);
    if (rotation == 0) {
      EXPECT_EQ(info->color_matrix, "bt709");
      EXPECT_EQ(info->color_primaries, "bt709");
      EXPECT_EQ(info->color_trc, "bt709");
      EXPECT_EQ(info->bits_per_component, 8);
    } else {
      EXPECT_EQ(info->color_matrix, "bt2020nc") << path;
      EXPECT_EQ(info->color_primaries, "bt2020") << path;
      EXPECT_EQ(info->color_trc, "smpte2084") << path;
      EXPECT_EQ(info->pix_fmt, "yuv420p10le");
      EXPECT_EQ(info->bits_per_component, 10);
    }
  }
  EncoderOptions bad;
  bad.color_trc = "pq";  // FFmpeg calls it smpte2084
  absl::StatusOr<std::unique_ptr<VideoWriter>> w = VideoWriter::Open(dir + "/bad." + ext, 64, 48, bad);
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(w.status().message().find("\"pq\""), std::string::npos) << w.status();
}

INSTANTIATE_TEST_SUITE_P(All, TagsTest, ::testing::Values("mp4", "mov", "mkv"));

// Irregular timestamps (variable frame rate) come back as written: exactly
// where the container keeps the time base, else within half of its tick.
struct TimingCase {
  const char* ext;
  const char* codec;
};

class TimingTest : public ::testing::TestWithParam<TimingCase> {};

TEST_P(TimingTest, ExplicitPtsSurviveTheContainer) {
  const TimingCase c = GetParam();
  const std::string path = ScratchDir() + "/vfr." + c.ext;
  // Milliseconds; the last frame is written with pts -1: 1/fps (40 ms) later.
  const std::vector<int64_t> want = {0, 40, 100, 120, 250, 260, 400, 440};
  const Clip clip = testing::SmallClip(64, 48, static_cast<int>(want.size()));
  EncoderOptions o;
  o.codec = c.codec;
  o.time_base_num = 1;
  o.time_base_den = 1000;
  o.preset = "veryfast";  // B-frames: timestamps are reordered on the way
  o.crf = 10;
  absl::StatusOr<std::unique_ptr<VideoWriter>> w = VideoWriter::Open(path, 64, 48, o);
  ASSERT_TRUE(w.ok()) << w.status();
  for (size_t i = 0; i + 1 < want.size(); ++i) ASSERT_TRUE((*w)->Write(clip.frame(i), want[i]).ok()) << i;
  ASSERT_TRUE((*w)->Write(clip.frame(want.size() - 1)).ok());
  const absl::Status late = (*w)->Write(clip.frame(0), want.back());
  EXPECT_EQ(late.code(), absl::StatusCode::kInvalidArgument) << "a pts that is not after the previous: " << late;
  ASSERT_TRUE((*w)->Close().ok());

  absl::StatusOr<std::unique_ptr<VideoReader>> reader = VideoReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  const VideoInfo& info = (*reader)->info();
  EXPECT_EQ(info.start_pts, 0);
  const double tick = static_cast<double>(info.time_base_num) / info.time_base_den;
  Frame f;
  size_t n = 0;
  int64_t pts = -1;
  double time_s = -1;
  while (*(*reader)->Read(&f, nullptr, &time_s, &pts)) {
    ASSERT_LT(n, want.size());
    EXPECT_NEAR(pts * tick, want[n] / 1000.0, tick / 2 + 1e-12) << c.ext << " frame " << n;
    if (info.time_base_den == 1000) {
      EXPECT_EQ(pts, want[n]);
    }
    EXPECT_DOUBLE_EQ(time_s, (pts - info.start_pts) * tick);
    EXPECT_GT(Psnr(f.rgb.data(), clip.frame(n), clip.frame_bytes()), 30.0) << "frame " << n;
    ++n;
  }
  EXPECT_EQ(n, want.size());
}

INSTANTIATE_TEST_SUITE_P(All, TimingTest,
                         ::testing::Values(TimingCase{"mp4", "libx264"}, TimingCase{"mkv", "libx264"},
                                           TimingCase{"mkv", "ffv1"}, TimingCase{"mov", "prores"}),
                         [](const ::testing::TestParamInfo<TimingCase>& i) {
                           return std::string(i.param.ext) + "_" + i.param.codec;
                         });

// A smooth 16-bit grey ramp through ffv1 (lossless after the RGB -> YUV
// conversion): 10 bits keep ~877 luma levels (limited range), 8 bits 220.
TEST(HighBitDepthTest, TenBitsKeepMoreThanEightBitsOfAGradient) {
  constexpr int kW = 64, kH = 48;
  std::vector<uint16_t> ramp(kW * kH * 3);
  for (int i = 0; i < kW * kH; ++i) {
    for (int c = 0; c < 3; ++c) ramp[3 * i + c] = static_cast<uint16_t>(int64_t{i} * 65535 / (kW * kH - 1));
  }
  const std::string dir = ScratchDir();
  auto levels_and_error = [&](const std::string& pix_fmt) -> std::pair<size_t, int> {
    const std::string path = dir + "/" + pix_fmt + ".mkv";
    EncoderOptions o;
    o.codec = "ffv1";
    o.pix_fmt = pix_fmt;
    absl::StatusOr<std::unique_ptr<VideoWriter>> w = VideoWriter::Open(path, kW, kH, o);
    EXPECT_TRUE(w.ok()) << w.status();
    if (!w.ok()) return {0, 0};
    EXPECT_TRUE((*w)->Write16(ramp.data()).ok());
    EXPECT_TRUE((*w)->Close().ok());
    absl::StatusOr<std::unique_ptr<VideoReader>> r = VideoReader::Open(path);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return {0, 0};
    EXPECT_EQ((*r)->info().pix_fmt, pix_fmt);
    std::vector<uint16_t> back(ramp.size());
    absl::StatusOr<bool> got = (*r)->ReadInto16(back.data());
    EXPECT_TRUE(got.ok() && *got);
    std::set<uint16_t> levels;
    int error = 0;
    for (size_t i = 0; i < back.size(); ++i) {
      if (i % 3 == 0) levels.insert(back[i]);
      error = std::max(error, std::abs(back[i] - ramp[i]));
    }
    return {levels.size(), error};
  };
  const auto [levels10, error10] = levels_and_error("yuv444p10le");
  const auto [levels8, error8] = levels_and_error("yuv444p");
  EXPECT_LE(levels8, 256u);
  EXPECT_GT(levels10, 800u);
  // Half a 10-bit limited-range step is 37 (8 bits: 150).
  EXPECT_LT(error10, 80);
  EXPECT_GT(error8, 2 * error10);
}

// RGB pix_fmts through ffv1 are lossless end to end: every value comes back,
// in 8 and in 16 bits (an odd width takes the reader's padded-row path).
TEST(LosslessTest, Ffv1RgbRoundTripsExactly) {
  const std::string dir = ScratchDir();
  const Clip src = testing::SmallClip(64, 48, 3);
  EncoderOptions o;
  o.codec = "ffv1";
  o.pix_fmt = "bgr0";
  ASSERT_TRUE(WriteVideo(dir + "/rgb24.mkv", src, o).ok());
  absl::StatusOr<Clip> back = ReadClip(dir + "/rgb24.mkv", 0, 3);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->rgb == src.rgb);

  constexpr int kW = 50, kH = 30;
  const Clip small = testing::SmallClip(kW, kH, 2);
  std::vector<uint16_t> deep = To16(small);
  for (size_t i = 0; i < deep.size(); ++i) deep[i] += (i * 7919) % 257;  // use all 16 bits
  o.pix_fmt = "rgb48le";
  absl::StatusOr<std::unique_ptr<VideoWriter>> w = VideoWriter::Open(dir + "/rgb48.mkv", kW, kH, o);
  ASSERT_TRUE(w.ok()) << w.status();
  const size_t frame_values = kW * kH * 3;
  for (int i = 0; i < 2; ++i) ASSERT_TRUE((*w)->Write16(deep.data() + i * frame_values).ok());
  ASSERT_TRUE((*w)->Close().ok());
  absl::StatusOr<std::unique_ptr<VideoReader>> r = VideoReader::Open(dir + "/rgb48.mkv");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->info().bits_per_component, 16);
  std::vector<uint16_t> got(deep.size());
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(*(*r)->ReadInto16(got.data() + i * frame_values));
  EXPECT_TRUE(got == deep);
}

// Codec x pix_fmt pairs users ask for, written from RGB48.
struct CodecCase {
  const char* ext;
  const char* codec;
  const char* pix_fmt;   // asked for ("" = the default)
  const char* expected;  // what the stream stores
  int bits;
  double min_psnr;
};

class CodecMatrixTest : public ::testing::TestWithParam<CodecCase> {};

TEST_P(CodecMatrixTest, WritesTheAskedPixFmt) {
  const CodecCase c = GetParam();
  const std::string path = ScratchDir() + "/clip." + c.ext;
  constexpr int kW = 64, kH = 48, kT = 4;
  const Clip src = testing::SmallClip(kW, kH, kT);
  const std::vector<uint16_t> deep = To16(src);
  EncoderOptions o;
  o.codec = c.codec;
  o.pix_fmt = c.pix_fmt;
  o.crf = 10;
  o.preset = "ultrafast";
  o.qscale = std::string(c.codec) == "mjpeg" ? 2 : -1;
  absl::StatusOr<std::unique_ptr<VideoWriter>> w = VideoWriter::Open(path, kW, kH, o);
  ASSERT_TRUE(w.ok()) << w.status();
  for (int i = 0; i < kT; ++i) ASSERT_TRUE((*w)->Write16(deep.data() + i * src.frame_bytes()).ok());
  ASSERT_TRUE((*w)->Close().ok());
  absl::StatusOr<Clip> back = ReadClip(path, 0, kT);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->t, kT);
  EXPECT_GT(Psnr(back->rgb.data(), src.rgb.data(), src.rgb.size()), c.min_psnr);
  absl::StatusOr<VideoInfo> info = ProbeVideo(path);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->pix_fmt, c.expected);
  EXPECT_EQ(info->bits_per_component, c.bits);
}

INSTANTIATE_TEST_SUITE_P(All, CodecMatrixTest,
                         ::testing::Values(CodecCase{"mp4", "libx264", "yuv420p10le", "yuv420p10le", 10, 34},
                                           CodecCase{"mkv", "libx264", "yuv444p", "yuv444p", 8, 34},
                                           CodecCase{"mp4", "libx265", "yuv420p10le", "yuv420p10le", 10, 32},
                                           CodecCase{"mkv", "libx265", "yuv444p10le", "yuv444p10le", 10, 32},
                                           CodecCase{"mov", "prores", "", "yuv422p10le", 10, 38},
                                           // ProRes 4444 is a 12-bit format: 10-bit input decodes as 12.
                                           CodecCase{"mov", "prores", "yuv444p10le", "yuv444p12le", 12, 38},
                                           CodecCase{"webm", "libvpx-vp9", "yuv420p10le", "yuv420p10le", 10, 32},
                                           CodecCase{"mkv", "ffv1", "yuv420p10le", "yuv420p10le", 10, 35},
                                           CodecCase{"avi", "mjpeg", "", "yuvj420p", 8, 30}),
                         [](const ::testing::TestParamInfo<CodecCase>& i) {
                           std::string s = std::string(i.param.ext) + "_" + i.param.codec + "_" + i.param.expected;
                           for (char& c : s) {
                             if (c == '-') c = '_';
                           }
                           return s;
                         });

TEST(CodecMatrixTest, RefusesAPixFmtTheEncoderDoesNotTakeNamingBoth) {
  const std::string dir = ScratchDir();
  for (const auto& [codec, pix_fmt] : std::vector<std::pair<std::string, std::string>>{
           {"png", "yuv420p"}, {"libx264", "rgb24"}, {"prores", "yuv420p"}, {"mjpeg", "yuv420p10le"}}) {
    EncoderOptions o;
    o.codec = codec;
    o.pix_fmt = pix_fmt;
    const absl::Status s = VideoWriter::Open(dir + "/x.mkv", 64, 48, o).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << codec << " " << pix_fmt;
    EXPECT_NE(s.message().find(codec), std::string::npos) << s;
    EXPECT_NE(s.message().find(pix_fmt), std::string::npos) << s;
  }
}

// A numbered path writes one image per frame (png by default for .png) and
// reads back as a video; png rgb24 is lossless.
TEST(ImageSequenceTest, WritesOneFilePerFrame) {
  const std::string dir = ScratchDir();
  const Clip src = testing::SmallClip(64, 48, 4);
  ASSERT_TRUE(WriteVideo(dir + "/%06d.png", src).ok());
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.insert(e.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"000001.png", "000002.png", "000003.png", "000004.png"}));
  absl::StatusOr<VideoInfo> info = ProbeVideo(dir + "/%06d.png", {.exact_frame_count = true});
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->codec, "png");
  EXPECT_EQ(info->pix_fmt, "rgb24");
  EXPECT_EQ(info->frame_count, 4);
  absl::StatusOr<Clip> back = ReadClip(dir + "/%06d.png", 0, 4);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->rgb == src.rgb);
}

TEST(WriterTest, DefaultCodecFollowsTheContainer) {
  const std::string dir = ScratchDir();
  std::filesystem::create_directory(dir + "/jpg");
  const Clip src = testing::SmallClip(64, 48, 2);
  for (const auto& [path, codec] : std::vector<std::pair<std::string, std::string>>{{"/a.mp4", "h264"},
                                                                                    {"/a.mov", "h264"},
                                                                                    {"/a.mkv", "h264"},
                                                                                    {"/a.webm", "vp9"},
                                                                                    {"/a.avi", "mpeg4"},
                                                                                    {"/jpg/%04d.jpg", "mjpeg"}}) {
    ASSERT_TRUE(WriteVideo(dir + path, src).ok()) << path;
    absl::StatusOr<VideoInfo> info = ProbeVideo(dir + path);
    ASSERT_TRUE(info.ok()) << path << ": " << info.status();
    EXPECT_EQ(info->codec, codec) << path;
  }
}

// What libavformat sees in a file: one line per stream.
struct StreamDesc {
  std::string type, codec, language;
  bool forced = false;
  bool operator==(const StreamDesc& o) const {
    return type == o.type && codec == o.codec && language == o.language && forced == o.forced;
  }
};

std::ostream& operator<<(std::ostream& os, const StreamDesc& s) {
  return os << s.type << "/" << s.codec << "/" << s.language << (s.forced ? "/forced" : "");
}

std::vector<StreamDesc> Streams(const std::string& path) {
  std::vector<StreamDesc> out;
  AVFormatContext* ctx = nullptr;
  if (avformat_open_input(&ctx, path.c_str(), nullptr, nullptr) < 0) return out;
  avformat_find_stream_info(ctx, nullptr);
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    const AVStream* s = ctx->streams[i];
    const AVDictionaryEntry* language = av_dict_get(s->metadata, "language", nullptr, 0);
    out.push_back({av_get_media_type_string(s->codecpar->codec_type), avcodec_get_name(s->codecpar->codec_id),
                   language != nullptr ? language->value : "", (s->disposition & AV_DISPOSITION_FORCED) != 0});
  }
  avformat_close_input(&ctx);
  return out;
}

class CopyStreamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ScratchDir();
    testing::WriteBytes(dir_ + "/subs.srt",
                        "1\n00:00:00,100 --> 00:00:00,500\nBonjour\n\n2\n00:00:00,600 --> 00:00:00,900\nAu revoir\n");
  }
  // A 1 s source with test pattern video, a sine and the subtitles.
  std::string MakeSource(const std::string& name, const std::string& codecs) {
    const std::string path = dir_ + "/" + name;
    const std::string cmd =
        "ffmpeg -v error -y -f lavfi -i testsrc=size=64x48:rate=25:duration=1 -f lavfi -i "
        "sine=duration=1 -i " +
        dir_ + "/subs.srt -map 0:v -map 1:a -map 2:s -c:v libx264 " + codecs +
        " -metadata:s:a:0 language=eng -metadata:s:s:0 language=fra " + "-disposition:s:0 forced " + path;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return path;
  }
  std::string dir_;
};

TEST_F(CopyStreamsTest, CopiesAudioAndSubtitlesWithTheirMetadata) {
  const std::string source = MakeSource("source.mkv", "-c:a libopus -c:s srt");
  const std::string restored = dir_ + "/restored.mkv";
  WriteSmallVideo(restored, "libx264", 64, 48, 25);
  EXPECT_FALSE(*HasStreamsToCopy(restored));
  EXPECT_TRUE(*HasStreamsToCopy(source));

  ASSERT_TRUE(CopyStreams(restored, source, dir_ + "/out.mkv").ok());
  EXPECT_EQ(Streams(dir_ + "/out.mkv"),
            (std::vector<StreamDesc>{
                {"video", "h264", "", false}, {"audio", "opus", "eng", false}, {"subtitle", "subrip", "fra", true}}));
  absl::StatusOr<VideoInfo> info = ProbeVideo(dir_ + "/out.mkv", {.exact_frame_count = true});
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->frame_count, 25);

  // WebM takes Opus but not SubRip: the subtitles are left out, no error.
  const std::string restored_webm = dir_ + "/restored.webm";
  WriteSmallVideo(restored_webm, "libvpx-vp9", 64, 48, 25);
  ASSERT_TRUE(CopyStreams(restored_webm, source, dir_ + "/out.webm").ok());
  EXPECT_EQ(Streams(dir_ + "/out.webm"),
            (std::vector<StreamDesc>{{"video", "vp9", "", false}, {"audio", "opus", "eng", false}}));

  // Subtitles alone are worth copying.
  ASSERT_EQ(std::system(("ffmpeg -v error -y -i " + dir_ + "/subs.srt " + dir_ + "/subs.mkv").c_str()), 0);
  EXPECT_TRUE(*HasStreamsToCopy(dir_ + "/subs.mkv"));
}

TEST_F(CopyStreamsTest, Mp4KeepsMovTextAndTheVideosRotation) {
  const std::string source = MakeSource("source.mp4", "-c:a aac -c:s mov_text");
  const std::string restored = dir_ + "/restored.mp4";
  EncoderOptions o;
  o.rotation_degrees = 90;
  WriteSmallVideo(restored, "libx264", 64, 48, 25, 7, o);
  ASSERT_TRUE(CopyStreams(restored, source, dir_ + "/out.mp4").ok());
  EXPECT_EQ(Streams(dir_ + "/out.mp4"), (std::vector<StreamDesc>{{"video", "h264", "und", false},
                                                                 {"audio", "aac", "eng", false},
                                                                 {"subtitle", "mov_text", "fra", true}}));
  absl::StatusOr<VideoInfo> info = ProbeVideo(dir_ + "/out.mp4");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->rotation_degrees, 90);
  EXPECT_EQ(info->frame_count, 25);
}

TEST(JpegTest, QualityOrdersTheError) {
  Clip clip = testing::SmallClip(96, 64, 1);
  Frame ref = clip.GetFrame(0);
  std::vector<double> psnr;
  for (double q : {95.0, 70.0, 50.0, 30.0}) {
    Frame f = ref;
    ASSERT_TRUE(JpegRoundTrip(&f, q).ok());
    psnr.push_back(Psnr(f.rgb.data(), ref.rgb.data(), ref.rgb.size()));
  }
  for (size_t i = 1; i < psnr.size(); ++i) EXPECT_GT(psnr[i - 1], psnr[i]) << i;
  EXPECT_GT(psnr.front(), 33.0);
  EXPECT_GT(psnr.back(), 20.0);
  EXPECT_LT(psnr.back(), 36.0);
  // Odd sizes are padded and cropped back.
  Frame odd(33, 17);
  std::fill(odd.rgb.begin(), odd.rgb.end(), 128);
  ASSERT_TRUE(JpegRoundTrip(&odd, 80).ok());
  EXPECT_NEAR(odd.rgb[100], 128, 3);
}

TEST(CodecRoundTripTest, CompressionStrengthOrdersTheError) {
  const Clip src = testing::SmallClip(64, 48, 8);
  auto psnr_of = [&](CodecRoundTripOptions o) {
    Clip c = src;
    const absl::Status s = VideoCodecRoundTrip(&c, o);
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_EQ(c.t, src.t);
    return Psnr(c.rgb.data(), src.rgb.data(), src.rgb.size());
  };
  CodecRoundTripOptions lo, hi;
  lo.crf = 23;
  hi.crf = 38;
  const double p23 = psnr_of(lo), p38 = psnr_of(hi);
  EXPECT_GT(p23, p38 + 2.0);
  EXPECT_GT(p38, 18.0);
  CodecRoundTripOptions m1, m2;
  m1.encoder = m2.encoder = "mpeg4";
  m1.bitrate = 100000;
  m2.bitrate = 10000;
  EXPECT_GT(psnr_of(m1), psnr_of(m2));
  CodecRoundTripOptions q;
  q.encoder = "mpeg4";
  q.qscale = 31;
  CodecRoundTripOptions q2 = q;
  q2.qscale = 2;
  EXPECT_LT(psnr_of(q), psnr_of(q2) - 3.0);
  Clip odd = testing::SmallClip(37, 21, 3);
  EXPECT_TRUE(VideoCodecRoundTrip(&odd, lo).ok());
}

// Frees blocks of many sizes filled with 0xFF, so whatever allocates next
// (an encoder's buffers) is handed those bytes instead of fresh zero pages.
void PoisonFreedMemory() {
  std::vector<void*> blocks;
  for (size_t size = 64; size <= (size_t{8} << 20); size *= 2) {
    for (int i = 0; i < 8; ++i) {
      blocks.push_back(std::malloc(size));
      std::memset(blocks.back(), 0xFF, size);
    }
  }
  for (void* p : blocks) std::free(p);
}

// A degraded training clip and a written video are functions of their frames,
// not of what the heap held: libx264's macroblock-tree kernel for AVX-512
// reads memory it never initialised, so with it on the same frames encoded
// differently from one process to the next (the two halves of one training
// step on two ranks saw different LQ clips).
TEST(CodecRoundTripTest, X264OutputDoesNotDependOnTheHeap) {
  const Clip src = testing::SmallClip(160, 96, 9);
  CodecRoundTripOptions crf, rate;
  crf.crf = 30;
  rate.bitrate = 60000;
  for (const CodecRoundTripOptions& o : {crf, rate}) {
    Clip a = src, b = src;
    ASSERT_TRUE(VideoCodecRoundTrip(&a, o).ok());
    PoisonFreedMemory();
    ASSERT_TRUE(VideoCodecRoundTrip(&b, o).ok());
    EXPECT_TRUE(a.rgb == b.rgb) << "the same frames degraded differently at " << (o.crf >= 0 ? "a CRF" : "a bitrate");
  }
  const std::string dir = ScratchDir();
  EncoderOptions o;
  o.codec = "libx264";
  o.crf = 30;
  ASSERT_TRUE(WriteVideo(dir + "/a.mp4", src, o).ok());
  PoisonFreedMemory();
  ASSERT_TRUE(WriteVideo(dir + "/b.mp4", src, o).ok());
  const std::string first = FfmpegRgb(dir + "/a.mp4");
  EXPECT_EQ(first.size(), src.rgb.size());
  EXPECT_TRUE(first == FfmpegRgb(dir + "/b.mp4")) << "the same frames wrote different pictures";
}

// Issue 18: what the stream delivers wins over what the container says.

// A phone video whose orientation is only its display matrix (BR-03: coded
// 96x64, rotate 90), and the other angles: read upright, the frames are what
// the ffmpeg CLI shows (it applies the matrix), in the displayed size.
TEST(RotationTest, UprightFramesAreWhatPlayersShow) {
  const std::string dir = ScratchDir();
  Shell("ffmpeg -v error -y -f lavfi -i testsrc2=size=96x64:rate=25 -frames:v 9 -c:v libx264 -pix_fmt yuv420p " + dir +
        "/a.mp4");
  for (const int rotate : {90, 180, 270}) {
    const std::string path = dir + "/r" + std::to_string(rotate) + ".mp4";
    Shell("ffmpeg -v error -y -i " + dir + "/a.mp4 -c copy -metadata:s:v:0 rotate=" + std::to_string(rotate) + " " +
          path);
    absl::StatusOr<VideoInfo> stored = ProbeVideo(path);
    ASSERT_TRUE(stored.ok()) << stored.status();
    EXPECT_NE(stored->rotation_degrees, 0) << path;
    EXPECT_EQ(stored->width, 96);
    ReaderOptions upright;
    upright.upright = true;
    absl::StatusOr<Clip> clip = ReadClip(path, 0, 9, upright);
    ASSERT_TRUE(clip.ok()) << clip.status();
    const bool portrait = rotate != 180;
    EXPECT_EQ(clip->w, portrait ? 64 : 96) << path;
    EXPECT_EQ(clip->h, portrait ? 96 : 64) << path;
    EXPECT_EQ(ProbeVideo(path, upright)->rotation_degrees, 0) << "nothing is left for a player to turn";
    const std::string shown = FfmpegRgb(path);
    ASSERT_EQ(shown.size(), clip->rgb.size()) << path;
    double diff = 0;
    for (size_t i = 0; i < shown.size(); ++i) diff += std::abs(int{static_cast<uint8_t>(shown[i])} - clip->rgb[i]);
    EXPECT_LT(diff / shown.size(), 3.0) << path;  // the CLI's swscale path rounds differently
    if (!portrait) {                              // the same size either way: the pixels must have turned
      absl::StatusOr<Clip> as_stored = ReadClip(path, 0, 9);
      double turned = 0;
      for (size_t i = 0; i < shown.size(); ++i)
        turned += std::abs(int{static_cast<uint8_t>(shown[i])} - as_stored->rgb[i]);
      EXPECT_GT(turned / shown.size(), 20.0);
    }
  }
}

// BR-07: an mkv stores no frame count and its duration is the longest
// track's (21 frames under 2 s of Opus): the exact count is the packets, and
// the disagreement is logged once, naming the file and both counts.
TEST(FrameCountTest, MkvDurationIsAHintAndTheDisagreementIsLogged) {
  const std::string dir = ScratchDir(), path = dir + "/longaudio.mkv";
  Shell("ffmpeg -v error -y -f lavfi -i testsrc2=size=96x64:rate=25 -frames:v 21 -c:v libx264 -pix_fmt yuv420p " + dir +
        "/v.mkv && ffmpeg -v error -y -f lavfi -i sine=frequency=440:sample_rate=48000:duration=2 -c:a libopus " + dir +
        "/a.mka && ffmpeg -v error -y -i " + dir + "/v.mkv -i " + dir + "/a.mka -map 0:v -map 1:a -c copy " + path);
  testing::LogCapture log;
  absl::StatusOr<VideoInfo> exact = ProbeVideo(path, {.exact_frame_count = true});
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(exact->frame_count, 21);
  ASSERT_EQ(log.lines.size(), 1u);
  EXPECT_NE(log.lines[0].find(path), std::string::npos) << log.lines[0];
  EXPECT_NE(log.lines[0].find("using 21"), std::string::npos) << log.lines[0];
  absl::StatusOr<Clip> all = ReadClip(path, 0, 60);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->t, 21);
}

// A remuxed legacy AVI whose header counts say 40 frames over 21: the
// packets win, the disagreement is logged, and reading to the real end is no
// "truncated" error.
TEST(FrameCountTest, AviHeaderCountThatDisagreesLosesToThePackets) {
  const std::string dir = ScratchDir(), path = dir + "/remuxed.avi";
  const Clip src = WriteSmallVideo(path, "mpeg4", 64, 48, 21);
  testing::SetAviHeaderFrameCount(path, 40);
  absl::StatusOr<VideoInfo> header = ProbeVideo(path);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->frame_count, 40) << "the header count is no longer wrong: the test lost its case";
  testing::LogCapture log;
  absl::StatusOr<VideoInfo> exact = ProbeVideo(path, {.exact_frame_count = true});
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(exact->frame_count, 21);
  EXPECT_EQ(log.Count(path + ": the container stores a count of 40 frames, its video stream holds 21"), 1)
      << (log.lines.empty() ? "" : log.lines[0]);
  absl::StatusOr<Clip> clip = ReadClip(path, 10, 11);
  ASSERT_TRUE(clip.ok()) << clip.status();
  EXPECT_EQ(clip->t, 11);
  EXPECT_GT(Psnr(clip->frame(10), src.frame(20), src.frame_bytes()), 30.0);
}

// BR-11: JPEG is BT.601 full range (JFIF) both ways. A green still made by
// the ffmpeg CLI reads as its RGB at any height (the untagged-video rule
// would take BT.709 from 720 lines on), and what the writer makes as JPEG
// decodes in the CLI to the same colour, even when BT.709 was asked for.
TEST(JpegColourTest, JpegIsBt601FullRangeReadingAndWriting) {
  const std::string dir = ScratchDir();
  const uint8_t green[3] = {0x14, 0xB4, 0x28};
  for (const char* size : {"96x64", "64x720"}) {
    const std::string path = dir + "/green_" + size + ".jpg";
    Shell(std::string("ffmpeg -v error -y -f lavfi -i color=c=0x14B428:size=") + size + " -frames:v 1 -q:v 1 " + path);
    absl::StatusOr<Clip> read = ReadClip(path, 0, 1);
    ASSERT_TRUE(read.ok()) << read.status();
    for (int c = 0; c < 3; ++c) {
      EXPECT_NEAR(MeanChannel(read->rgb.data(), read->rgb.size(), c), green[c], 2.0) << path << " channel " << c;
    }
  }
  Clip flat(1, 96, 64);
  for (size_t i = 0; i < flat.rgb.size(); ++i) flat.rgb[i] = green[i % 3];
  for (const char* matrix : {"bt709", "bt601"}) {
    const std::string path = dir + "/written_" + matrix + ".jpg";
    EncoderOptions o;
    o.codec = "mjpeg";
    o.qscale = 1;
    o.color_matrix = matrix;
    ASSERT_TRUE(WriteVideo(path, flat, o).ok());
    const std::string shown = FfmpegRgb(path);
    ASSERT_EQ(shown.size(), flat.rgb.size());
    for (int c = 0; c < 3; ++c) {
      EXPECT_NEAR(MeanChannel(reinterpret_cast<const uint8_t*>(shown.data()), shown.size(), c), green[c], 2.0)
          << path << " channel " << c;
    }
    absl::StatusOr<VideoInfo> info = ProbeVideo(path);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->color_matrix, "bt470bg") << path;
    EXPECT_TRUE(info->full_range) << path;
  }
}

// Every pix_fmt writes the matrix and range it was asked for into its tags,
// and the ffmpeg CLI (which honours them) decodes the colour that was
// written; PNG is RGB and exact.
TEST(ColourTagsTest, EveryPixFmtTagsItsMatrixAndRangeAndDecodesElsewhereAlike) {
  const std::string dir = ScratchDir();
  const uint8_t rgb[3] = {200, 60, 30};
  Clip flat(2, 64, 48);
  for (size_t i = 0; i < flat.rgb.size(); ++i) flat.rgb[i] = rgb[i % 3];
  struct Case {
    const char* file;
    const char* codec;
    const char* pix_fmt;
    const char* matrix;
    bool full;
    const char* tag;  // as FFmpeg names the matrix
  };
  for (const Case& c : {Case{"a.mkv", "libx264", "yuv422p", "bt601", false, "smpte170m"},
                        Case{"b.mkv", "libx264", "yuv444p", "bt709", false, "bt709"},
                        Case{"c.mp4", "libx264", "yuv420p10le", "bt2020", false, "bt2020nc"},
                        Case{"d.mov", "prores", "yuv422p10le", "bt709", false, "bt709"},
                        Case{"e.mkv", "ffv1", "yuv420p", "bt601", true, "smpte170m"}}) {
    const std::string path = dir + "/" + c.file;
    EncoderOptions o;
    o.codec = c.codec;
    o.pix_fmt = c.pix_fmt;
    o.color_matrix = c.matrix;
    o.full_range = c.full;
    o.crf = 0;
    ASSERT_TRUE(WriteVideo(path, flat, o).ok()) << path;
    absl::StatusOr<VideoInfo> info = ProbeVideo(path);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->pix_fmt, c.pix_fmt) << path;
    EXPECT_EQ(info->color_matrix, c.tag) << path;
    EXPECT_EQ(info->full_range, c.full) << path;
    const std::string shown = FfmpegRgb(path);
    absl::StatusOr<Clip> read = ReadClip(path, 0, 2);
    ASSERT_TRUE(read.ok()) << read.status();
    for (int ch = 0; ch < 3; ++ch) {
      EXPECT_NEAR(MeanChannel(reinterpret_cast<const uint8_t*>(shown.data()), shown.size(), ch), rgb[ch], 2.5)
          << path << " channel " << ch << " (ffmpeg CLI)";
      EXPECT_NEAR(MeanChannel(read->rgb.data(), read->rgb.size(), ch), rgb[ch], 2.5) << path << " channel " << ch;
    }
  }
  const std::string png = dir + "/f.png";
  Clip one(1, 64, 48);
  std::copy(flat.frame(0), flat.frame(1), one.frame(0));
  ASSERT_TRUE(WriteVideo(png, one, {.codec = "png", .pix_fmt = "rgb24"}).ok());
  EXPECT_EQ(FfmpegRgb(png), std::string(one.rgb.begin(), one.rgb.end()));
}

// BR-09: a transparent PNG says so; frames come out as RGB.
TEST(AlphaTest, AnRgbaPngReportsItsAlpha) {
  const std::string dir = ScratchDir();
  Shell(
      "ffmpeg -v error -y -f lavfi -i smptebars=size=96x64 -vf \"format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':"
      "a='if(lt(X,48),255,0)'\" -frames:v 1 " +
      dir + "/sprite.png");
  Shell("ffmpeg -v error -y -f lavfi -i smptebars=size=96x64 -frames:v 1 " + dir + "/opaque.png");
  absl::StatusOr<VideoInfo> sprite = ProbeVideo(dir + "/sprite.png"), opaque = ProbeVideo(dir + "/opaque.png");
  ASSERT_TRUE(sprite.ok() && opaque.ok()) << sprite.status() << opaque.status();
  EXPECT_TRUE(sprite->has_alpha);
  EXPECT_FALSE(opaque->has_alpha);
  EXPECT_EQ(ReadClip(dir + "/sprite.png", 0, 1)->rgb.size(), 96u * 64 * 3);
}

// A frame larger than the limit is refused at Open, before a decoder
// allocates it: a 96x64 clip under a limit of 6000 pixels, and a 4000x3000
// JPEG (whose decoder learns its size only from the picture) under 10^6.
TEST(FrameLimitTest, FramesOverThePixelLimitAreRefusedBeforeDecoding) {
  const std::string dir = ScratchDir();
  WriteSmallVideo(dir + "/a.mp4", "libx264", 96, 64, 3);
  ReaderOptions small;
  small.max_frame_pixels = 6000;
  absl::StatusOr<VideoInfo> refused = ProbeVideo(dir + "/a.mp4", small);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.status().message().find("96x64 = 6144 pixels exceed the limit of 6000"), std::string::npos)
      << refused.status();
  small.max_frame_pixels = 6144;
  EXPECT_TRUE(ProbeVideo(dir + "/a.mp4", small).ok());

  const std::string big = dir + "/big.jpg";
  Shell("ffmpeg -v error -y -f lavfi -i color=c=red:size=4000x3000 -frames:v 1 -q:v 31 " + big);
  small.max_frame_pixels = 1000000;
  absl::StatusOr<VideoInfo> declared = ProbeVideo(big, small);
  EXPECT_EQ(declared.status().code(), absl::StatusCode::kResourceExhausted) << declared.status();
  EXPECT_NE(declared.status().message().find("4000x3000 = 12000000 pixels"), std::string::npos) << declared.status();
}

// Paths that are not regular files fail at once instead of blocking the
// open (a FIFO waits for a writer forever), and a read that does not finish
// within the time limit fails instead of hanging.
TEST(ReaderTest, FifosAndStuckReadsFailInsteadOfHanging) {
  const std::string dir = ScratchDir();
  const std::string fifo = dir + "/clip.mp4";
  Shell("mkfifo " + fifo);
  absl::StatusOr<VideoInfo> info = ProbeVideo(fifo);
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument) << info.status();
  EXPECT_NE(info.status().message().find("not a regular file"), std::string::npos) << info.status();
  std::filesystem::create_symlink(dir + "/loop.mkv", dir + "/loop.mkv");
  EXPECT_FALSE(ProbeVideo(dir + "/loop.mkv").ok());

  WriteSmallVideo(dir + "/a.mkv", "libx264", 64, 48, 5);
  ReaderOptions instant;
  instant.timeout_s = 1e-9;
  absl::StatusOr<VideoInfo> stuck = ProbeVideo(dir + "/a.mkv", instant);
  EXPECT_EQ(stuck.status().code(), absl::StatusCode::kDeadlineExceeded) << stuck.status();
  EXPECT_NE(stuck.status().message().find("1e-09 s"), std::string::npos) << stuck.status();
}

}  // namespace
}  // namespace seedvr::data

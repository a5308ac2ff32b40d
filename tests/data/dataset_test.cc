// Pair dataset (layout, pairing, 4n+1, crops, small/short videos, bad input)
// and the prefetching loader (order, sharding, resume, failures midway).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "seedvr/data/image_ops.h"
#include "seedvr/data/loader.h"
#include "seedvr/data/log.h"
#include "seedvr/data/video_pair_dataset.h"
#include "tests/data/test_util.h"

namespace seedvr::data {
namespace {

namespace fs = std::filesystem;
using testing::LogCapture;
using testing::ScratchDir;
using testing::WriteSmallVideo;

DataConfig SmallConfig(const std::string& root) {
  DataConfig c;
  c.data_root = root;
  c.num_frames = 5;
  c.crop_size = {32, 32};
  c.num_workers = 2;
  c.prefetch = 3;
  c.seed = 11;
  c.degradation.x264_preset = "ultrafast";
  return c;
}

// hq/ with `n` small videos in rotating containers.
void MakeHq(const std::string& root, int n, int frames = 12) {
  fs::create_directories(root + "/hq");
  const char* kinds[][2] = {{"mp4", "libx264"}, {"mkv", "libx264"}, {"webm", "libvpx-vp9"}, {"avi", "mpeg4"},
                            {"mov", "mjpeg"}};
  for (int i = 0; i < n; ++i) {
    WriteSmallVideo(root + "/hq/v" + std::to_string(i) + "." + kinds[i % 5][0], kinds[i % 5][1], 64, 48, frames,
                    100 + i);
  }
}

TEST(DatasetTest, PairsByStemAndReportsTheRest) {
  const std::string root = ScratchDir();
  fs::create_directories(root + "/hq");
  fs::create_directories(root + "/lq");
  const Clip a = WriteSmallVideo(root + "/hq/a.mp4", "libx264", 64, 48, 12, 1);
  WriteSmallVideo(root + "/hq/b.MKV", "libx264", 64, 48, 12, 2);
  // LQ of a: the same frames at half size, another container.
  Clip half(a.t, 32, 24);
  for (int f = 0; f < a.t; ++f) {
    const Frame small = Resize(a.GetFrame(f), 32, 24, ResizeKernel::kArea);
    half.SetFrame(f, small);
  }
  EncoderOptions o;
  o.codec = "mpeg4";
  o.qscale = 2;
  ASSERT_TRUE(WriteVideo(root + "/lq/a.avi", half, o).ok());
  WriteSmallVideo(root + "/lq/orphan.mp4", "libx264", 64, 48, 6);
  testing::WriteBytes(root + "/hq/notes.txt", "not a video");

  LogCapture log;
  DataConfig cfg = SmallConfig(root);
  auto ds = VideoPairDataset::Create(cfg);
  ASSERT_TRUE(ds.ok()) << ds.status();
  ASSERT_EQ((*ds)->size(), 2u);
  EXPECT_EQ((*ds)->entries()[0].stem, "a");
  EXPECT_EQ((*ds)->entries()[0].lq_path, root + "/lq/a.avi");
  EXPECT_EQ((*ds)->entries()[1].stem, "b");
  EXPECT_TRUE((*ds)->entries()[1].lq_path.empty());
  const DatasetStats st = (*ds)->stats();
  ASSERT_EQ(st.skipped.size(), 2u);
  EXPECT_EQ(log.Count("notes.txt: unsupported extension"), 1);
  EXPECT_EQ(log.Count("orphan.mp4: LQ file without an HQ partner"), 1);

  // The real LQ is resized to the HQ size before cropping: both crops align.
  absl::StatusOr<Sample> s = (*ds)->Get(0, 5);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->synthesized_lq);
  EXPECT_EQ(s->hq.w, 32);
  EXPECT_EQ(s->hq.h, 32);
  EXPECT_EQ(s->lq.w, 32);
  EXPECT_EQ(s->lq.t, 5);
  EXPECT_GT(Psnr(s->hq.rgb.data(), s->lq.rgb.data(), s->hq.rgb.size()), 24.0);
  // Synthesized LQ for b.
  absl::StatusOr<Sample> sb = (*ds)->Get(1, 5);
  ASSERT_TRUE(sb.ok()) << sb.status();
  EXPECT_TRUE(sb->synthesized_lq);
  EXPECT_FALSE(sb->degradation.empty());
  EXPECT_EQ(sb->lq.w, 32);

  // generate_lq off: b is reported and skipped.
  cfg.generate_lq = false;
  auto strict = VideoPairDataset::Create(cfg);
  ASSERT_TRUE(strict.ok());
  EXPECT_EQ((*strict)->size(), 1u);
  EXPECT_EQ(log.Count("b.MKV: no LQ partner in lq/ and generate_lq is off"), 1);
}

// HQ alone (the VAE's training): lq/ is not read, no file is skipped for
// lacking an LQ, nothing is degraded, and the HQ crops are those of pairs.
TEST(DatasetTest, HqOnlySamplesReadNoLqAndDegradeNothing) {
  const std::string root = ScratchDir();
  fs::create_directories(root + "/lq");
  MakeHq(root, 2);
  WriteSmallVideo(root + "/lq/v0.mp4", "libx264", 32, 24, 12);
  WriteSmallVideo(root + "/lq/orphan.mp4", "libx264", 32, 24, 12);
  LogCapture log;
  DataConfig cfg = SmallConfig(root);
  cfg.generate_lq = false;
  auto ds = VideoPairDataset::Create(cfg, SampleContent::kHqOnly);
  ASSERT_TRUE(ds.ok()) << ds.status();
  ASSERT_EQ((*ds)->size(), 2u);
  EXPECT_TRUE((*ds)->stats().skipped.empty());
  EXPECT_EQ(log.Count("orphan"), 0);
  EXPECT_EQ(log.Count("HQ only"), 1);
  cfg.generate_lq = true;
  auto pairs = VideoPairDataset::Create(cfg);
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  for (size_t i = 0; i < 2; ++i) {
    absl::StatusOr<Sample> s = (*ds)->Get(i, 3), p = (*pairs)->Get(i, 3);
    ASSERT_TRUE(s.ok() && p.ok());
    EXPECT_TRUE(s->lq.rgb.empty());
    EXPECT_FALSE(s->synthesized_lq);
    EXPECT_TRUE(s->degradation.empty());
    EXPECT_EQ(s->hq.rgb, p->hq.rgb);
    EXPECT_FALSE(p->lq.rgb.empty());
  }
  EXPECT_EQ((*ds)->stats().lq_synthesized, 0);
}

// Flat frames whose grey level numbers them: frame j is 10 + 10 j.
void WriteNumberedVideo(const std::string& path, int frames, double fps, int w, int h) {
  Clip clip(frames, w, h);
  for (int j = 0; j < frames; ++j) std::fill(clip.frame(j), clip.frame(j) + clip.frame_bytes(), 10 + 10 * j);
  EncoderOptions o;
  o.codec = "libx264";
  o.crf = 0;
  o.preset = "ultrafast";
  o.fps = fps;
  ASSERT_TRUE(WriteVideo(path, clip, o).ok()) << path;
}

int FrameNumber(const Clip& c, int f) {
  double mean = 0.0;
  for (size_t i = 0; i < c.frame_bytes(); ++i) mean += c.frame(f)[i];
  return static_cast<int>(std::lround((mean / c.frame_bytes() - 10.0) / 10.0));
}

// HQ frame i is shown at i / fps_hq; it pairs with the LQ frame nearest in
// time. Both tables are worked out by hand:
//   24 fps HQ over 12 fps LQ: i/24 lies on LQ frame i/2 (even i) or halfway
//     between (i-1)/2 and (i+1)/2 (odd i), where the tie keeps the earlier
//     frame, the one on screen: LQ = floor(i / 2). The LQ is an mkv, whose
//     millisecond timestamps store 1/12 s as 83 ms: HQ 7 (291.67 ms) is
//     41.67 ms after LQ 3 (250 ms) and 41.33 ms before LQ 4 (333 ms), still
//     a tie within the 1 ms resolution.
//   25 fps HQ over 10 fps LQ: LQ = round(i/25 * 10) = round(0.4 i), never a
//     tie (0.4 i is never k + 0.5).
TEST(DatasetTest, LqAtAnotherFrameRatePairsEachHqFrameWithTheNearestInTime) {
  constexpr int kHalf[24] = {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11};
  constexpr int kTenth[25] = {0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4, 4, 5, 5, 6, 6, 6, 7, 7, 8, 8, 8, 9, 9, 10};
  const std::string root = ScratchDir();
  fs::create_directories(root + "/hq");
  fs::create_directories(root + "/lq");
  WriteNumberedVideo(root + "/hq/half.mp4", 24, 24.0, 64, 48);
  WriteNumberedVideo(root + "/lq/half.mkv", 12, 12.0, 32, 24);
  WriteNumberedVideo(root + "/hq/tenth.mp4", 25, 25.0, 64, 48);
  // avi: the time base is the frame interval, timestamps are exact.
  WriteNumberedVideo(root + "/lq/tenth.avi", 11, 10.0, 32, 24);
  DataConfig cfg = SmallConfig(root);
  cfg.num_frames = 9;
  auto ds = VideoPairDataset::Create(cfg);
  ASSERT_TRUE(ds.ok()) << ds.status();
  ASSERT_EQ((*ds)->size(), 2u);
  ASSERT_EQ((*ds)->entries()[0].stem, "half");
  std::set<int64_t> starts;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    for (size_t index : {0, 1}) {
      absl::StatusOr<Sample> s = (*ds)->Get(index, seed);
      ASSERT_TRUE(s.ok()) << s.status();
      ASSERT_FALSE(s->synthesized_lq);
      ASSERT_EQ(s->lq.t, 9);
      starts.insert(s->start_frame);
      for (int k = 0; k < 9; ++k) {
        const int i = static_cast<int>(s->start_frame) + k;
        ASSERT_EQ(FrameNumber(s->hq, k), i) << s->stem;
        EXPECT_EQ(FrameNumber(s->lq, k), index == 0 ? kHalf[i] : kTenth[i])
            << s->stem << ": HQ frame " << i << " (start " << s->start_frame << ")";
      }
    }
  }
  EXPECT_GT(starts.size(), 3u);
}

// A short HQ is padded with copies of its last frame; its LQ partner is
// padded the same way, so both clips have num_frames frames.
TEST(DatasetTest, ShortPairedVideoPadsItsLqToo) {
  const std::string root = ScratchDir();
  fs::create_directories(root + "/hq");
  fs::create_directories(root + "/lq");
  WriteNumberedVideo(root + "/hq/short.mp4", 3, 24.0, 64, 48);
  WriteNumberedVideo(root + "/lq/short.mkv", 3, 24.0, 32, 24);
  auto ds = VideoPairDataset::Create(SmallConfig(root));
  ASSERT_TRUE(ds.ok()) << ds.status();
  absl::StatusOr<Sample> s = (*ds)->Get(0, 1);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->padded_frames, 2);
  ASSERT_EQ(s->hq.t, 5);
  ASSERT_EQ(s->lq.t, 5);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(FrameNumber(s->lq, k), std::min(k, 2)) << "frame " << k;
}

TEST(DatasetTest, RoundsClipLengthUpTo4nPlus1AndSaysSo) {
  EXPECT_EQ(RoundUpTo4nPlus1(16), 17);
  EXPECT_EQ(RoundUpTo4nPlus1(17), 17);
  EXPECT_EQ(RoundUpTo4nPlus1(32), 33);
  EXPECT_EQ(RoundUpTo4nPlus1(1), 1);
  EXPECT_EQ(RoundUpTo4nPlus1(2), 5);
  const std::string root = ScratchDir();
  MakeHq(root, 1, 20);
  LogCapture log;
  DataConfig cfg = SmallConfig(root);
  cfg.num_frames = 16;
  auto ds = VideoPairDataset::Create(cfg);
  ASSERT_TRUE(ds.ok());
  EXPECT_EQ((*ds)->clip_frames(), 17);
  EXPECT_EQ(log.Count("num_frames 16 is not of the form 4k+1"), 1);
  absl::StatusOr<Sample> s = (*ds)->Get(0, 1);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->hq.t, 17);
  EXPECT_EQ(s->padded_frames, 0);
}

TEST(DatasetTest, SamplesAreDeterministicAndCoverStartsAndCrops) {
  const std::string root = ScratchDir();
  MakeHq(root, 1, 30);
  auto ds = VideoPairDataset::Create(SmallConfig(root));
  ASSERT_TRUE(ds.ok());
  std::set<int64_t> starts;
  std::set<int> xs;
  for (uint64_t seed = 0; seed < 12; ++seed) {
    absl::StatusOr<Sample> a = (*ds)->Get(0, seed), b = (*ds)->Get(0, seed);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->hq.rgb, b->hq.rgb);
    EXPECT_EQ(a->lq.rgb, b->lq.rgb);
    EXPECT_LE(a->start_frame, 30 - 5);
    starts.insert(a->start_frame);
    xs.insert(a->crop_x);
    // The crop is the right pixels of the decoded frame.
    absl::StatusOr<Clip> full = ReadClip((*ds)->entries()[0].hq_path, a->start_frame, 1);
    ASSERT_TRUE(full.ok());
    EXPECT_TRUE(std::equal(a->hq.frame(0), a->hq.frame(0) + 32 * 3,
                           full->frame(0) + (a->crop_y * 64 + a->crop_x) * 3));
  }
  EXPECT_GT(starts.size(), 4u);
  EXPECT_GT(xs.size(), 4u);
}

TEST(DatasetTest, ShortVideosArePaddedAndSmallVideosUpscaled) {
  const std::string root = ScratchDir();
  fs::create_directories(root + "/hq");
  WriteSmallVideo(root + "/hq/short.mp4", "libx264", 64, 48, 3);
  WriteSmallVideo(root + "/hq/tiny.mp4", "libx264", 24, 16, 12);
  auto ds = VideoPairDataset::Create(SmallConfig(root));
  ASSERT_TRUE(ds.ok()) << ds.status();
  absl::StatusOr<Sample> s = (*ds)->Get(0, 1);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->stem, "short");
  EXPECT_EQ(s->padded_frames, 2);
  EXPECT_EQ(s->hq.t, 5);
  EXPECT_TRUE(std::equal(s->hq.frame(4), s->hq.frame(4) + s->hq.frame_bytes(), s->hq.frame(2)));
  absl::StatusOr<Sample> t = (*ds)->Get(1, 1);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->upscaled);
  EXPECT_EQ(t->hq.w, 32);
  EXPECT_EQ(t->hq.h, 32);
  const DatasetStats st = (*ds)->stats();
  EXPECT_EQ(st.padded_clips, 1);
  EXPECT_EQ(st.upscaled_clips, 1);
  EXPECT_EQ(st.clips_produced, 2);
}

// An mkv's duration is its longest stream's: 21 frames (0.84 s at 25 fps)
// under a 2 s soundtrack would be taken for ~50 frames. Clip starts are drawn
// from the exact count, so no sample reaches past frame 20 or pads.
TEST(DatasetTest, MkvWithALongerSoundtrackSamplesOnlyItsRealFrames) {
  const std::string root = ScratchDir();
  fs::create_directories(root + "/hq");
  WriteSmallVideo(root + "/silent.mkv", "libx264", 64, 48, 21);
  const std::string cmd = "ffmpeg -v error -y -i " + root + "/silent.mkv -f lavfi -i sine=frequency=440:duration=2 " +
                          "-map 0:v -map 1:a -c:v copy -c:a pcm_s16le " + root + "/hq/a.mkv";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto ds = VideoPairDataset::Create(SmallConfig(root));
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->entries()[0].hq_info.frame_count, 21);
  EXPECT_TRUE((*ds)->entries()[0].hq_info.frame_count_exact);
  std::set<int64_t> starts;
  for (uint64_t seed = 0; seed < 16; ++seed) {
    absl::StatusOr<Sample> s = (*ds)->Get(0, seed);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_LE(s->start_frame, 21 - 5);
    EXPECT_EQ(s->padded_frames, 0) << "start " << s->start_frame;
    starts.insert(s->start_frame);
  }
  EXPECT_GT(starts.size(), 4u);
  EXPECT_EQ((*ds)->stats().padded_clips, 0);
}

// BR-07: a training folder of mkv clips (17 frames, each under 3 s of Opus):
// every clip is sized by its packets, so none is dropped and no sample pads;
// the duration's disagreement is logged once per file.
TEST(DatasetTest, MkvClipsUnderLongerSoundtracksAllTrain) {
  const std::string root = ScratchDir(), hq = root + "/hq";
  fs::create_directories(hq);
  testing::Shell("ffmpeg -v error -y -f lavfi -i sine=frequency=330:sample_rate=48000:duration=3 -c:a libopus " + root +
                 "/a3.mka");
  for (int i = 1; i <= 3; ++i) {
    const std::string v = root + "/v" + std::to_string(i) + ".mkv";
    testing::Shell("ffmpeg -v error -y -f lavfi -i testsrc2=size=96x96:rate=25 -vf hue=h=" + std::to_string(i * 90) +
                   " -frames:v 17 -c:v libx264 -pix_fmt yuv420p " + v + " && ffmpeg -v error -y -i " + v + " -i " +
                   root + "/a3.mka -map 0:v -map 1:a -c copy " + hq + "/clip" + std::to_string(i) + ".mkv");
  }
  DataConfig c = SmallConfig(root);
  c.num_frames = 17;
  LogCapture log;
  auto ds = VideoPairDataset::Create(c);
  ASSERT_TRUE(ds.ok()) << ds.status();
  ASSERT_EQ((*ds)->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*ds)->entries()[i].hq_info.frame_count, 17);
    EXPECT_EQ(log.Count((*ds)->entries()[i].hq_path + ": the container duration"), 1) << i;
    absl::StatusOr<Sample> s = (*ds)->Get(i, 5);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->padded_frames, 0);
  }
  DataLoader loader(ds->get(), LoaderOptions::FromConfig(c));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(loader.Next().ok());
  EXPECT_TRUE((*ds)->stats().skipped.empty());
}

// A remuxed AVI whose header says 40 frames over 21: clip starts come from
// the packets, so no sample starts past the real end.
TEST(DatasetTest, AviWithAWrongHeaderCountSamplesItsRealFrames) {
  const std::string root = ScratchDir();
  fs::create_directories(root + "/hq");
  WriteSmallVideo(root + "/hq/legacy.avi", "mpeg4", 64, 48, 21);
  testing::SetAviHeaderFrameCount(root + "/hq/legacy.avi", 40);
  auto ds = VideoPairDataset::Create(SmallConfig(root));
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->entries()[0].hq_info.frame_count, 21);
  for (uint64_t seed = 0; seed < 12; ++seed) {
    absl::StatusOr<Sample> s = (*ds)->Get(0, seed);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->padded_frames, 0) << "start " << s->start_frame;
  }
}

// A clip shorter than num_frames is padded and said so once per file,
// however many samples it gives; with data.short_clips: skip it is left out
// and named.
TEST(DatasetTest, ShortClipsAreLoggedOnceOrSkipped) {
  const std::string root = ScratchDir();
  fs::create_directories(root + "/hq");
  WriteSmallVideo(root + "/hq/short.mp4", "libx264", 64, 48, 3);
  WriteSmallVideo(root + "/hq/long.mp4", "libx264", 64, 48, 12);
  {
    LogCapture log;
    auto ds = VideoPairDataset::Create(SmallConfig(root));
    ASSERT_TRUE(ds.ok()) << ds.status();
    for (uint64_t seed = 0; seed < 4; ++seed) {
      for (size_t i = 0; i < 2; ++i) ASSERT_TRUE((*ds)->Get(i, seed).ok());
    }
    EXPECT_EQ(log.Count(root + "/hq/short.mp4: 3 frame(s) from frame 0, fewer than the 5 of a clip"), 1);
    EXPECT_EQ(log.Count("long.mp4"), 0);
    EXPECT_EQ((*ds)->stats().padded_clips, 4);
  }
  DataConfig skip = SmallConfig(root);
  skip.short_clips = "skip";
  LogCapture log;
  auto ds = VideoPairDataset::Create(skip);
  ASSERT_TRUE(ds.ok()) << ds.status();
  ASSERT_EQ((*ds)->size(), 1u);
  EXPECT_EQ((*ds)->entries()[0].stem, "long");
  EXPECT_EQ(
      log.Count("skipping " + root + "/hq/short.mp4: 3 frame(s), fewer than the 5 of a clip (data.short_clips: skip)"),
      1);
}

// Training reads frames as players show them: a phone clip stored 96x64
// with a 90 degree display rotation trains as 64x96.
TEST(DatasetTest, RotatedClipsTrainUpright) {
  const std::string root = ScratchDir();
  fs::create_directories(root + "/hq");
  WriteSmallVideo(root + "/stored.mp4", "libx264", 96, 64, 5);
  testing::Shell("ffmpeg -v error -y -i " + root + "/stored.mp4 -c copy -metadata:s:v:0 rotate=90 " + root +
                 "/hq/portrait.mp4");
  DataConfig c = SmallConfig(root);
  c.crop_size = {0, 0};  // whole frames
  auto ds = VideoPairDataset::Create(c);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->entries()[0].hq_info.width, 64);
  EXPECT_EQ((*ds)->entries()[0].hq_info.height, 96);
  absl::StatusOr<Sample> s = (*ds)->Get(0, 1);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->hq.w, 64);
  EXPECT_EQ(s->hq.h, 96);
  EXPECT_EQ(s->lq.w, 64);
}

// Frames over data.max_frame_pixels are skipped and named at Create(),
// before a frame is decoded; the rest trains.
TEST(DatasetTest, FramesOverThePixelLimitAreSkippedAndNamed) {
  const std::string root = ScratchDir();
  fs::create_directories(root + "/hq");
  WriteSmallVideo(root + "/hq/big.mp4", "libx264", 96, 64, 5);
  WriteSmallVideo(root + "/hq/small.mp4", "libx264", 64, 48, 5);
  DataConfig c = SmallConfig(root);
  c.max_frame_pixels = 64 * 48;
  LogCapture log;
  auto ds = VideoPairDataset::Create(c);
  ASSERT_TRUE(ds.ok()) << ds.status();
  ASSERT_EQ((*ds)->size(), 1u);
  EXPECT_EQ((*ds)->entries()[0].stem, "small");
  EXPECT_EQ(log.Count("skipping " + root + "/hq/big.mp4: frames of 96x64 = 6144 pixels exceed the limit of 3072 " +
                      "pixels per frame (data.max_frame_pixels)"),
            1);
}

// A symlink loop and a FIFO in hq/ are named and skipped at Create(); a
// clip replaced by a FIFO during training fails its sample (the loader
// replaces it) instead of hanging the run.
TEST(DatasetTest, SymlinkLoopsAndFifosAreSkippedNotHungOn) {
  const std::string root = ScratchDir(), hq = root + "/hq";
  MakeHq(root, 2);
  fs::create_symlink(hq + "/loop.mp4", hq + "/loop.mp4");
  testing::Shell("mkfifo " + hq + "/pipe.mkv");
  LogCapture log;
  auto ds = VideoPairDataset::Create(SmallConfig(root));
  ASSERT_TRUE(ds.ok()) << ds.status();
  ASSERT_EQ((*ds)->size(), 2u);
  EXPECT_EQ(log.Count("skipping " + hq + "/loop.mp4: "), 1);
  EXPECT_EQ(log.Count("skipping " + hq + "/pipe.mkv: video " + hq + "/pipe.mkv is not a regular file"), 1);

  const std::string victim = (*ds)->entries()[0].hq_path;
  fs::remove(victim);
  testing::Shell("mkfifo " + victim);
  absl::StatusOr<Sample> s = (*ds)->Get(0, 1);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("not a regular file"), std::string::npos) << s.status();
  DataLoader loader(ds->get(), LoaderOptions::FromConfig(SmallConfig(root)));
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<Sample> next = loader.Next();
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_NE(next->stem, (*ds)->entries()[0].stem);
  }
}

TEST(DatasetTest, BadFilesAreSkippedWithOneWarningEach) {
  const std::string root = ScratchDir();
  MakeHq(root, 1);
  const std::string good = root + "/hq/v0.mp4";
  const std::string bytes = testing::ReadBytes(good);
  testing::WriteBytes(root + "/hq/empty.mp4", "");
  testing::WriteBytes(root + "/hq/garbage.mkv", std::string(5000, '\x42'));
  testing::WriteBytes(root + "/hq/truncated.mp4", bytes.substr(0, bytes.size() / 2));  // moov at the end: lost
  // A container whose only stream is audio: nothing to decode as video.
  const std::string audio = root + "/hq/audio_only.mkv";
  ASSERT_EQ(std::system(("ffmpeg -v error -y -f lavfi -i sine=duration=0.2 -c:a pcm_s16le " + audio).c_str()), 0);
  LogCapture log;
  auto ds = VideoPairDataset::Create(SmallConfig(root));
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->size(), 1u);
  const DatasetStats st = (*ds)->stats();
  EXPECT_EQ(st.skipped.size(), 4u);
  for (const char* name : {"empty.mp4", "garbage.mkv", "truncated.mp4", "audio_only.mkv"}) {
    EXPECT_EQ(log.Count(std::string("skipping ") + root + "/hq/" + name + ": "), 1) << name;
  }
  EXPECT_EQ(log.Count("empty.mp4: empty file"), 1);
  EXPECT_EQ(log.Count("audio_only.mkv: no video stream"), 1);
}

TEST(DatasetTest, NoUsablePairIsAnErrorListingWhatWasFound) {
  const std::string root = ScratchDir();
  fs::create_directories(root + "/hq");
  testing::WriteBytes(root + "/hq/a.mp4", "");
  testing::WriteBytes(root + "/hq/b.gif", "GIF89a");
  LogCapture log;
  auto ds = VideoPairDataset::Create(SmallConfig(root));
  ASSERT_FALSE(ds.ok());
  const std::string msg(ds.status().message());
  EXPECT_NE(msg.find("no usable video pair"), std::string::npos) << msg;
  EXPECT_NE(msg.find("hq/ has 2 file(s)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("a.mp4: empty file"), std::string::npos) << msg;
  EXPECT_NE(msg.find("b.gif: unsupported extension"), std::string::npos) << msg;
  auto missing = VideoPairDataset::Create(SmallConfig(root + "/nowhere"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

// ---- loader ----

std::vector<std::string> Stream(DataLoader& loader, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<Sample> s = loader.Next();
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) break;
    out.push_back(s->stem + "@" + std::to_string(s->start_frame) + "," + std::to_string(s->crop_x) + "," +
                  std::to_string(s->crop_y) + "#" + std::to_string(std::hash<std::string>()(
                                                        std::string(s->lq.rgb.begin(), s->lq.rgb.end()))));
  }
  return out;
}

TEST(LoaderTest, OrderIsDeterministicForAnyWorkerCount) {
  const std::string root = ScratchDir();
  MakeHq(root, 4);
  auto ds = VideoPairDataset::Create(SmallConfig(root));
  ASSERT_TRUE(ds.ok());
  LoaderOptions o;
  o.seed = 3;
  o.num_workers = 0;
  DataLoader sync(ds->get(), o);
  const std::vector<std::string> ref = Stream(sync, 10);
  o.num_workers = 2;
  o.prefetch = 2;
  DataLoader two(ds->get(), o);
  EXPECT_EQ(Stream(two, 10), ref);
  o.num_workers = 3;
  o.prefetch = 5;
  DataLoader three(ds->get(), o);
  EXPECT_EQ(Stream(three, 10), ref);
  // Each epoch is a permutation; epochs differ.
  std::set<std::string> e0, e1;
  for (int i = 0; i < 4; ++i) e0.insert(ref[i].substr(0, 2));
  for (int i = 4; i < 8; ++i) e1.insert(ref[i].substr(0, 2));
  EXPECT_EQ(e0.size(), 4u);
  EXPECT_EQ(e1.size(), 4u);
  const LoaderStats st = three.stats();
  EXPECT_EQ(st.clips_produced, 10);
  o.seed = 4;
  DataLoader other(ds->get(), o);
  EXPECT_NE(Stream(other, 10), ref);
}

TEST(LoaderTest, RanksShardEachEpoch) {
  const std::string root = ScratchDir();
  MakeHq(root, 5);
  auto ds = VideoPairDataset::Create(SmallConfig(root));
  ASSERT_TRUE(ds.ok());
  std::multiset<std::string> seen;
  for (int rank = 0; rank < 2; ++rank) {
    LoaderOptions o;
    o.rank = rank;
    o.world_size = 2;
    o.num_workers = 1;
    DataLoader loader(ds->get(), o);
    EXPECT_EQ(loader.samples_per_epoch(), 3);
    for (const std::string& s : Stream(loader, 3)) seen.insert(s.substr(0, 2));
  }
  // 5 files over 2 ranks x 3: all five seen, one twice (wrap padding).
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 5u);
  EXPECT_EQ(seen.size(), 6u);
}

TEST(LoaderTest, PositionSavesAndRestores) {
  const std::string root = ScratchDir();
  MakeHq(root, 3);
  auto ds = VideoPairDataset::Create(SmallConfig(root));
  ASSERT_TRUE(ds.ok());
  LoaderOptions o;
  o.num_workers = 2;
  DataLoader loader(ds->get(), o);
  Stream(loader, 4);
  const LoaderPosition pos = loader.position();
  EXPECT_EQ(pos.epoch, 1);
  EXPECT_EQ(pos.index, 1);
  const std::vector<std::string> next = Stream(loader, 5);
  loader.Restore(pos);
  EXPECT_EQ(Stream(loader, 5), next);
  DataLoader fresh(ds->get(), o);  // a new process resuming from a checkpoint
  fresh.Restore(pos);
  EXPECT_EQ(Stream(fresh, 5), next);
}

TEST(LoaderTest, FileFailingMidwayIsSkippedAndReplaced) {
  const std::string root = ScratchDir();
  MakeHq(root, 2, 24);
  // An AVI cut at 60%: its header still promises 24 frames; the first frames
  // decode (so it passes the probe) but a clip reaching the cut fails.
  const std::string avi = root + "/hq/cut.avi";
  WriteSmallVideo(avi, "mpeg4", 64, 48, 24, 9);
  const std::string bytes = testing::ReadBytes(avi);
  testing::WriteBytes(avi, bytes.substr(0, bytes.size() * 6 / 10));
  LogCapture log;
  DataConfig cfg = SmallConfig(root);
  cfg.num_frames = 25;  // every clip spans the whole file
  auto ds = VideoPairDataset::Create(cfg);
  ASSERT_TRUE(ds.ok()) << ds.status();
  ASSERT_EQ((*ds)->size(), 3u);
  LoaderOptions o;
  o.num_workers = 2;
  DataLoader loader(ds->get(), o);
  const std::vector<std::string> got = Stream(loader, 9);
  ASSERT_EQ(got.size(), 9u);
  for (const std::string& s : got) EXPECT_NE(s.substr(0, 3), "cut");
  EXPECT_EQ(log.Count("cut.avi from now on"), 1);
  const LoaderStats st = loader.stats();
  EXPECT_GE(st.replaced, 1);
  ASSERT_EQ(st.dataset.skipped.size(), 1u);
  EXPECT_NE(st.dataset.skipped[0].reason.find("truncated"), std::string::npos) << st.dataset.skipped[0].reason;
}

TEST(LoaderTest, AllFilesFailingIsAnError) {
  const std::string root = ScratchDir();
  fs::create_directories(root + "/hq");
  const std::string avi = root + "/hq/cut.avi";
  WriteSmallVideo(avi, "mpeg4", 64, 48, 24, 9);
  const std::string bytes = testing::ReadBytes(avi);
  testing::WriteBytes(avi, bytes.substr(0, bytes.size() / 2));
  LogCapture log;
  DataConfig cfg = SmallConfig(root);
  cfg.num_frames = 25;
  auto ds = VideoPairDataset::Create(cfg);
  ASSERT_TRUE(ds.ok());
  LoaderOptions o;
  o.num_workers = 1;
  DataLoader loader(ds->get(), o);
  absl::StatusOr<Sample> s = loader.Next();
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace seedvr::data

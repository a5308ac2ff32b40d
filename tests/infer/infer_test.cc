// The restoration pipeline end to end on a video made here, with a tiny
// checkpoint trained here, plus its tensor operations and bad inputs.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "seedvr/config/config.h"
#include "seedvr/data/clip_tensor.h"
#include "seedvr/data/log.h"
#include "seedvr/data/remux.h"
#include "seedvr/data/synthetic.h"
#include "seedvr/data/video_reader.h"
#include "seedvr/data/video_writer.h"
#include "seedvr/infer/restorer.h"
#include "seedvr/infer/video_ops.h"
#include "seedvr/models/dit/dit_memory.h"
#include "seedvr/models/dit/nadit.h"
#include "seedvr/testing/fixtures.h"
#include "seedvr/testing/processes.h"
#include "seedvr/text/text_embeddings.h"
#include "seedvr/train/checkpoint.h"
#include "seedvr/train/dispatch.h"

namespace seedvr::infer {
namespace {

TEST(VideoOps, PadsTo4nPlus1LikeCutVideos) {
  auto frames = [](int64_t t, int64_t sp) { return PadTo4nPlus1(at::zeros({t, 3, 4, 4}), sp).size(0); };
  EXPECT_EQ(frames(1, 1), 1);
  EXPECT_EQ(frames(3, 1), 5);
  EXPECT_EQ(frames(5, 1), 5);
  EXPECT_EQ(frames(6, 1), 9);
  EXPECT_EQ(frames(9, 2), 9);
  EXPECT_EQ(frames(10, 2), 17);
  at::Tensor v = at::arange(6, at::kFloat).view({6, 1, 1, 1}).expand({6, 3, 2, 2});
  EXPECT_EQ(PadTo4nPlus1(v, 1)[8][0][0][0].item<float>(), 5.0f);  // the last frame repeated
}

TEST(VideoOps, AreaResizeKeepsAspectAndCropIsDivisible) {
  at::Tensor v = at::rand({2, 3, 90, 160});
  at::Tensor r = AreaResize(v, 720, 1280);
  EXPECT_EQ(r.size(2), 720);
  EXPECT_EQ(r.size(3), 1280);
  at::Tensor c = DivisibleCrop(at::rand({1, 3, 100, 70}));
  EXPECT_EQ(c.size(2), 96);
  EXPECT_EQ(c.size(3), 64);
}

// torchvision's center_crop places the window at int(round((H - th) / 2.0))
// with Python's round (half to even); the floor is a row/column off whenever
// the margin is 3 mod 4.
TEST(VideoOps, DivisibleCropCentresLikeTorchvision) {
  // 640x480 at the default 1280x720 area: s = sqrt(3), 480 s = 831.38 -> 831,
  // 640 s = 1108.51 -> 1109; DivisibleCrop keeps 816x1104.
  EXPECT_EQ(AreaResize(at::zeros({1, 3, 480, 640}), 720, 1280).sizes(), at::IntArrayRef({1, 3, 831, 1109}));
  // Rows/columns numbered so the crop's first element is its offset.
  auto offsets = [](int64_t h, int64_t w) {
    at::Tensor rows = at::arange(h, at::kFloat).view({1, 1, h, 1}).expand({1, 3, h, w});
    at::Tensor cols = at::arange(w, at::kFloat).view({1, 1, 1, w}).expand({1, 3, h, w});
    at::Tensor r = DivisibleCrop(rows), c = DivisibleCrop(cols);
    return std::array<int64_t, 4>{r.size(2), r.size(3), static_cast<int64_t>(r[0][0][0][0].item<float>()),
                                  static_cast<int64_t>(c[0][0][0][0].item<float>())};
  };
  // Top: round((831 - 816) / 2) = round(7.5) = 8 (the floor gave 7); left:
  // round((1109 - 1104) / 2) = round(2.5) = 2, half to even rounds down.
  EXPECT_EQ(offsets(831, 1109), (std::array<int64_t, 4>{816, 1104, 8, 2}));
  // round(0.5) = 0, round(1.5) = 2, round(3.5) = 4, round(4.5) = 4; even
  // margins are exact: (100 - 96) / 2 = 2, (70 - 64) / 2 = 3.
  EXPECT_EQ(offsets(17, 19), (std::array<int64_t, 4>{16, 16, 0, 2}));
  EXPECT_EQ(offsets(23, 25), (std::array<int64_t, 4>{16, 16, 4, 4}));
  EXPECT_EQ(offsets(100, 70), (std::array<int64_t, 4>{96, 64, 2, 3}));
  EXPECT_EQ(CenterCropOffset(831, 816), 8);
  EXPECT_EQ(CenterCropOffset(1109, 1104), 2);
}

TEST(VideoOps, ColorFixTakesLowFrequenciesFromTheInput) {
  at::manual_seed(0);
  at::Tensor lq = at::rand({1, 3, 64, 64}) * 2 - 1;
  at::Tensor shifted = lq + 0.3;  // a colour cast
  at::Tensor fixed = WaveletColorFix(shifted, lq);
  EXPECT_LT((fixed - lq).abs().mean().item<float>(), 0.01);
  EXPECT_NEAR((shifted - lq).abs().mean().item<float>(), 0.3, 1e-5);
}

TEST(OutputPaths, KeepTheNameAndPickAContainerTheCodecFits) {
  auto path = [](const std::string& input, const std::string& codec) {
    return OutputPath(input, "out", {.codec = codec});
  };
  EXPECT_EQ(path("in/clip.mp4", ""), "out/clip.mp4");
  EXPECT_EQ(path("in/clip.mp4", "libx265"), "out/clip.mp4");
  EXPECT_EQ(path("in/clip.mp4", "prores"), "out/clip.mov");
  EXPECT_EQ(path("in/clip.avi", "ffv1"), "out/clip.mkv");
  EXPECT_EQ(path("in/clip.webm", "libx264"), "out/clip.mkv");
  EXPECT_EQ(path("in/clip.webm", "libvpx-vp9"), "out/clip.webm");
  EXPECT_EQ(path("in/clip.mov", "png"), "out/clip");
  EXPECT_EQ(path("in/still.jpg", "prores"), "out/still.jpg");
  EXPECT_EQ(PartialPath("out/clip.mp4"), "out/.partial.clip.mp4");
}

// A 96 x 64 synthetic clip at 12 fps: small enough for the tiny model on
// two cores.
data::SyntheticVideoOptions SmallClip(int frames) {
  data::SyntheticVideoOptions o;
  o.width = 96;
  o.height = 64;
  o.frames = frames;
  o.fps = 12;
  return o;
}

class RestorerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::TempDir() + "/infer");
    std::filesystem::create_directories(*dir_ + "/data/hq");
    ASSERT_TRUE(data::WriteVideo(*dir_ + "/data/hq/a.mp4", data::MakeSyntheticClip(SmallClip(7)), {.fps = 12}).ok());
    ASSERT_TRUE(
        text::WriteTextEmbeddings(*dir_ + "/text.safetensors", text::MakeDeterministicEmbeddings(64), "test").ok());
    auto c = config::LoadTrainConfig(
        "configs/tiny.yaml",
        {"data.data_root=" + *dir_ + "/data", "data.crop_size=[32, 32]", "discriminator.num_layers=1",
         "data.num_workers=0", "training.text_embeddings=" + *dir_ + "/text.safetensors", "training.eval_clips=0",
         "training.max_steps=1", "checkpoint.save_dir=" + *dir_ + "/ckpt", "logging.progress_bar=false"});
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE(train::Train(*c).ok());
  }

  static RestorerOptions Options() {
    RestorerOptions o;
    o.checkpoint = train::FinalCheckpointPath(*dir_ + "/ckpt");
    o.res_h = 64;
    o.res_w = 96;
    return o;
  }

  static std::string* dir_;
};
std::string* RestorerTest::dir_ = nullptr;

TEST_F(RestorerTest, RestoresAVideoKeepingFramesSizeAndRate) {
  auto r = Restorer::Create(Options());
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string out = *dir_ + "/out.mp4";
  std::vector<Progress> steps;
  ASSERT_TRUE((*r)->RestoreFile(*dir_ + "/data/hq/a.mp4", out, [&](const Progress& p) { steps.push_back(p); }).ok());
  auto info = data::ProbeVideo(out);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->frame_count, 7);  // padded to 9 for the VAE, trimmed back
  EXPECT_EQ(info->width, 96);
  EXPECT_EQ(info->height, 64);
  EXPECT_NEAR(info->fps, 12.0, 1e-6);
  ASSERT_FALSE(steps.empty());
  EXPECT_EQ(steps.back().frames_done, 7);
  EXPECT_EQ(steps.back().frames_total, 7);
  EXPECT_FALSE(std::filesystem::exists(PartialPath(out)));
}

// With the colour fix the output's low frequencies follow the input even
// though the tiny model's own output does not.
TEST_F(RestorerTest, ColorFixMakesLowFrequenciesFollowTheInput) {
  auto low_error = [&](bool fix) {
    RestorerOptions o = Options();
    o.color_fix = fix;
    auto r = Restorer::Create(o);
    EXPECT_TRUE(r.ok());
    const std::string out = *dir_ + (fix ? "/fix.mp4" : "/nofix.mp4");
    EXPECT_TRUE((*r)->RestoreFile(*dir_ + "/data/hq/a.mp4", out, [](const Progress&) {}).ok());
    auto a = data::ReadClip(*dir_ + "/data/hq/a.mp4", 0, 7), b = data::ReadClip(out, 0, 7);
    at::Tensor in = data::ClipToTensor(*a, data::ClipLayout::kTCHW),
               res = data::ClipToTensor(*b, data::ClipLayout::kTCHW);
    return (WaveletDecomposition(res).second - WaveletDecomposition(in).second).abs().mean().item<double>();
  };
  const double with = low_error(true), without = low_error(false);
  EXPECT_LT(with, 0.06);  // what remains is the output encode's error
  EXPECT_LT(with * 3, without) << "with " << with << ", without " << without;
}

TEST_F(RestorerTest, KeepsTheAudioTrackAndRestoresImages) {
  const std::string src = *dir_ + "/data/hq/a.mp4", with_audio = *dir_ + "/sound.mp4", image = *dir_ + "/still.png";
  const std::string cmd = "ffmpeg -v error -y -f lavfi -i sine=frequency=440:duration=1 -i " + src +
                          " -map 1:v -map 0:a -c:v copy -c:a aac -shortest " + with_audio +
                          " && ffmpeg -v error -y -i " + src + " -frames:v 1 " + image;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto r = Restorer::Create(Options());
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE((*r)->RestoreFile(with_audio, *dir_ + "/sound_out.mp4", [](const Progress&) {}).ok());
  auto audio = data::HasStreamsToCopy(*dir_ + "/sound_out.mp4");
  ASSERT_TRUE(audio.ok());
  EXPECT_TRUE(*audio);
  EXPECT_EQ(data::ProbeVideo(*dir_ + "/sound_out.mp4")->frame_count, 7);
  ASSERT_TRUE((*r)->RestoreFile(image, *dir_ + "/still_out.png", [](const Progress&) {}).ok());
  data::ReaderOptions exact;
  exact.exact_frame_count = true;
  auto info = data::ProbeVideo(*dir_ + "/still_out.png", exact);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->frame_count, 1);
  EXPECT_EQ(info->width, 96);
  EXPECT_EQ(info->height, 64);
}

// What the input's stream says survives restoration: every timestamp of a
// variable-frame-rate mkv, the rate and timestamps of a constant-rate mp4,
// its rotation and colour tags, and subtitle streams beside the audio.
TEST_F(RestorerTest, KeepsTimestampsRateRotationTagsAndSubtitles) {
  data::SyntheticVideoOptions v = SmallClip(11);
  const data::Clip clip = data::MakeSyntheticClip(v);
  auto read_pts = [](const std::string& path) {
    std::vector<int64_t> pts;
    auto reader = data::VideoReader::Open(path);
    EXPECT_TRUE(reader.ok()) << reader.status();
    data::Frame f;
    int64_t p = 0;
    while (*(*reader)->Read(&f, nullptr, nullptr, &p)) pts.push_back(p);
    return pts;
  };
  // Variable rate: milliseconds with irregular gaps, through chunks of 5.
  const std::string vfr = *dir_ + "/vfr.mkv";
  {
    data::EncoderOptions enc;
    enc.fps = 12;
    enc.time_base_num = 1;
    enc.time_base_den = 1000;
    auto w = data::VideoWriter::Open(vfr, 96, 64, enc);
    ASSERT_TRUE(w.ok()) << w.status();
    const std::vector<int64_t> times = {0, 40, 120, 130, 200, 330, 340, 400, 520, 530, 600};
    for (int i = 0; i < clip.t; ++i) ASSERT_TRUE((*w)->Write(clip.frame(i), times[i]).ok());
    ASSERT_TRUE((*w)->Close().ok());
  }
  RestorerOptions o = Options();
  o.chunk_frames = 5;
  o.temporal_overlap = 1;
  auto r = Restorer::Create(o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE((*r)->RestoreFile(vfr, *dir_ + "/vfr_out.mkv", [](const Progress&) {}).ok());
  EXPECT_EQ(read_pts(*dir_ + "/vfr_out.mkv"), read_pts(vfr));

  // Constant rate, rotated, BT.601-tagged, with audio and subtitles.
  const std::string plain = *dir_ + "/plain.mp4", tagged = *dir_ + "/tagged.mp4", subs = *dir_ + "/subs.srt";
  data::EncoderOptions enc;
  enc.fps = 24000.0 / 1001;
  enc.color_matrix = "bt601";
  enc.rotation_degrees = 90;
  ASSERT_TRUE(data::WriteVideo(plain, clip, enc).ok());
  std::ofstream(subs) << "1\n00:00:00,000 --> 00:00:00,400\nhello\n";
  const std::string cmd = "ffmpeg -v error -y -i " + plain + " -f lavfi -i sine=duration=1 -i " + subs +
                          " -map 0:v -map 1:a -map 2:s -c:v copy -c:a aac -c:s mov_text " + tagged;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  ASSERT_TRUE((*r)->RestoreFile(tagged, *dir_ + "/tagged_out.mp4", [](const Progress&) {}).ok());
  auto in = data::ProbeVideo(tagged), out = data::ProbeVideo(*dir_ + "/tagged_out.mp4");
  ASSERT_TRUE(in.ok() && out.ok()) << in.status() << out.status();
  EXPECT_EQ(out->frame_count, 11);
  EXPECT_NEAR(out->fps, in->fps, 1e-3);
  EXPECT_NEAR(in->fps, 24000.0 / 1001, 1e-3);
  EXPECT_EQ(out->rotation_degrees, 90);
  EXPECT_EQ(out->color_matrix, in->color_matrix);
  EXPECT_EQ(out->color_primaries, in->color_primaries);
  EXPECT_EQ(out->color_trc, in->color_trc);
  const std::vector<int64_t> in_pts = read_pts(tagged), out_pts = read_pts(*dir_ + "/tagged_out.mp4");
  ASSERT_EQ(out_pts.size(), in_pts.size());
  for (size_t i = 0; i < in_pts.size(); ++i) {  // the same times, within half a tick of either time base
    EXPECT_NEAR(out_pts[i] * out->time_base_num / static_cast<double>(out->time_base_den),
                in_pts[i] * in->time_base_num / static_cast<double>(in->time_base_den), 1e-3)
        << "frame " << i;
  }
  const std::string probe = "ffprobe -v error -show_entries stream=codec_type -of default=nw=1 " + *dir_ +
                            "/tagged_out.mp4 > " + *dir_ + "/streams.txt";
  ASSERT_EQ(std::system(probe.c_str()), 0);
  const std::string streams = testing::ReadText(*dir_ + "/streams.txt");
  for (const char* type : {"codec_type=video", "codec_type=audio", "codec_type=subtitle"}) {
    EXPECT_NE(streams.find(type), std::string::npos) << streams;
  }
}

// mkv stores no frame count and its duration is the longest stream's: 21
// frames at 12 fps (1.75 s) under a 4 s soundtrack would be sized as 48. The
// restorer counts packets and restores exactly the 21 decoded frames.
TEST_F(RestorerTest, MkvWithALongerSoundtrackRestoresItsRealFrames) {
  data::SyntheticVideoOptions o = SmallClip(21);
  const std::string silent = *dir_ + "/long_silent.mkv", src = *dir_ + "/long.mkv", out = *dir_ + "/long_out.mp4";
  ASSERT_TRUE(data::WriteVideo(silent, data::MakeSyntheticClip(o), {.fps = 12}).ok());
  const std::string cmd = "ffmpeg -v error -y -i " + silent + " -f lavfi -i sine=frequency=440:duration=4 " +
                          "-map 0:v -map 1:a -c:v copy -c:a aac " + src;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto hint = data::ProbeVideo(src);
  ASSERT_TRUE(hint.ok()) << hint.status();
  EXPECT_GT(hint->frame_count, 40) << "the soundtrack no longer inflates the estimate: the test lost its case";

  auto r = Restorer::Create(Options());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE((*r)->RestoreFile(src, out, [](const Progress&) {}).ok());
  auto info = data::ProbeVideo(out, {.exact_frame_count = true});
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->frame_count, 21);
  auto decoded = data::ReadClip(out, 0, 48);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->t, 21);
}

// Restores `src` into a PNG sequence (exact RGB) and reads it back as float
// [T, 3, H, W] in [-1, 1].
at::Tensor RestoreToPngs(const RestorerOptions& options, const std::string& src, const std::string& out) {
  RestorerOptions o = options;
  o.output.codec = "png";
  auto r = Restorer::Create(o);
  EXPECT_TRUE(r.ok()) << r.status();
  absl::Status s = (*r)->RestoreFile(src, out, [](const Progress&) {});
  EXPECT_TRUE(s.ok()) << s;
  auto clip =
      data::ReadClip(absl::EndsWith(out, ".png") ? out : out + "/%06d.png", 0, 1000, {.exact_frame_count = true});
  EXPECT_TRUE(clip.ok()) << clip.status();
  return data::ClipToTensor(*clip, data::ClipLayout::kTCHW);
}

TEST(VideoOps, BlendOverlapRampsFromTheEarlierChunkToTheLater) {
  const at::Tensor previous = at::zeros({3, 1, 2, 2});
  at::Tensor next = at::ones({5, 1, 2, 2});
  BlendOverlap(previous, next);
  const at::Tensor expected = at::tensor({0.25f, 0.5f, 0.75f, 1.0f, 1.0f});
  EXPECT_TRUE(at::allclose(next.mean({1, 2, 3}), expected)) << next.mean({1, 2, 3});
}

// Chunks restore the same frames as one pass over the clip: exactly when
// one chunk holds the clip, and to rounding for the frames only the first
// chunk restores (the causal VAE and the DiT see the same context). Later
// chunks start their causal context afresh, and the shared frames ramp from
// one chunk to the next (BlendOverlap). How far their frames move from one
// pass is the model's own dependence on earlier frames: with the tiny
// model's random VAE that context weighs as much as the frame itself (mean
// 0.29 of a range of 2 here); a trained VAE encodes a frame mostly from
// itself.
TEST_F(RestorerTest, ChunkedRestorationMatchesTheWholeClip) {
  data::SyntheticVideoOptions v = SmallClip(17);
  const std::string src = *dir_ + "/seventeen.mp4";
  ASSERT_TRUE(data::WriteVideo(src, data::MakeSyntheticClip(v), {.fps = 12, .crf = 10}).ok());
  RestorerOptions o = Options();
  o.chunk_frames = 17;
  const at::Tensor whole = RestoreToPngs(o, src, *dir_ + "/whole");
  ASSERT_EQ(whole.size(0), 17);
  o.chunk_frames = 33;
  EXPECT_TRUE(at::equal(RestoreToPngs(o, src, *dir_ + "/one_chunk"), whole));

  // Frames 0-8, 4-12 and 8-16: starts 4 apart, so every latent after a
  // chunk's first draws the noise of one pass.
  o.chunk_frames = 9;
  o.temporal_overlap = 5;
  const at::Tensor chunked = RestoreToPngs(o, src, *dir_ + "/chunked");
  ASSERT_EQ(chunked.sizes(), whole.sizes());
  const at::Tensor first = (chunked.narrow(0, 0, 4) - whole.narrow(0, 0, 4)).abs();
  EXPECT_LT(first.mean().item<double>(), 0.002);  // measured 0.0002
  EXPECT_LT(first.max().item<double>(), 0.03);    // measured 0.016: a few uint8 steps
  std::printf("|chunked - one pass|: frames 0-3 max %.4f, all frames mean %.3f\n", first.max().item<double>(),
              (chunked - whole).abs().mean().item<double>());
}

// The folder run as users run it: killed while restoring, it leaves no
// output that looks finished but is not, and --skip_existing completes it
// without redoing what was done.
TEST_F(RestorerTest, InterruptedFolderRunResumesWithSkipExisting) {
  const std::string in = *dir_ + "/folder_in", out = *dir_ + "/folder_out";
  std::filesystem::create_directories(in);
  data::SyntheticVideoOptions v = SmallClip(17);
  for (const char* name : {"a.mp4", "b.mp4", "c.mp4"}) {
    ASSERT_TRUE(data::WriteVideo(in + "/" + name, data::MakeSyntheticClip(v), {.fps = 12}).ok());
  }
  std::ofstream(in + "/broken.mp4") << "not a video";
  const std::vector<std::string> argv = {
      "tools/infer", "--video_path=" + in, "--output_dir=" + out, "--checkpoint=" + Options().checkpoint,
      "--res_h=64",  "--res_w=96",         "--chunk_frames=5",    "--temporal_overlap=2"};
  const pid_t first = testing::Spawn(argv, {}, *dir_ + "/folder_first.log");
  ASSERT_GT(first, 0);
  // Kill it as soon as the first output appears: the next file is under way.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!std::filesystem::exists(out + "/a.mp4") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(first, SIGKILL);
  testing::WaitExit(first, std::chrono::seconds(10));
  ASSERT_TRUE(std::filesystem::exists(out + "/a.mp4")) << testing::ReadText(*dir_ + "/folder_first.log");
  const auto a_time = std::filesystem::last_write_time(out + "/a.mp4");
  EXPECT_FALSE(std::filesystem::exists(out + "/c.mp4")) << "the run ended before the kill: the test lost its case";
  for (const auto& e : std::filesystem::directory_iterator(out)) {
    const std::string name = e.path().filename().string();
    if (absl::StartsWith(name, ".partial.")) continue;  // what an interrupted file looks like
    auto info = data::ProbeVideo(e.path().string(), {.exact_frame_count = true});
    ASSERT_TRUE(info.ok()) << name << ": " << info.status();
    EXPECT_EQ(info->frame_count, 17) << name;
  }

  // Without a choice about the existing output the run refuses before work.
  const pid_t refused = testing::Spawn(argv, {}, *dir_ + "/folder_refused.log");
  EXPECT_EQ(testing::WaitExit(refused, std::chrono::seconds(60)), 2);
  EXPECT_NE(testing::ReadText(*dir_ + "/folder_refused.log").find("--skip_existing"), std::string::npos);

  std::vector<std::string> resume = argv;
  resume.push_back("--skip_existing");
  const pid_t second = testing::Spawn(resume, {}, *dir_ + "/folder_second.log");
  const std::string log = *dir_ + "/folder_second.log";
  EXPECT_EQ(testing::WaitExit(second, std::chrono::seconds(240)), 1) << testing::ReadText(log);  // broken.mp4
  const std::string text = testing::ReadText(log);
  EXPECT_NE(text.find("failed: broken.mp4"), std::string::npos) << text;
  EXPECT_NE(text.find("1 output(s) exist and are kept"), std::string::npos) << text;
  EXPECT_EQ(std::filesystem::last_write_time(out + "/a.mp4"), a_time);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(out)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a.mp4", "b.mp4", "c.mp4"}));
  for (const char* name : {"b.mp4", "c.mp4"}) {
    EXPECT_EQ(data::ProbeVideo(out + "/" + name, {.exact_frame_count = true})->frame_count, 17) << name;
  }
}

// Under torchrun the processes share a folder (one file each), or with
// --sp_size 2 restore each video together with the DiT's tokens split
// (Ulysses, Gloo on the CPU): the frames equal one process's.
TEST_F(RestorerTest, TorchrunSharesTheFolderOrSplitsEachVideo) {
  const std::string in = *dir_ + "/ranks_in";
  std::filesystem::create_directories(in);
  data::SyntheticVideoOptions v = SmallClip(9);
  for (const char* name : {"a.mp4", "b.mp4"}) {
    v.seed += 1;
    ASSERT_TRUE(data::WriteVideo(in + "/" + name, data::MakeSyntheticClip(v), {.fps = 12}).ok());
  }
  auto run = [&](const std::string& out, int processes, int sp_size) {
    std::vector<std::string> argv = {"tools/infer"};
    if (processes > 1) {
      argv = {testing::Python(),
              "-m",
              "torch.distributed.run",
              "--standalone",
              "--nproc-per-node=" + std::to_string(processes),
              "--no-python",
              "tools/infer"};
    }
    for (const std::string& flag :
         {"--video_path=" + in, "--output_dir=" + *dir_ + "/" + out, "--checkpoint=" + Options().checkpoint,
          std::string("--res_h=64"), std::string("--res_w=96"), std::string("--codec=png"),
          "--sp_size=" + std::to_string(sp_size)}) {
      argv.push_back(flag);
    }
    const std::string log = *dir_ + "/" + out + ".log";
    const pid_t pid = testing::Spawn(argv, {}, log);
    EXPECT_EQ(testing::WaitExit(pid, std::chrono::seconds(240)), 0) << testing::ReadText(log);
  };
  run("one_process", 1, 1);
  run("shared", 2, 1);
  run("split", 2, 2);
  for (const char* name : {"a", "b"}) {
    auto frames = [&](const std::string& out) {
      auto clip = data::ReadClip(*dir_ + "/" + out + "/" + name + "/%06d.png", 0, 100);
      EXPECT_TRUE(clip.ok()) << out << ": " << clip.status();
      return clip.ok() ? data::ClipToTensor(*clip, data::ClipLayout::kTCHW) : at::zeros({1});
    };
    const at::Tensor one = frames("one_process");
    ASSERT_EQ(one.size(0), 9);
    EXPECT_TRUE(at::equal(frames("shared"), one)) << name;
    const at::Tensor split = frames("split");
    ASSERT_EQ(split.sizes(), one.sizes());
    EXPECT_LT((split - one).abs().max().item<double>(), 0.02) << name;  // uint8 steps from fp32 reordering
  }
}

// A frame whose DiT activations exceed --max_memory_gb restores in
// overlapped spatial tiles (generator/spatial_tiles.h bounds the tiles
// themselves): same size, and close to the untiled frame.
TEST_F(RestorerTest, RestoresInSpatialTilesWithinTheBudget) {
  const std::string image = *dir_ + "/wide.png";
  const std::string cmd = "ffmpeg -v error -y -f lavfi -i testsrc2=size=1024x640 -frames:v 1 " + image;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  RestorerOptions o = Options();
  o.res_h = 640;
  o.res_w = 1024;
  o.max_memory_gb = 1000;
  const at::Tensor whole = RestoreToPngs(o, image, *dir_ + "/wide_whole.png");
  // 3/4 of the DiT activations the whole 80 x 128 latent needs, over the
  // weights (smaller tiles gain little: one attention call's 2048 tokens
  // dominate small grids).
  auto config = config::LoadTrainConfig("configs/tiny.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  auto text = text::LoadTextEmbeddings(*dir_ + "/text.safetensors", config->model.txt_in_dim);
  ASSERT_TRUE(text.ok()) << text.status();
  dit::NaDiT model(config->model);
  double weights = 0;
  for (const at::Tensor& p : model->parameters()) weights += static_cast<double>(p.nbytes());
  o.max_memory_gb = (weights + dit::DiTInferenceBytes(config->model, {1, 40, 64}, text->pos.size(0)) * 0.75) / 1e9;
  const at::Tensor tiled = RestoreToPngs(o, image, *dir_ + "/wide_tiled.png");
  ASSERT_EQ(tiled.sizes(), whole.sizes());
  EXPECT_FALSE(at::equal(tiled, whole)) << "no tiles: the test lost its case";
  const double mean = (tiled - whole).abs().mean().item<double>();
  EXPECT_LT(mean, 0.01) << mean;  // measured 0.001
  std::printf("mean |tiled - whole| %.4f of a range of 2\n", mean);
}

// Issue 18, kinds 11 and 17: a training checkpoint without an EMA, or with
// a NaN in it, is refused naming the entry, before anything is restored.
TEST_F(RestorerTest, CheckpointWithoutOrWithNonFiniteEmaIsRefused) {
  auto state = core::ReadPth(Options().checkpoint);
  ASSERT_TRUE(state.ok()) << state.status();
  auto& entries = *std::get<std::shared_ptr<core::PyDict>>(state->v);
  auto ema = std::find_if(entries.begin(), entries.end(),
                          [](const auto& kv) { return std::get<std::string>(kv.first.v) == "ema"; });
  ASSERT_NE(ema, entries.end());
  auto tensors = core::ToTensorList(ema->second, "ema");
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  (*tensors)[0].tensor = (*tensors)[0].tensor.clone().fill_(std::nan(""));
  ema->second = core::FromTensorList(*tensors);
  RestorerOptions nan = Options();
  nan.checkpoint = *dir_ + "/nan_ema.pth";
  ASSERT_TRUE(core::WritePth(nan.checkpoint, *state).ok());
  auto refused = Restorer::Create(nan);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("['ema']: '" + (*tensors)[0].name + "' holds NaN"), std::string::npos)
      << refused.status();

  entries.erase(ema);
  RestorerOptions none = Options();
  none.checkpoint = *dir_ + "/no_ema.pth";
  ASSERT_TRUE(core::WritePth(none.checkpoint, *state).ok());
  auto missing = Restorer::Create(none);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no 'ema' entry"), std::string::npos) << missing.status();
}

// Issue 18, kind 12: a path stored in a checkpoint's config (here the text
// embeddings) that names a FIFO is refused at once instead of blocking.
TEST_F(RestorerTest, FifoPathStoredInTheCheckpointIsRefused) {
  auto state = core::ReadPth(Options().checkpoint);
  ASSERT_TRUE(state.ok()) << state.status();
  const std::string fifo = *dir_ + "/text.fifo";
  std::filesystem::remove(fifo);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (auto& [key, value] : *std::get<std::shared_ptr<core::PyDict>>(state->v)) {
    if (std::get<std::string>(key.v) != "config") continue;
    auto stored = config::ParseTrainConfig(std::get<std::string>(value.v));
    ASSERT_TRUE(stored.ok()) << stored.status();
    stored->training.text_embeddings = fifo;
    value = core::PyValue{config::DumpTrainConfig(*stored)};
  }
  RestorerOptions o = Options();
  o.checkpoint = *dir_ + "/fifo_text.pth";
  ASSERT_TRUE(core::WritePth(o.checkpoint, *state).ok());
  auto refused = Restorer::Create(o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(fifo), std::string::npos) << refused.status();
}

TEST_F(RestorerTest, BadInputsAreClearErrors) {
  auto r = Restorer::Create(Options());
  ASSERT_TRUE(r.ok());
  std::ofstream(*dir_ + "/garbage.mp4") << "this is not a video";
  auto unreadable = (*r)->RestoreFile(*dir_ + "/garbage.mp4", *dir_ + "/g.mp4", [](const Progress&) {});
  ASSERT_FALSE(unreadable.ok());
  EXPECT_NE(unreadable.message().find("garbage.mp4"), std::string::npos) << unreadable;

  auto unwritable = (*r)->RestoreFile(*dir_ + "/data/hq/a.mp4", "/proc/no/such/dir/out.mp4", [](const Progress&) {});
  ASSERT_FALSE(unwritable.ok());
  EXPECT_NE(unwritable.message().find("/proc/no/such/dir/out.mp4"), std::string::npos) << unwritable;

  RestorerOptions wrong = Options();
  wrong.checkpoint = testing::FixturePath("dit7b_a/weights.pth");
  wrong.config = "configs/tiny.yaml";
  auto model = Restorer::Create(wrong);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("does not fit the model config"), std::string::npos) << model.status();

  for (auto [flag, change] : std::vector<std::pair<std::string, std::function<void(RestorerOptions&)>>>{
           {"--max_memory_gb", [](RestorerOptions& o) { o.max_memory_gb = -1; }},
           {"--chunk_frames", [](RestorerOptions& o) { o.chunk_frames = 8; }},
           {"--chunk_frames", [](RestorerOptions& o) { o.chunk_frames = 0; }},
           {"--temporal_overlap", [](RestorerOptions& o) { o.temporal_overlap = 9; }},
           {"--temporal_overlap", [](RestorerOptions& o) { o.temporal_overlap = -1; }}}) {
    RestorerOptions bad = Options();
    bad.chunk_frames = 9;
    change(bad);
    auto refused = Restorer::Create(bad);
    ASSERT_FALSE(refused.ok()) << flag;
    EXPECT_NE(refused.status().message().find(flag), std::string::npos) << refused.status();
  }

  RestorerOptions no_config = Options();
  no_config.checkpoint = testing::FixturePath("dit3b_a/weights.pth");
  auto missing = Restorer::Create(no_config);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--config"), std::string::npos) << missing.status();
}

// Issue 18: real-world inputs.

// Mean R, G, B of a file's frames as the ffmpeg CLI decodes them (tags and
// display rotation honoured), as shared/cases/meanrgb.py measures, and the
// displayed size.
struct Shown {
  std::array<double, 3> mean{};
  int w = 0, h = 0;
};
Shown ShowAsFfmpegDoes(const std::string& path) {
  const std::string size = path + ".size", raw = path + ".rgb";
  const std::string cmd = "ffprobe -v error -select_streams v:0 -show_entries stream=width,height:stream_side_data=" +
                          std::string("rotation -of csv=p=0:nk=1 '") + path + "' > '" + size +
                          "' && ffmpeg -v error -y -i '" + path + "' -f rawvideo -pix_fmt rgb24 '" + raw + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  Shown shown;
  std::istringstream fields(testing::ReadText(size));
  std::string w, h, rotation;
  std::getline(fields, w, ',');
  std::getline(fields, h, ',');
  std::getline(fields, rotation);
  shown.w = std::atoi(w.c_str()), shown.h = std::atoi(h.c_str());
  if (std::abs(std::atoi(rotation.c_str())) % 180 == 90) std::swap(shown.w, shown.h);
  const std::string bytes = testing::ReadText(raw);
  for (size_t i = 0; i < bytes.size(); ++i) shown.mean[i % 3] += static_cast<uint8_t>(bytes[i]);
  for (double& m : shown.mean) m /= std::max<size_t>(bytes.size() / 3, 1);
  return shown;
}

// BR-03: a phone video coded 96x64 whose display matrix turns it 90
// degrees displays as 64 wide x 96 tall after restoration in every output:
// mp4 keeps the rotation as its tag, mkv (no display matrix in FFmpeg 5.1)
// and PNG frames get the turned pixels.
TEST_F(RestorerTest, RotatedPhoneVideoDisplaysUprightInEveryOutput) {
  const std::string src = *dir_ + "/portrait.mp4";
  const std::string cmd = "ffmpeg -v error -y -f lavfi -i testsrc2=size=96x64:rate=25 -frames:v 9 -c:v libx264 " +
                          std::string("-pix_fmt yuv420p ") + *dir_ + "/landscape.mp4 && ffmpeg -v error -y -i " +
                          *dir_ + "/landscape.mp4 -c copy -metadata:s:v:0 rotate=90 " + src;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const Shown input = ShowAsFfmpegDoes(src);
  ASSERT_EQ(input.w, 64);
  ASSERT_EQ(input.h, 96);
  for (const std::string codec : {"", "ffv1", "png"}) {
    RestorerOptions o = Options();
    o.output.codec = codec;
    auto r = Restorer::Create(o);
    ASSERT_TRUE(r.ok()) << r.status();
    const std::string out = OutputPath(src, *dir_ + "/portrait_" + (codec.empty() ? "mp4" : codec), o.output);
    std::filesystem::create_directories(std::filesystem::path(out).parent_path());
    const absl::Status s = (*r)->RestoreFile(src, out, [](const Progress&) {});
    ASSERT_TRUE(s.ok()) << s;
    const Shown restored = ShowAsFfmpegDoes(codec == "png" ? out + "/000001.png" : out);
    EXPECT_EQ(restored.w, 64) << out;
    EXPECT_EQ(restored.h, 96) << out;
  }
}

// BR-09: a transparent PNG is restored opaque, and a warning says so,
// naming the file.
TEST_F(RestorerTest, TransparentPngIsRestoredOpaqueAndSaysSo) {
  const std::string src = *dir_ + "/sprite.png", out = *dir_ + "/sprite_out.png";
  const std::string cmd =
      "ffmpeg -v error -y -f lavfi -i smptebars=size=96x64 -vf \"format=rgba,geq=r='r(X,Y)':"
      "g='g(X,Y)':b='b(X,Y)':a='if(lt(X,48),255,0)'\" -frames:v 1 " +
      src;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::vector<std::string> warnings;
  data::SetDataLogSink([&](data::LogLevel, const std::string& m) { warnings.push_back(m); });
  auto r = Restorer::Create(Options());
  ASSERT_TRUE(r.ok()) << r.status();
  const absl::Status s = (*r)->RestoreFile(src, out, [](const Progress&) {});
  data::SetDataLogSink(nullptr);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(src + " has an alpha channel"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("written opaque"), std::string::npos) << warnings[0];
  auto info = data::ProbeVideo(out);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_FALSE(info->has_alpha);
  EXPECT_EQ(info->width, 96);
}

// BR-11: JPEG stills come back with the colours of their PNG twins, and
// are written as JFIF (BT.601, full range). Colour bars within 2 levels; the
// solid green within 4: its red of 20 sits near 0, where the one-step test
// model's noise is clamped differently for the two inputs (the colour path
// itself is pinned within 2 levels by tests/data JpegColourTest).
TEST_F(RestorerTest, JpegStillsKeepTheColoursOfTheirPngTwins) {
  auto r = Restorer::Create(Options());
  ASSERT_TRUE(r.ok()) << r.status();
  for (const auto& [source, tolerance] : std::vector<std::pair<std::string, double>>{
           {"smptebars=size=96x64", 2.0}, {"color=c=0x14B428:size=96x64", 4.0}}) {
    const std::string stem = *dir_ + "/still_" + source.substr(0, 5);
    const std::string cmd = "ffmpeg -v error -y -f lavfi -i " + source + " -frames:v 1 -q:v 1 " + stem +
                            ".jpg && ffmpeg -v error -y -f lavfi -i " + source + " -frames:v 1 " + stem + ".png";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    for (const char* ext : {".jpg", ".png"}) {
      const absl::Status s = (*r)->RestoreFile(stem + ext, stem + "_out" + ext, [](const Progress&) {});
      ASSERT_TRUE(s.ok()) << s;
    }
    const Shown jpeg = ShowAsFfmpegDoes(stem + "_out.jpg"), png = ShowAsFfmpegDoes(stem + "_out.png");
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(jpeg.mean[c], png.mean[c], tolerance) << source << " channel " << c;
    auto info = data::ProbeVideo(stem + "_out.jpg");
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->color_matrix, "bt470bg");
    EXPECT_TRUE(info->full_range);
  }
}

// A folder run names and skips what it cannot restore instead of aborting:
// a symlink loop and a FIFO are skipped before the run, a 4000x3000 JPEG
// fails before decoding under --max_frame_pixels 10^6, and the rest is
// restored.
TEST_F(RestorerTest, FolderRunSkipsLoopsFifosAndHugeFrames) {
  const std::string in = *dir_ + "/hostile_in", out = *dir_ + "/hostile_out", log = *dir_ + "/hostile.log";
  std::filesystem::create_directories(in);
  std::filesystem::create_symlink(in + "/loop.mp4", in + "/loop.mp4");
  const std::string cmd = "mkfifo " + in + "/pipe.mp4 && ffmpeg -v error -y -f lavfi -i testsrc2=size=96x64 " +
                          "-frames:v 1 " + in +
                          "/good.png && ffmpeg -v error -y -f lavfi -i color=c=red:size=4000x3000 " +
                          "-frames:v 1 -q:v 31 " + in + "/huge.jpg";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const pid_t pid =
      testing::Spawn({"tools/infer", "--video_path=" + in, "--output_dir=" + out,
                      "--checkpoint=" + Options().checkpoint, "--res_h=64", "--res_w=96", "--max_frame_pixels=1000000"},
                     {}, log);
  EXPECT_EQ(testing::WaitExit(pid, std::chrono::seconds(240)), 1) << testing::ReadText(log);  // huge.jpg failed
  const std::string text = testing::ReadText(log);
  EXPECT_NE(text.find("cannot open input " + in + "/loop.mp4: Too many levels of symbolic links: skipped"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("input " + in + "/pipe.mp4 is not a regular file: skipped"), std::string::npos) << text;
  EXPECT_NE(text.find("failed: huge.jpg: "), std::string::npos) << text;
  EXPECT_NE(text.find("4000x3000"), std::string::npos) << text;
  EXPECT_NE(text.find("--max_frame_pixels"), std::string::npos) << text;
  EXPECT_TRUE(std::filesystem::exists(out + "/good.png")) << text;
}

}  // namespace
}  // namespace seedvr::infer

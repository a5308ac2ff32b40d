// data.resize_to_area: the training data resized as the official inference's
// AreaResize does (size rule, torch's antialiased bicubic). The expected
// pixels come from ATen's _upsample_bicubic2d_aa, the op torchvision's resize
// runs for the official pipeline.
#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "seedvr/data/clip_tensor.h"
#include "seedvr/data/image_ops.h"
#include "seedvr/data/video_pair_dataset.h"
#include "seedvr/data/video_reader.h"
#include "tests/data/test_util.h"

namespace seedvr::data {
namespace {

namespace fs = std::filesystem;

// [H, W, 3] floats of an ImageF as a [1, 3, H, W] tensor.
at::Tensor ToTensor(const ImageF& img) {
  return at::from_blob(const_cast<float*>(img.px.data()), {img.h, img.w, 3}, at::kFloat)
      .permute({2, 0, 1})
      .unsqueeze(0)
      .clone();
}

// Frame `f` of a clip resized by ATen to h x w, in 0..255.
at::Tensor TorchResized(const Clip& clip, int f, int64_t h, int64_t w) {
  at::Tensor x = ToTensor(ToFloat(clip.frame(f), clip.w, clip.h));
  return (at::_upsample_bicubic2d_aa(x, {h, w}, /*align_corners=*/false).clamp(0, 1) * 255).round();
}

TEST(AreaResizeSizeTest, IsTheOfficialRuleWithPythonsRound) {
  // 640x480 at 1280x720: s = sqrt(3), 831.38 -> 831, 1108.51 -> 1109.
  AreaSize s = AreaResizeSize(480, 640, 1280.0 * 720.0);
  EXPECT_EQ(s.h, 831);
  EXPECT_EQ(s.w, 1109);
  // s = 0.5 exactly: round(2.5) = 2, round(1.5) = 2, round(3.5) = 4 (half to
  // even; half away from zero would give 3, 2, 4).
  s = AreaResizeSize(5, 4, 5.0);
  EXPECT_EQ(s.h, 2);
  EXPECT_EQ(s.w, 2);
  s = AreaResizeSize(3, 7, 5.25);
  EXPECT_EQ(s.h, 2);
  EXPECT_EQ(s.w, 4);
}

TEST(ResizeTest, BicubicAntialiasedIsTorchsAntialiasedBicubic) {
  ImageF img(53, 37);
  at::Tensor noise = at::rand({37 * 53 * 3}, at::TensorOptions().dtype(at::kFloat));
  std::copy(noise.data_ptr<float>(), noise.data_ptr<float>() + noise.numel(), img.px.begin());
  const at::Tensor x = ToTensor(img);
  for (auto [h, w] : {std::pair{23, 31}, std::pair{61, 80}, std::pair{37, 20}, std::pair{12, 53}}) {
    const at::Tensor want = at::_upsample_bicubic2d_aa(x, {h, w}, false);
    const at::Tensor got = ToTensor(Resize(img, w, h, ResizeKernel::kBicubicAntialiased));
    EXPECT_LT((got - want).abs().max().item<float>(), 1e-5) << h << "x" << w;
    // A window of the output is that window of the full resize.
    const at::Tensor win = ToTensor(Resize(img, w, h, ResizeKernel::kBicubicAntialiased, false, 3, 2, w / 2, h / 2));
    EXPECT_LT((win - want.narrow(2, 2, h / 2).narrow(3, 3, w / 2)).abs().max().item<float>(), 1e-5) << h << "x" << w;
  }
}

// 96x64 HQ (and a 48x32 LQ) at area 3456 = 0.5625 x 96 x 64: s = 0.75, both
// resized to 72x48 before the 32x32 crop.
TEST(ResizeToAreaTest, SamplesComeFromTheAreaResizedFrames) {
  const std::string root = testing::ScratchDir();
  fs::create_directories(root + "/hq");
  fs::create_directories(root + "/lq");
  EncoderOptions lossless;
  lossless.crf = 0;
  testing::WriteSmallVideo(root + "/hq/a.mp4", "libx264", 96, 64, 12, 5, lossless);
  testing::WriteSmallVideo(root + "/lq/a.mp4", "libx264", 48, 32, 12, 6, lossless);
  DataConfig cfg;
  cfg.data_root = root;
  cfg.num_frames = 5;
  cfg.crop_size = {32, 32};
  cfg.resize_to_area = 3456;
  auto ds = VideoPairDataset::Create(cfg);
  ASSERT_TRUE(ds.ok()) << ds.status();
  for (uint64_t seed = 0; seed < 6; ++seed) {
    absl::StatusOr<Sample> s = (*ds)->Get(0, seed);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_FALSE(s->upscaled);
    ASSERT_EQ(s->hq.w, 32);
    ASSERT_EQ(s->lq.h, 32);
    EXPECT_LE(s->crop_x, 72 - 32);
    EXPECT_LE(s->crop_y, 48 - 32);
    auto hq = ReadClip(root + "/hq/a.mp4", s->start_frame, 5), lq = ReadClip(root + "/lq/a.mp4", s->start_frame, 5);
    ASSERT_TRUE(hq.ok() && lq.ok());
    for (int f = 0; f < 5; ++f) {
      const at::Tensor got_hq = ClipToTensor(s->hq, ClipLayout::kTCHW)[f].add(1).mul(127.5).round();
      const at::Tensor got_lq = ClipToTensor(s->lq, ClipLayout::kTCHW)[f].add(1).mul(127.5).round();
      const at::Tensor want_hq = TorchResized(*hq, f, 48, 72)[0].narrow(1, s->crop_y, 32).narrow(2, s->crop_x, 32);
      const at::Tensor want_lq = TorchResized(*lq, f, 48, 72)[0].narrow(1, s->crop_y, 32).narrow(2, s->crop_x, 32);
      EXPECT_LE((got_hq - want_hq).abs().max().item<float>(), 1.0f) << "seed " << seed << " frame " << f;
      EXPECT_LE((got_lq - want_lq).abs().max().item<float>(), 1.0f) << "seed " << seed << " frame " << f;
    }
  }
  cfg.resize_to_area = -1;
  auto bad = VideoPairDataset::Create(cfg);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("data.resize_to_area"), std::string::npos) << bad.status();
}

}  // namespace
}  // namespace seedvr::data

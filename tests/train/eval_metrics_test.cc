// The evaluation's pixel measures against values worked out by hand, and
// the sample sheet as a PNG decoder reads it back.
#include "seedvr/train/eval_metrics.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "seedvr/data/video_reader.h"
#include "seedvr/testing/fixtures.h"

namespace seedvr::train {
namespace {

// A [1, 3, T, H, W] clip whose 8-bit value is `level` everywhere.
at::Tensor Level(int level, int64_t t = 3, int64_t h = 8, int64_t w = 8) {
  return at::full({1, 3, t, h, w}, level / 127.5 - 1.0);
}

TEST(EvalMetrics, PsnrIsEightBitPsnr) {
  // Every value 10 levels apart: MSE 100, PSNR 10 log10(255^2 / 100).
  EXPECT_NEAR(ClipPsnr(Level(20), Level(30)), 10 * std::log10(65025.0 / 100), 1e-9);
  EXPECT_EQ(ClipPsnr(Level(20), Level(20)), 99.0);
  // Out-of-range values count as the clamped pixels a viewer sees.
  EXPECT_EQ(ClipPsnr(at::full({1, 3, 1, 4, 4}, 3.0), Level(255, 1, 4, 4)), 99.0);
}

TEST(EvalMetrics, HighFrequencyEnergyIsTheLaplaciansMeanSquare) {
  EXPECT_EQ(ClipHighFrequencyEnergy(Level(77)), 0.0);
  // A grey checkerboard of 0 and 255: inside the border every Laplacian
  // response is +-4 * 255.
  at::Tensor board = (at::arange(8).view({8, 1}) + at::arange(8).view({1, 8})).remainder(2).to(at::kFloat) * 2 - 1;
  at::Tensor clip = board.view({1, 1, 1, 8, 8}).expand({1, 3, 2, 8, 8}).contiguous();
  EXPECT_NEAR(ClipHighFrequencyEnergy(clip), 1020.0 * 1020.0, 1e-6);
  EXPECT_NEAR(ClipHighFrequencyEnergy(clip[0]), 1020.0 * 1020.0, 1e-6);  // [3, T, H, W] too
}

TEST(EvalMetrics, SampleSheetIsLqRestoredRoundTripHqPerRowOnWhite) {
  const std::string dir = testing::TempDir() + "/sheet";
  std::filesystem::create_directories(dir);
  auto tile = [](int level) { return at::full({3, 16, 24}, level / 127.5 - 1.0); };
  const std::string path = dir + "/samples_7.png";
  ASSERT_TRUE(
      WriteSampleSheet(path, {{tile(10), tile(20), tile(25), tile(30)}, {tile(40), tile(50), tile(55), tile(60)}})
          .ok());
  auto sheet = data::ReadClip(path, 0, 1);
  ASSERT_TRUE(sheet.ok()) << sheet.status();
  // Tiles 16 high are enlarged 12x to 192; 4-pixel gaps around and between.
  EXPECT_EQ(sheet->w, 4 * 24 * 12 + 5 * 4);
  EXPECT_EQ(sheet->h, 2 * 192 + 3 * 4);
  auto at_px = [&](int x, int y) { return sheet->frame(0)[(static_cast<size_t>(y) * sheet->w + x) * 3]; };
  EXPECT_EQ(at_px(1, 1), 255);                        // the gap
  EXPECT_EQ(at_px(4 + 10, 4 + 10), 10);               // row 1: LQ
  EXPECT_EQ(at_px(4 + 288 + 4 + 10, 4 + 10), 20);     // restored
  EXPECT_EQ(at_px(4 + 2 * 292 + 10, 4 + 10), 25);     // VAE round trip
  EXPECT_EQ(at_px(4 + 3 * 292 + 10, 4 + 191), 30);    // HQ, its last row
  EXPECT_EQ(at_px(4 + 292 + 10, 4 + 192 + 4 + 5), 50);  // row 2: restored
  // Nothing but the sheet is left in the folder.
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1);
  // An unwritable place is an error naming the file.
  const absl::Status bad = WriteSampleSheet(dir + "/no/such/dir/samples_1.png", {{tile(1), tile(2), tile(3), tile(4)}});
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("samples_1.png"), std::string::npos) << bad;
}

}  // namespace
}  // namespace seedvr::train

// loss_curves.png: the documented size, drawn (not blank, not transparent),
// and a failed write named.
#include <cairo.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "seedvr/testing/fixtures.h"
#include "seedvr/train/monitor.h"

namespace seedvr::train {
namespace {

using Surface = std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)>;

Surface ReadPng(const std::string& path) {
  return Surface(cairo_image_surface_create_from_png(path.c_str()), cairo_surface_destroy);
}

TEST(MonitorPlot, WritesAPictureOfTheDocumentedSize) {
  const std::string dir = testing::TempDir() + "/monitor_plot";
  Monitor m({dir, 4, 1, false});
  // Nothing to plot yet: one panel.
  ASSERT_TRUE(m.WritePlot().ok());
  Surface empty = ReadPng(dir + "/loss_curves.png");
  ASSERT_EQ(cairo_surface_status(empty.get()), CAIRO_STATUS_SUCCESS);
  EXPECT_EQ(cairo_image_surface_get_width(empty.get()), 640);
  EXPECT_EQ(cairo_image_surface_get_height(empty.get()), 220);

  for (int64_t step = 1; step <= 4; ++step) {
    ASSERT_TRUE(m.Record(step, {{"d_adv", 1.0 + 0.1 * step}, {"g_adv", 1.0 / step}, {"g_l1", 0.5}}).ok());
  }
  ASSERT_TRUE(m.WritePlot().ok());
  Surface png = ReadPng(dir + "/loss_curves.png");
  ASSERT_EQ(cairo_surface_status(png.get()), CAIRO_STATUS_SUCCESS);
  const int width = cairo_image_surface_get_width(png.get()), height = cairo_image_surface_get_height(png.get());
  ASSERT_EQ(width, 640);
  ASSERT_EQ(height, 3 * 220);  // a panel per metric
  // Pixels are 32-bit ARGB words; count the opaque white ones and check
  // nothing is see-through.
  cairo_surface_flush(png.get());
  const unsigned char* data = cairo_image_surface_get_data(png.get());
  const int stride = cairo_image_surface_get_stride(png.get());
  int64_t white = 0, transparent = 0;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const uint32_t pixel = reinterpret_cast<const uint32_t*>(data + y * stride)[x];
      white += pixel == 0xffffffffu;
      transparent += (pixel >> 24) != 0xff;
    }
  }
  EXPECT_EQ(transparent, 0);
  EXPECT_GT(white, int64_t{width} * height / 2);  // a white background
  EXPECT_GT(int64_t{width} * height - white, 1000) << "curves, frames and labels are drawn";
  // The page holds the same chart.
  std::ifstream html(dir + "/loss_curves.html");
  const std::string page((std::istreambuf_iterator<char>(html)), {});
  EXPECT_NE(page.find("width=\"640\" height=\"660\""), std::string::npos);
}

TEST(MonitorPlot, AFailedWriteNamesTheFile) {
  // A folder in the picture's place: the page is written, the picture is not.
  const std::string dir = testing::TempDir() + "/monitor_plot_blocked";
  Monitor m({dir, 2, 1, false});
  std::filesystem::create_directories(dir + "/loss_curves.png");
  absl::Status s = m.WritePlot();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find(dir + "/loss_curves.png: "), std::string::npos) << s;
  EXPECT_TRUE(std::filesystem::exists(dir + "/loss_curves.html"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/loss_curves.png.tmp"));
  // A save_dir that cannot be made (a file in its parent's place): the page
  // is written first, so it is the one named.
  std::ofstream(testing::TempDir() + "/monitor_plot_file") << "x";
  Monitor nowhere({testing::TempDir() + "/monitor_plot_file/run", 2, 1, false});
  s = nowhere.WritePlot();
  EXPECT_NE(s.message().find("/monitor_plot_file/run/loss_curves.html"), std::string::npos) << s;
}

}  // namespace
}  // namespace seedvr::train

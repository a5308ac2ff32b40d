// Window partitions: the worked examples of spec §1.5 and the partitions
// listed in the fixture README (official order).
#include "seedvr/models/dit/window.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace seedvr::dit {
namespace {

constexpr Grid3 kCounts = {4, 3, 3};

std::string Join(const std::vector<Window>& ws) {
  std::string s;
  for (const auto& w : ws) s += (s.empty() ? "" : " ") + WindowToString(w);
  return s;
}

// Sorted distinct boundaries along one axis.
std::vector<int64_t> Bounds(const std::vector<Window>& ws, int axis) {
  std::set<int64_t> b;
  for (const auto& w : ws) {
    b.insert(w.begin[axis]);
    b.insert(w.end[axis]);
  }
  return {b.begin(), b.end()};
}

TEST(WindowTest, Regular720p) {
  auto ws = MakeWindows({21, 45, 80}, kCounts, WindowMethod::kRegular720p);
  EXPECT_EQ(ws.size(), 36u);
  EXPECT_EQ(Bounds(ws, 0), (std::vector<int64_t>{0, 6, 12, 18, 21}));
  EXPECT_EQ(Bounds(ws, 1), (std::vector<int64_t>{0, 15, 30, 45}));
  EXPECT_EQ(Bounds(ws, 2), (std::vector<int64_t>{0, 27, 54, 80}));
}

TEST(WindowTest, Shifted720p) {
  auto ws = MakeWindows({21, 45, 80}, kCounts, WindowMethod::kShifted720p);
  EXPECT_EQ(ws.size(), 64u);
  EXPECT_EQ(Bounds(ws, 0), (std::vector<int64_t>{0, 3, 9, 15, 21}));
  EXPECT_EQ(Bounds(ws, 1), (std::vector<int64_t>{0, 7, 22, 37, 45}));
  EXPECT_EQ(Bounds(ws, 2), (std::vector<int64_t>{0, 13, 40, 67, 80}));
}

TEST(WindowTest, Square64) {
  EXPECT_EQ(WindowSize720p({1, 64, 64}, kCounts), (Grid3{1, 20, 20}));
  auto reg = MakeWindows({1, 64, 64}, kCounts, WindowMethod::kRegular720p);
  EXPECT_EQ(reg.size(), 16u);
  EXPECT_EQ(Bounds(reg, 1), (std::vector<int64_t>{0, 20, 40, 60, 64}));
  auto sh = MakeWindows({1, 64, 64}, kCounts, WindowMethod::kShifted720p);
  EXPECT_EQ(Bounds(sh, 1), (std::vector<int64_t>{0, 10, 30, 50, 64}));
  EXPECT_EQ(Bounds(sh, 2), (std::vector<int64_t>{0, 10, 30, 50, 64}));
  EXPECT_EQ(sh.size(), 16u);
}

TEST(WindowTest, FixtureDit3bA) {  // also dit7b_a: same grid
  const std::string frames = "[0:1,0:6,0:10] [1:2,0:6,0:10] [2:3,0:6,0:10]";
  EXPECT_EQ(Join(MakeWindows({3, 6, 10}, kCounts, WindowMethod::kRegular720p)), frames);
  EXPECT_EQ(Join(MakeWindows({3, 6, 10}, kCounts, WindowMethod::kShifted720p)), frames);
}

TEST(WindowTest, FixtureDit3bD) {
  EXPECT_EQ(Join(MakeWindows({1, 20, 22}, kCounts, WindowMethod::kRegular720p)),
            "[0:1,0:19,0:21] [0:1,19:20,0:21] [0:1,0:19,21:22] [0:1,19:20,21:22]");
  EXPECT_EQ(Join(MakeWindows({1, 20, 22}, kCounts, WindowMethod::kShifted720p)),
            "[0:1,0:9,0:10] [0:1,9:20,0:10] [0:1,0:9,10:22] [0:1,9:20,10:22]");
  EXPECT_EQ(Join(MakeWindows({1, 2, 3}, kCounts, WindowMethod::kRegular720p)), "[0:1,0:2,0:3]");
  EXPECT_EQ(Join(MakeWindows({1, 2, 3}, kCounts, WindowMethod::kShifted720p)), "[0:1,0:2,0:3]");
}

// Training crops take the window sizes of the frame restoration runs at
// (spec §1.5 applied to a 720p grid: 15 x 27 tokens), so a 256^2 crop (16 x
// 16 tokens) is split as a part of a 720p frame would be, shifted windows
// included; on its own grid (windows of 20 x 20) it is one window.
TEST(WindowTest, ReferenceGridGivesInferenceSizesOnACrop) {
  EXPECT_EQ(Join(MakeWindows({1, 16, 16}, kCounts, WindowMethod::kRegular720p)), "[0:1,0:16,0:16]");
  EXPECT_EQ(Join(MakeWindows({1, 16, 16}, kCounts, WindowMethod::kShifted720p)), "[0:1,0:16,0:16]");
  EXPECT_EQ(Join(MakeWindows({1, 16, 16}, kCounts, WindowMethod::kRegular720p, {45, 80})),
            "[0:1,0:15,0:16] [0:1,15:16,0:16]");
  EXPECT_EQ(Join(MakeWindows({1, 16, 16}, kCounts, WindowMethod::kShifted720p, {45, 80})),
            "[0:1,0:7,0:16] [0:1,7:16,0:16]");
  // The whole 720p frame with its own grid as the reference is unchanged.
  EXPECT_EQ(Join(MakeWindows({21, 45, 80}, kCounts, WindowMethod::kShifted720p, {45, 80})),
            Join(MakeWindows({21, 45, 80}, kCounts, WindowMethod::kShifted720p)));
}

// Every token is in exactly one window, for a range of odd sizes.
TEST(WindowTest, PartitionCoversEveryTokenOnce) {
  for (int64_t t : {1, 2, 5, 7, 21, 33}) {
    for (int64_t h : {1, 3, 17, 45, 64}) {
      for (int64_t w : {1, 2, 19, 80, 121}) {
        for (auto m : {WindowMethod::kRegular720p, WindowMethod::kShifted720p}) {
          std::vector<int> hits(t * h * w, 0);
          for (const auto& win : MakeWindows({t, h, w}, kCounts, m)) {
            ASSERT_GT(win.numel(), 0);
            for (int64_t a = win.begin[0]; a < win.end[0]; ++a)
              for (int64_t b = win.begin[1]; b < win.end[1]; ++b)
                for (int64_t c = win.begin[2]; c < win.end[2]; ++c) ++hits[(a * h + b) * w + c];
          }
          for (int x : hits) ASSERT_EQ(x, 1) << t << "x" << h << "x" << w << " " << WindowMethodName(m);
        }
      }
    }
  }
}

TEST(WindowTest, ParseMethod) {
  EXPECT_EQ(ParseWindowMethod("720pwin_by_size_bysize"), WindowMethod::kRegular720p);
  EXPECT_EQ(ParseWindowMethod("720pswin_by_size_bysize"), WindowMethod::kShifted720p);
  EXPECT_FALSE(ParseWindowMethod("720pwin").has_value());
}

}  // namespace
}  // namespace seedvr::dit

// Adaptive 3-D window partition of the SeedVR2 DiT (spec §1.5).
//
// Window *sizes* are chosen so that a 720p-equivalent token grid (45x80)
// would be split into the configured window *counts*; a larger input gets
// more windows of the same size, a smaller one fewer. Odd layers use the
// same sizes shifted by half a window. The order of the returned windows is
// the official one (w outermost, then h, then t); it does not change the
// numbers (windows are disjoint, text outputs are averaged) but keeps debug
// output comparable with the reference.
//
// Plain C++: no LibTorch, so tests and tools can use it cheaply.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seedvr::dit {

using Grid3 = std::array<int64_t, 3>;  // (t, h, w) in tokens after patchify

// A half-open box [begin, end) on the (t, h, w) token grid.
struct Window {
  Grid3 begin{};
  Grid3 end{};
  Grid3 shape() const { return {end[0] - begin[0], end[1] - begin[1], end[2] - begin[2]}; }
  int64_t numel() const { auto s = shape(); return s[0] * s[1] * s[2]; }
  bool operator==(const Window&) const = default;
};

enum class WindowMethod {
  kRegular720p,  // "720pwin_by_size_bysize"
  kShifted720p,  // "720pswin_by_size_bysize"
};

inline std::optional<WindowMethod> ParseWindowMethod(std::string_view name) {
  if (name == "720pwin_by_size_bysize") return WindowMethod::kRegular720p;
  if (name == "720pswin_by_size_bysize") return WindowMethod::kShifted720p;
  return std::nullopt;
}

inline const char* WindowMethodName(WindowMethod m) {
  return m == WindowMethod::kRegular720p ? "720pwin_by_size_bysize" : "720pswin_by_size_bysize";
}

inline int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Window size (t, h, w) for a token grid: the spatial grid is rescaled to the
// area of 720p (45x80 tokens), then divided by the window counts; time uses
// at most 30 frames. Python's round() (ties to even) is std::nearbyint under
// the default rounding mode.
inline Grid3 WindowSize720p(const Grid3& grid, const Grid3& counts) {
  const double scale = std::sqrt((45.0 * 80.0) / static_cast<double>(grid[1] * grid[2]));
  const auto rh = static_cast<int64_t>(std::nearbyint(static_cast<double>(grid[1]) * scale));
  const auto rw = static_cast<int64_t>(std::nearbyint(static_cast<double>(grid[2]) * scale));
  const int64_t t = grid[0] < 30 ? grid[0] : 30;
  return {CeilDiv(t, counts[0]), CeilDiv(rh, counts[1]), CeilDiv(rw, counts[2])};
}

// Per-axis [begin, end) slices; empty slices are dropped.
using AxisSlices = std::vector<std::array<int64_t, 2>>;

inline AxisSlices RegularSlices(int64_t size, int64_t win) {
  AxisSlices out;
  for (int64_t i = 0; i * win < size; ++i) out.push_back({i * win, std::min((i + 1) * win, size)});
  return out;
}

// Shifted by half a window when the window is smaller than the axis; the
// boundaries are int((i - 0.5) * win), truncated toward zero as Python's int().
inline AxisSlices ShiftedSlices(int64_t size, int64_t win) {
  const double shift = win < size ? 0.5 : 0.0;
  const int64_t n =
      shift > 0 ? static_cast<int64_t>(std::ceil((static_cast<double>(size) - shift) / win)) + 1 : 1;
  AxisSlices out;
  for (int64_t i = 0; i < n; ++i) {
    const auto lo = std::max<int64_t>(static_cast<int64_t>((i - shift) * win), 0);
    const auto hi = std::min<int64_t>(static_cast<int64_t>((i - shift + 1) * win), size);
    if (hi > lo) out.push_back({lo, hi});
  }
  return out;
}

// All windows of one sample, in the official order (w outermost, t innermost).
inline std::vector<Window> MakeWindows(const Grid3& grid, const Grid3& counts, WindowMethod method) {
  const Grid3 win = WindowSize720p(grid, counts);
  std::array<AxisSlices, 3> axes;
  for (int a = 0; a < 3; ++a) {
    axes[a] = method == WindowMethod::kRegular720p ? RegularSlices(grid[a], win[a])
                                                   : ShiftedSlices(grid[a], win[a]);
  }
  std::vector<Window> out;
  for (const auto& sw : axes[2]) {
    for (const auto& sh : axes[1]) {
      for (const auto& st : axes[0]) {
        out.push_back(Window{{st[0], sh[0], sw[0]}, {st[1], sh[1], sw[1]}});
      }
    }
  }
  return out;
}

// "[t0:t1,h0:h1,w0:w1]", the notation of the fixture README.
inline std::string WindowToString(const Window& w) {
  std::string s = "[";
  for (int a = 0; a < 3; ++a) {
    if (a > 0) s += ",";
    s += std::to_string(w.begin[a]) + ":" + std::to_string(w.end[a]);
  }
  return s + "]";
}

}  // namespace seedvr::dit

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

#include <array>
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

std::optional<WindowMethod> ParseWindowMethod(std::string_view name);

const char* WindowMethodName(WindowMethod m);

int64_t CeilDiv(int64_t a, int64_t b);

// Window size (t, h, w) for a token grid: the spatial grid is rescaled to the
// area of 720p (45x80 tokens), then divided by the window counts; time uses
// at most 30 frames. Python's round() (ties to even) is std::nearbyint under
// the default rounding mode.
Grid3 WindowSize720p(const Grid3& grid, const Grid3& counts);

// Per-axis [begin, end) slices; empty slices are dropped.
using AxisSlices = std::vector<std::array<int64_t, 2>>;

AxisSlices RegularSlices(int64_t size, int64_t win);

// Shifted by half a window when the window is smaller than the axis; the
// boundaries are int((i - 0.5) * win), truncated toward zero as Python's int().
AxisSlices ShiftedSlices(int64_t size, int64_t win);

// All windows of one sample, in the official order (w outermost, t innermost).
// Spatial window sizes come from `reference` (h, w) tokens when set, else
// from the grid itself; the windows then tile `grid`.
std::vector<Window> MakeWindows(const Grid3& grid, const Grid3& counts, WindowMethod method,
                                const std::array<int64_t, 2>& reference = {0, 0});

// "[t0:t1,h0:h1,w0:w1]", the notation of the fixture README.
std::string WindowToString(const Window& w);

}  // namespace seedvr::dit
